"""ask() and brief(): the one place that wires retrieval, generation and citations.

Data flows one way: question -> hits -> passages -> generator draft ->
citations -> Answer. The abstention gate is applied here, the same for every
generator: a calibrated probability that the answer is right, from the
generator's own confidence (when it has one) and how close the question came
to this collection: the best passage's cosine (``Hit.score``) and its margin
over the cosines of the wider pool of chunks the search drew from
(``Retrieval.pool_cosines``), so no second query embedding or search is
needed (rag/generation/confidence.py). The functions take what they use as arguments (a
``Library`` to read from, the generator to write with); ``rag.Rag`` supplies
both. Every sentence keeps its section and support; ``Answer.text`` is
rendered from them by rag/render.py.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING, Protocol, Sequence

from rag.citations import CitationBuilder, attach
from rag.generation.base import Generator, Length
from rag.generation.confidence import answer_probability, retrieval_signals, should_abstain
from rag.render import answer_body
from rag.settings import Settings
from rag.types import (
    Answer,
    Chunk,
    Coverage,
    Document,
    DocumentInfo,
    Draft,
    DraftSentence,
    GenerationStats,
    Hit,
    Passage,
    Retrieval,
)

if TYPE_CHECKING:
    from rag.embedding import Embedder

ABSTAIN_TEXT = "The articles do not answer this question."
MAX_BRIEF_DOCUMENTS = 8
TOPIC_CANDIDATES = 30


class Library(Protocol):
    """What ask() and brief() read: rag.Rag is one."""

    @property
    def settings(self) -> Settings: ...
    @property
    def embedder(self) -> Embedder: ...
    def search(self, query: str, k: int | None = None, doc_ids: Sequence[str] | None = None) -> list[Hit]: ...
    def retrieve(self, query: str, k: int | None = None, doc_ids: Sequence[str] | None = None) -> Retrieval: ...
    def document(self, doc_id: str) -> Document: ...
    def documents(self) -> list[DocumentInfo]: ...
    def chunks(self, doc_id: str) -> list[Chunk]: ...
    def generator(self, name: str | None = None) -> Generator: ...


def _documents(library: Library, doc_ids: Sequence[str]) -> dict[str, Document]:
    return {doc_id: library.document(doc_id) for doc_id in dict.fromkeys(doc_ids)}


def _finish(
    library: Library, draft: Draft, passages: Sequence[Passage], name: str, model: str,
    timings: dict[str, float], notice: str, confidence: float | None = None,
) -> Answer:
    if draft.abstained or not draft.sentences:
        return _abstain(name, model, timings, notice, stats=draft.stats)
    started = time.perf_counter()
    documents = {p.document.id: p.document for p in passages}
    builder = CitationBuilder(documents, {p.chunk.id: p.chunk.page for p in passages})
    sentences = attach(draft.sentences, passages, library.embedder, library.settings.support_threshold, builder)
    timings["cite_s"] = time.perf_counter() - started
    short = draft.short_answer.text if draft.short_answer else None
    return Answer(
        text=answer_body(sentences),
        sentences=tuple(sentences),
        citations=tuple(builder.citations),
        generator=name,
        model=model,
        short_answer=short,
        timings=timings,
        notice=notice,
        stats=draft.stats,
        confidence=confidence,
        short_answer_confidence=_short_confidence(draft, confidence),
    )


def _short_confidence(draft: Draft, confidence: float | None) -> float | None:
    """The short answer is no surer than the answer it comes from."""
    if draft.short_answer is None or draft.short_confidence is None:
        return None
    return min(draft.short_confidence, confidence) if confidence is not None else draft.short_confidence


def _abstain(
    name: str, model: str, timings: dict[str, float], notice: str, text: str = ABSTAIN_TEXT,
    stats: GenerationStats | None = None,
) -> Answer:
    return Answer(
        text=text, sentences=(), citations=(), generator=name, model=model, abstained=True,
        timings=timings, notice=notice, stats=stats,
    )


def ask(
    library: Library, generator: Generator, question: str, doc_ids: Sequence[str] | None = None,
    k: int | None = None, notice: str = "",
) -> Answer:
    """Answer ``question`` from the library with ``generator``, citing the passages that support it."""
    started = time.perf_counter()
    settings = library.settings
    retrieval = library.retrieve(question, k=k or settings.top_k, doc_ids=doc_ids)
    hits = retrieval.hits
    timings = {"retrieve_s": time.perf_counter() - started}
    if not hits:
        timings["total_s"] = time.perf_counter() - started
        return _abstain(generator.name, generator.model_id, timings, notice)
    documents = _documents(library, [h.chunk.doc_id for h in hits])
    passages = [Passage(documents[h.chunk.doc_id], h.chunk, h.score) for h in hits]
    generating = time.perf_counter()
    draft = generator.answer(question, passages)
    timings["generate_s"] = time.perf_counter() - generating
    signals = retrieval_signals([h.score for h in hits], retrieval.pool_cosines)
    probability = answer_probability(draft.confidence, signals)
    if draft.abstained or should_abstain(probability, draft.confidence):
        timings["total_s"] = time.perf_counter() - started
        return _abstain(generator.name, generator.model_id, timings, notice, stats=draft.stats)
    answer = _finish(library, draft, passages, generator.name, generator.model_id, timings, notice, probability)
    timings["total_s"] = time.perf_counter() - started
    return answer


def _topic_documents(library: Library, topic: str) -> list[str]:
    """Documents holding passages relevant to ``topic``, most relevant first."""
    hits = library.search(topic, k=TOPIC_CANDIDATES)
    relevant = [h.chunk.doc_id for h in hits if h.score >= library.settings.topic_threshold]
    return list(dict.fromkeys(relevant))[:MAX_BRIEF_DOCUMENTS]


def _cover_missing(library: Library, draft: Draft, missing: Sequence[Document], passages: Sequence[Passage]) -> Draft:
    """Add, for each document the draft left uncited, its most central sentence as a quoted point."""
    quoter = library.generator("extractive")
    extra = []
    for doc in missing:
        own = [p for p in passages if p.document.id == doc.id]
        central = quoter.brief([doc], own, "short").sentences
        extra += [DraftSentence(s.text, "point", s.sources) for s in central if s.section == "overview"][:1]
    points = [s for s in draft.sentences if s.section != "overview"]
    rest = [s for s in draft.sentences if s.section == "overview"]
    return Draft(sentences=tuple(points + extra + rest), short_answer=draft.short_answer, stats=draft.stats)


def _chosen(library: Library, doc_ids: Sequence[str] | None, topic: str | None) -> tuple[list[str], str]:
    """The documents to brief, and a notice when the choice was made for the user."""
    if doc_ids:
        return list(dict.fromkeys(doc_ids)), ""
    if topic:
        return _topic_documents(library, topic), ""
    infos = library.documents()
    notice = ""
    if len(infos) > MAX_BRIEF_DOCUMENTS:
        notice = f"briefing the {MAX_BRIEF_DOCUMENTS} most recent documents; name documents or a --topic to choose"
    return [d.doc_id for d in infos][-MAX_BRIEF_DOCUMENTS:], notice


def brief(
    library: Library,
    generator: Generator,
    doc_ids: Sequence[str] | None = None,
    topic: str | None = None,
    length: Length = "medium",
    notice: str = "",
) -> Answer:
    """A cited briefing: key points then an overview, of ``doc_ids`` or of the documents about ``topic``."""
    started = time.perf_counter()
    name, model = generator.name, generator.model_id
    chosen, chose_notice = _chosen(library, doc_ids, topic)
    timings = {"retrieve_s": time.perf_counter() - started}
    if not chosen:
        text = f"No articles in the index are about {topic!r}." if topic else "The index is empty; add articles first."
        return _abstain(name, model, timings, notice, text)
    documents = _documents(library, chosen)
    passages = [Passage(documents[d], c) for d in chosen for c in library.chunks(d)]
    generating = time.perf_counter()
    draft = generator.brief(list(documents.values()), passages, length, topic)
    timings["generate_s"] = time.perf_counter() - generating
    answer = _finish(library, draft, passages, name, model, timings, notice)
    missing = [d for d in chosen if d not in {c.doc_id for c in answer.citations}]
    if missing and not answer.abstained:
        draft = _cover_missing(library, draft, [documents[d] for d in missing], passages)
        answer = _finish(library, draft, passages, name, model, timings, notice)
    timings["total_s"] = time.perf_counter() - started
    coverage = tuple(
        Coverage(
            doc_id=d, title=documents[d].title,
            chunks_used=len({c.chunk_id for c in answer.citations if c.doc_id == d}),
            chunks_total=sum(1 for p in passages if p.document.id == d),
        )
        for d in chosen
    )
    joined_notice = "; ".join(n for n in (answer.notice, chose_notice) if n)
    return replace(answer, coverage=coverage, notice=joined_notice)
