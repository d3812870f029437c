"""ask() and brief(): the one place that wires retrieval, generation and citations.

Data flows one way: question -> hits -> passages -> generator draft ->
citations -> Answer. The abstention gate is applied here, the same for every
generator: a calibrated probability that the answer is right, from the
generator's own confidence (when it has one) and how close the question came
to this collection (rag/generation/confidence.py).
"""

from __future__ import annotations

import time
from typing import Sequence

import numpy as np

from rag.citations import CitationBuilder, attach
from rag.generation.base import Length
from rag.generation.confidence import answer_probability, retrieval_signals, should_abstain
from rag.generation.registry import fallback_notice, make_generator, resolve_name
from rag.index import Index
from rag.retrieval import dense_search, search
from rag.types import Answer, Coverage, Document, Draft, DraftSentence, Passage, Sentence

ABSTAIN_TEXT = "The articles do not answer this question."
MAX_BRIEF_DOCUMENTS = 8
TOPIC_CANDIDATES = 30


def _relevance(index: Index, query: str, chunk_ids: Sequence[int]) -> np.ndarray:
    """Cosine of ``query`` with each chunk's stored vector."""
    if not chunk_ids:
        return np.zeros(0)
    return index.store.vectors_by_id(chunk_ids) @ index.embedder.encode_query(query)


def _documents(index: Index, doc_ids: Sequence[str]) -> dict[str, Document]:
    return {doc_id: index.document(doc_id) for doc_id in dict.fromkeys(doc_ids)}


def _render(sentences: Sequence[Sentence], sections: Sequence[str]) -> str:
    def line(s: Sentence) -> str:
        marks = "".join(f"[{n}]" for n in s.citations)
        return f"{s.text} {marks}".rstrip() if s.supported else f"{s.text} (unsupported)"

    points = [line(s) for s, sec in zip(sentences, sections) if sec == "point"]
    overview = [line(s) for s, sec in zip(sentences, sections) if sec == "overview"]
    answer = [line(s) for s, sec in zip(sentences, sections) if sec == "answer"]
    parts = []
    if points:
        parts.append("Key points:\n" + "\n".join(f"- {p}" for p in points))
    if overview:
        parts.append("Overview: " + " ".join(overview))
    if answer:
        parts.append(" ".join(answer))
    return "\n\n".join(parts)


def _finish(
    index: Index, draft: Draft, passages: Sequence[Passage], name: str, model: str, timings: dict[str, float],
    confidence: float | None = None,
) -> Answer:
    settings = index.settings
    if draft.abstained or not draft.sentences:
        return _abstain(index, name, model, timings)
    started = time.perf_counter()
    documents = {p.document.id: p.document for p in passages}
    builder = CitationBuilder(documents, {p.chunk.id: p.chunk.page for p in passages})
    sentences = attach(draft.sentences, passages, index.embedder, settings.support_threshold, builder)
    timings["cite_s"] = time.perf_counter() - started
    short = draft.short_answer.text if draft.short_answer else None
    return Answer(
        text=_render(sentences, [s.section for s in draft.sentences]),
        sentences=tuple(sentences),
        citations=tuple(builder.citations),
        generator=name,
        model=model,
        short_answer=short,
        timings=timings,
        notice=fallback_notice(settings, name),
        confidence=confidence,
        short_answer_confidence=_short_confidence(draft, confidence),
    )


def _short_confidence(draft: Draft, confidence: float | None) -> float | None:
    """The short answer is no surer than the answer it comes from."""
    if draft.short_answer is None or draft.short_confidence is None:
        return None
    return min(draft.short_confidence, confidence) if confidence is not None else draft.short_confidence


def _background(index: Index, question: str, doc_ids: Sequence[str] | None) -> list[float]:
    """Cosines of the question's nearest chunks in this collection (a wider pool than k)."""
    allowed = index.store.chunk_ids(doc_ids) if doc_ids else None
    return [score for _, score in dense_search(index, question, index.settings.retrieval_candidates, allowed)]


def _abstain(index: Index, name: str, model: str, timings: dict[str, float], text: str = ABSTAIN_TEXT) -> Answer:
    return Answer(
        text=text, sentences=(), citations=(), generator=name, model=model, abstained=True,
        timings=timings, notice=fallback_notice(index.settings, name),
    )


