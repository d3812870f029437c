"""Attach citations to a generator's sentences and number them [1], [2], ...

Extractive sentences arrive with their exact source spans: their support is
1.0. A written (seq2seq) sentence is matched against every sentence of the
passages it was written from: support = 0.5 * embedding cosine + 0.5 * the
share of its content words found in the source sentence. The best source
above ``settings.support_threshold`` is cited (plus a second, from another
document, when it is as good); a sentence with no such source is marked
unsupported and gets no citation. Entailment models are left out.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from rag.candidates import Candidate, sentence_candidates
from rag.embedding import Embedder
from rag.tokens import content_terms, weighted_overlap
from rag.types import Citation, Document, DraftSentence, Passage, Sentence, SourceSpan

SECOND_SOURCE_MARGIN = 0.05


class CitationBuilder:
    """Numbers distinct source spans in order of first use."""

    def __init__(self, documents: dict[str, Document], chunk_pages: dict[int, int | None]) -> None:
        self.documents = documents
        self.chunk_pages = chunk_pages
        self.citations: list[Citation] = []
        self._numbers: dict[tuple[str, int, int], int] = {}

    def cite(self, span: SourceSpan, support: float) -> int:
        key = (span.doc_id, span.start, span.end)
        if key not in self._numbers:
            doc = self.documents[span.doc_id]
            self._numbers[key] = len(self.citations) + 1
            self.citations.append(
                Citation(
                    n=len(self.citations) + 1, doc_id=doc.id, title=doc.title, source=doc.source,
                    chunk_id=span.chunk_id, start=span.start, end=span.end,
                    quote=doc.text[span.start : span.end], support=float(support),
                    page=doc.page_at(span.start),
                )
            )
        return self._numbers[key]


def support_scores(
    embedder: Embedder, sentences: Sequence[str], candidates: Sequence[Candidate]
) -> np.ndarray:
    """Matrix ``[sentence, candidate]`` of support in [0, 1]."""
    if not sentences or not candidates:
        return np.zeros((len(sentences), len(candidates)))
    vectors = embedder.encode(list(sentences) + [c.text for c in candidates])
    cosine = np.clip(vectors[: len(sentences)] @ vectors[len(sentences) :].T, 0.0, 1.0)
    cand_terms = [content_terms(c.text) for c in candidates]
    overlap = np.array([[weighted_overlap(content_terms(s), t) for t in cand_terms] for s in sentences])
    return 0.5 * cosine + 0.5 * overlap


def _sources_for(row: np.ndarray, candidates: Sequence[Candidate], threshold: float) -> list[tuple[SourceSpan, float]]:
    order = np.argsort(-row)
    if not len(order) or row[order[0]] < threshold:
        return []
    best = candidates[order[0]]
    out = [(best.span, float(row[order[0]]))]
    for j in order[1:3]:
        other = candidates[j]
        if row[j] >= max(threshold, row[order[0]] - SECOND_SOURCE_MARGIN) and other.span.doc_id != best.span.doc_id:
            out.append((other.span, float(row[j])))
            break
    return out


def attach(
    draft_sentences: Sequence[DraftSentence],
    passages: Sequence[Passage],
    embedder: Embedder,
    threshold: float,
    builder: CitationBuilder,
) -> list[Sentence]:
    """Cite every sentence: exact spans as given, written ones by support search."""
    written = [i for i, s in enumerate(draft_sentences) if not s.sources]
    candidates = sentence_candidates(passages) if written else []
    matrix = support_scores(embedder, [draft_sentences[i].text for i in written], candidates)
    found = {i: _sources_for(matrix[row], candidates, threshold) for row, i in enumerate(written)}
    out: list[Sentence] = []
    for i, draft in enumerate(draft_sentences):
        sources = [(span, 1.0) for span in draft.sources] if draft.sources else found[i]
        numbers = tuple(dict.fromkeys(builder.cite(span, support) for span, support in sources))
        support = max((score for _, score in sources), default=0.0)
        out.append(
            Sentence(
                text=draft.text, citations=numbers, supported=bool(numbers), section=draft.section, support=support
            )
        )
    return out

