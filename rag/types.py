"""The typed data model: documents, chunks, hits, citations, answers.

Character offsets into ``Document.text`` are the one truth: for every chunk
``document.text[chunk.start:chunk.end] == chunk.text`` and for every citation
``document.text[citation.start:citation.end] == citation.quote``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping


@dataclass(frozen=True)
class PageSpan:
    """Characters ``[start, end)`` of a document came from PDF page ``page`` (1-based)."""

    page: int
    start: int
    end: int


@dataclass(frozen=True)
class Document:
    """One article. ``id`` is a hash of the text, so the same content has the same id."""

    id: str
    title: str
    source: str
    text: str
    metadata: Mapping[str, Any] = field(default_factory=dict)
    pages: tuple[PageSpan, ...] = ()
    added_at: str = ""

    def page_at(self, offset: int) -> int | None:
        """The PDF page holding character ``offset``, or None for non-paged text."""
        for span in self.pages:
            if span.start <= offset < span.end:
                return span.page
        return None


@dataclass(frozen=True)
class Chunk:
    """A span ``[start, end)`` of one document; ``id`` is shared by FAISS and SQLite."""

    id: int
    doc_id: str
    start: int
    end: int
    text: str
    page: int | None = None


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its score (higher is better) and 1-based rank."""

    chunk: Chunk
    score: float
    rank: int
    title: str = ""
    source: str = ""


@dataclass(frozen=True)
class Citation:
    """An exact source span supporting an output sentence; ``n`` is the marker [n]."""

    n: int
    doc_id: str
    title: str
    source: str
    chunk_id: int
    start: int
    end: int
    quote: str
    support: float
    page: int | None = None


@dataclass(frozen=True)
class Sentence:
    """One output sentence and the citation numbers that support it."""

    text: str
    citations: tuple[int, ...] = ()
    supported: bool = False


@dataclass(frozen=True)
class Coverage:
    """How much one document contributed to a briefing."""

    doc_id: str
    title: str
    chunks_used: int
    chunks_total: int


@dataclass(frozen=True)
class Answer:
    """The result of ``ask`` or ``brief``: text with [n] markers plus its citations."""

    text: str
    sentences: tuple[Sentence, ...]
    citations: tuple[Citation, ...]
    generator: str
    model: str
    short_answer: str | None = None
    abstained: bool = False
    coverage: tuple[Coverage, ...] = ()
    timings: Mapping[str, float] = field(default_factory=dict)
    notice: str = ""
    # Calibrated probabilities (0-1) that the answer as a whole, and the short answer, are right;
    # None when nothing estimates them (briefings, abstentions, a short answer not given).
    confidence: float | None = None
    short_answer_confidence: float | None = None


@dataclass(frozen=True)
class Passage:
    """A chunk handed to a generator, with its document (for offsets) and retrieval score."""

    document: Document
    chunk: Chunk
    score: float = 0.0


@dataclass(frozen=True)
class SourceSpan:
    """A span of a document a generator drew a sentence from (extractive: exact)."""

    doc_id: str
    chunk_id: int
    start: int
    end: int


@dataclass(frozen=True)
class DraftSentence:
    """A sentence a generator wrote, before citations are attached.

    ``sources`` is set by generators that know exactly where a sentence came
    from (extractive quotes); otherwise rag/citations.py finds support.
    ``section`` is "answer", "point" (a briefing bullet) or "overview".
    """

    text: str
    section: str = "answer"
    sources: tuple[SourceSpan, ...] = ()


@dataclass(frozen=True)
class Draft:
    """What a generator returns: sentences, an optional short answer, or an abstention."""

    sentences: tuple[DraftSentence, ...]
    short_answer: DraftSentence | None = None
    abstained: bool = False
    # The generator's own estimates (0-1) that its answer, and its short answer, are right.
    confidence: float | None = None
    short_confidence: float | None = None


@dataclass(frozen=True)
class DocumentInfo:
    """A row of the library listing: a document without its text."""

    doc_id: str
    title: str
    source: str
    chars: int
    chunks: int
    added_at: str