def ask(index: Index, question: str, doc_ids: Sequence[str] | None = None, k: int | None = None) -> Answer:
    """Answer ``question`` from the index, citing the passages that support it."""
    started = time.perf_counter()
    settings = index.settings
    name = resolve_name(settings)
    generator = make_generator(settings, index.embedder)
    hits = search(index, question, k=k or settings.top_k, doc_ids=doc_ids)
    timings = {"retrieve_s": time.perf_counter() - started}
    if not hits:
        timings["total_s"] = time.perf_counter() - started
        return _abstain(index, name, generator.model_id, timings)
    documents = _documents(index, [h.chunk.doc_id for h in hits])
    passages = [Passage(documents[h.chunk.doc_id], h.chunk, h.score) for h in hits]
    generating = time.perf_counter()
    draft = generator.answer(question, passages)
    timings["generate_s"] = time.perf_counter() - generating
    signals = retrieval_signals([h.score for h in hits], _background(index, question, doc_ids))
    probability = answer_probability(draft.confidence, signals)
    if draft.abstained or should_abstain(probability, draft.confidence):
        timings["total_s"] = time.perf_counter() - started
        return _abstain(index, name, generator.model_id, timings)
    answer = _finish(index, draft, passages, name, generator.model_id, timings, probability)
    timings["total_s"] = time.perf_counter() - started
    return answer


def _topic_documents(index: Index, topic: str) -> list[str]:
    """Documents holding passages relevant to ``topic``, most relevant first."""
    hits = search(index, topic, k=TOPIC_CANDIDATES)
    relevance = _relevance(index, topic, [h.chunk.id for h in hits])
    relevant = [h.chunk.doc_id for h, r in zip(hits, relevance) if r >= index.settings.abstain_threshold]
    return list(dict.fromkeys(relevant))[:MAX_BRIEF_DOCUMENTS]


def _cover_missing(index: Index, draft: Draft, missing: Sequence[Document], passages: Sequence[Passage]) -> Draft:
    """Add, for each document the draft left uncited, its most central sentence as a quoted point."""
    from rag.generation.extractive import ExtractiveGenerator

    quoter = ExtractiveGenerator(index.settings, index.embedder)
    extra = []
    for doc in missing:
        own = [p for p in passages if p.document.id == doc.id]
        central = quoter.brief([doc], own, "short").sentences
        extra += [DraftSentence(s.text, "point", s.sources) for s in central if s.section == "overview"][:1]
    points = [s for s in draft.sentences if s.section != "overview"]
    rest = [s for s in draft.sentences if s.section == "overview"]
    return Draft(sentences=tuple(points + extra + rest), short_answer=draft.short_answer)


def brief(
    index: Index,
    doc_ids: Sequence[str] | None = None,
    topic: str | None = None,
    length: Length = "medium",
) -> Answer:
    """A cited briefing: key points then an overview, of ``doc_ids`` or of the documents about ``topic``."""
    started = time.perf_counter()
    settings = index.settings
    name = resolve_name(settings)
    generator = make_generator(settings, index.embedder)
    notice = ""
    if doc_ids:
        chosen = list(dict.fromkeys(doc_ids))
    elif topic:
        chosen = _topic_documents(index, topic)
    else:
        chosen = [d.doc_id for d in index.documents()][-MAX_BRIEF_DOCUMENTS:]
        if len(index.documents()) > MAX_BRIEF_DOCUMENTS:
            notice = f"briefing the {MAX_BRIEF_DOCUMENTS} most recent documents; name documents or a --topic to choose"
    timings = {"retrieve_s": time.perf_counter() - started}
    if not chosen:
        text = f"No articles in the index are about {topic!r}." if topic else "The index is empty; add articles first."
        return _abstain(index, name, generator.model_id, timings, text)
    documents = _documents(index, chosen)
    passages = [Passage(documents[d], c) for d in chosen for c in index.chunks(d)]
    generating = time.perf_counter()
    draft = generator.brief(list(documents.values()), passages, length, topic)
    timings["generate_s"] = time.perf_counter() - generating
    answer = _finish(index, draft, passages, name, generator.model_id, timings)
    missing = [d for d in chosen if d not in {c.doc_id for c in answer.citations}]
    if missing and not answer.abstained:
        draft = _cover_missing(index, draft, [documents[d] for d in missing], passages)
        answer = _finish(index, draft, passages, name, generator.model_id, timings)
    timings["total_s"] = time.perf_counter() - started
    coverage = tuple(
        Coverage(
            doc_id=d, title=documents[d].title,
            chunks_used=len({c.chunk_id for c in answer.citations if c.doc_id == d}),
            chunks_total=sum(1 for p in passages if p.document.id == d),
        )
        for d in chosen
    )
    joined_notice = "; ".join(n for n in (answer.notice, notice) if n)
    return Answer(**{**answer.__dict__, "coverage": coverage, "notice": joined_notice})
