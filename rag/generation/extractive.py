"""The extractive generator: answers and briefings made only of exact source sentences.

No generation model. An answer is read from the retrieved passages by
rag/generation/reader.py (features of every sentence and candidate span) and
rag/generation/answer_choice.py (fitted weights): the answer sentence, the
sentence it carries on into when the short answer is there, a second
sentence when the first is not clearly the one, and a short answer span, each
with a calibrated confidence. Yes/no questions get no short answer: the
sentence is the evidence; so do "why" and "how" questions unless a span is
likely right (their answers are clauses). A briefing is built by rag/generation/briefing.py:
each story's lead, then its most central later sentences. Every output
sentence is an exact quote with its span. Sentence compression and
paraphrase are left out.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from rag.candidates import Candidate, sentence_candidates
from rag.embedding import Embedder
from rag.generation.answer_choice import choose
from rag.generation.base import POINTS_BY_LENGTH, Length
from rag.generation.briefing import Story, centrality, duplicates_of, share_points, stories
from rag.generation.reader import read
from rag.generation.wording import LIKELY_AT
from rag.settings import Settings
from rag.types import Document, Draft, DraftSentence, Passage, SourceSpan

# "Why" and "how" are answered by a clause: an uncertain span of one is left out, the sentence answers.
CLAUSE_KINDS = ("reason", "manner")


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
    def answer(self, question: str, passages: Sequence[Passage]) -> Draft:
        reading = read(question, passages, self.embedder)
        if reading is None:
            return Draft(sentences=(), abstained=True)
        choice = choose(reading)
        sentences = tuple(DraftSentence(c.text, "answer", (c.span,)) for c in choice.sentences)
        short = None
        clause = reading.qtype.kind in CLAUSE_KINDS and choice.short_confidence < LIKELY_AT
        if choice.short is not None and not clause:
            holder, span = choice.short
            where = SourceSpan(holder.span.doc_id, holder.span.chunk_id, holder.span.start + span.start,
                               holder.span.start + span.end)
            short = DraftSentence(span.text, "answer", (where,))
        return Draft(
            sentences=sentences, short_answer=short, confidence=choice.confidence,
            short_confidence=choice.short_confidence if short is not None else None,
        )

    # -- briefings -------------------------------------------------------------
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
        scores = centrality(candidates, vectors)
        if topic:
            scores = 0.5 * scores + 0.5 * (vectors @ self.embedder.encode_query(topic))
        groups = stories(candidates, vectors)
        chosen = share_points(scores, vectors, candidates, groups, POINTS_BY_LENGTH[length], self.settings.mmr_lambda)
        points = [
            DraftSentence(candidates[i].text, "point", self._sources(i, candidates, vectors, groups[g]))
            for g in range(len(groups)) for i in sorted(chosen[g], key=lambda i: candidates[i].position)
        ]
        overview = [
            DraftSentence(candidates[g.lead].text, "overview", self._sources(g.lead, candidates, vectors, g))
            for g in groups
        ]
        return Draft(sentences=tuple(points + overview))

    @staticmethod
    def _sources(i: int, candidates: Sequence[Candidate], vectors: np.ndarray, story: Story) -> tuple[SourceSpan, ...]:
        return tuple(candidates[j].span for j in [i, *duplicates_of(i, candidates, vectors, story)])
