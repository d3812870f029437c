"""The extractive generator: answers and briefings made only of exact source sentences.

No generation model. An answer is the retrieved sentence that best matches
the question (embedding similarity plus idf-weighted word overlap, with a
bonus when it holds the kind of span the question asks for), led by a short
answer span inside it. A briefing ranks sentences by centrality (similarity
to the document's centroid, or to the topic), with a mild lead bias as news
puts the gist first, and picks non-redundant ones with MMR; every document
contributes, near-duplicates across documents are merged into one point that
cites all of them. Every output sentence is an exact quote with its span.
Sentence compression and paraphrase are left out.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from rag.candidates import Candidate, sentence_candidates
from rag.embedding import Embedder
from rag.generation.base import OVERVIEW_BY_LENGTH, POINTS_BY_LENGTH, Length
from rag.generation.short_answer import fits_the_question, question_type, short_answer_span, typed_spans
from rag.mmr import mmr
from rag.settings import Settings
from rag.tokens import content_terms, idf_weights, weighted_overlap
from rag.types import Document, Draft, DraftSentence, Passage, SourceSpan

# Lead bias of briefing sentences: news states the gist first (Lead-3 is a strong
# baseline); 0.3 beat 0.15 on eval/summaries.jsonl (ROUGE-1 44.3 vs 43.2).
LEAD_WEIGHT = 0.3
DUPLICATE_SIMILARITY = 0.88


class ExtractiveGenerator:
    """Quotes source sentences; needs only the embedder."""

    name = "extractive"

    def __init__(self, settings: Settings, embedder: Embedder) -> None:
        self.settings = settings
        self.embedder = embedder

    @property
    def model_id(self) -> str:
        return self.embedder.model_id

    # -- answers ------------------------------------------------------------
    def score_sentences(self, question: str, candidates: Sequence[Candidate]) -> np.ndarray:
        """Relevance of each candidate to the question, roughly in [0, 1]."""
        vectors = self.embedder.encode([question] + [c.text for c in candidates])
        cosine = vectors[1:] @ vectors[0]
        terms = [content_terms(c.text) for c in candidates]
        idf = idf_weights(terms)
        query = content_terms(question)
        lexical = np.array([weighted_overlap(query, t, idf) for t in terms])
        # A sentence holding a span of the kind asked for (a date for "when"...) that is
        # not just words of the question is far more likely to answer it; more so when
        # the span is followed by the noun a "how many" question counts.
        typed = np.zeros(len(candidates))
        if question_type(question):
            for i, c in enumerate(candidates):
                spans = typed_spans(question, c.text)
                typed[i] = 0.2 if spans else -0.2
                if any(fits_the_question(question, c.text, span) for span in spans):
                    typed[i] += 0.1
        return 0.6 * cosine + 0.4 * lexical + typed

    @staticmethod
    def cannot_answer(question: str, candidates: Sequence[Candidate]) -> bool:
        """A quantity or date question whose passages hold no quantity or date at all is not
        answered by them. (Whether the thing counted is mentioned is no test: "how many
        workers" is answered by "140 people".)"""
        kind = question_type(question)
        return kind in ("number", "date") and not any(typed_spans(question, c.text) for c in candidates)

    def answer(self, question: str, passages: Sequence[Passage]) -> Draft:
        candidates = sentence_candidates(passages, prose_only=True) or sentence_candidates(passages)
        if not candidates or self.cannot_answer(question, sentence_candidates(passages)):
            return Draft(sentences=(), abstained=True)
        scores = self.score_sentences(question, candidates)
        best = candidates[int(np.argmax(scores))]
        sentence = DraftSentence(best.text, "answer", (best.span,))
        span = short_answer_span(question, best.text)
        short = None
        if span is not None:
            s, e = best.span.start + span[0], best.span.start + span[1]
            where = SourceSpan(best.span.doc_id, best.span.chunk_id, s, e)
            short = DraftSentence(best.text[span[0] : span[1]], "answer", (where,))
        return Draft(sentences=(sentence,), short_answer=short)

    # -- briefings -------------------------------------------------------------
    def _centrality(self, candidates: Sequence[Candidate], vectors: np.ndarray, topic: str | None) -> np.ndarray:
        scores = np.zeros(len(candidates))
        doc_ids = np.array([c.doc_index for c in candidates])
        for d in set(doc_ids.tolist()):
            mask = doc_ids == d
            centroid = vectors[mask].mean(axis=0)
            centroid /= np.linalg.norm(centroid) or 1.0
            positions = np.arange(mask.sum())
            lead = LEAD_WEIGHT / (1.0 + positions / 3.0)  # news puts the gist first
            scores[mask] = vectors[mask] @ centroid + lead
        if topic:
            scores = 0.5 * scores + 0.5 * (vectors @ self.embedder.encode_query(topic))
        return scores

    def brief(
        self,
        documents: Sequence[Document],
        passages: Sequence[Passage],
        length: Length = "medium",
        topic: str | None = None,
    ) -> Draft:
        candidates = sentence_candidates(passages, prose_only=True) or sentence_candidates(passages)
        if not candidates:
            return Draft(sentences=(), abstained=True)
        vectors = self.embedder.encode([c.text for c in candidates])
        scores = self._centrality(candidates, vectors, topic)
        n_overview = OVERVIEW_BY_LENGTH[length]
        n_points = POINTS_BY_LENGTH[length]
        n_docs = len({c.doc_index for c in candidates})
        n_points = max(n_points, n_docs)
        chosen = self._cover_documents(candidates, scores, n_docs)
        chosen += mmr(scores, vectors, n_points + n_overview, self.settings.mmr_lambda, chosen)
        groups = self._merge_duplicates(chosen, candidates, vectors)
        overview = sorted(groups, key=lambda g: -scores[g[0]])[:n_overview] if len(groups) > n_overview else []
        points = [g for g in groups if g not in overview]
        points.sort(key=lambda g: (candidates[g[0]].doc_index, candidates[g[0]].position))
        overview.sort(key=lambda g: (candidates[g[0]].doc_index, candidates[g[0]].position))
        sentences = [self._draft(g, candidates, "point") for g in points]
        sentences += [self._draft(g, candidates, "overview") for g in overview]
        return Draft(sentences=tuple(sentences))

    @staticmethod
    def _cover_documents(candidates: Sequence[Candidate], scores: np.ndarray, n_docs: int) -> list[int]:
        """The best sentence of each document, so every document contributes."""
        if n_docs < 2:
            return []
        best: dict[int, int] = {}
        for i, c in enumerate(candidates):
            if c.doc_index not in best or scores[i] > scores[best[c.doc_index]]:
                best[c.doc_index] = i
        return sorted(best.values(), key=lambda i: -scores[i])

    @staticmethod
    def _merge_duplicates(chosen: list[int], candidates: Sequence[Candidate], vectors: np.ndarray) -> list[list[int]]:
        """Group chosen sentences that say the same thing; each group is one point."""
        groups: list[list[int]] = []
        for i in chosen:
            for group in groups:
                if float(vectors[i] @ vectors[group[0]]) >= DUPLICATE_SIMILARITY:
                    if candidates[i].doc_index not in {candidates[j].doc_index for j in group}:
                        group.append(i)
                    break
            else:
                groups.append([i])
        return groups

    @staticmethod
    def _draft(group: list[int], candidates: Sequence[Candidate], section: str) -> DraftSentence:
        lead = candidates[group[0]]
        return DraftSentence(lead.text, section, tuple(candidates[i].span for i in group))
