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
    # Whether this is a newer version of what is stored under the same ``source`` (a file
    # path, an upload name), to replace on ingest. False for text with no lasting name
    # (standard input, pasted text). Not stored: it only guides the ingest that adds it.
    replaces_source: bool = True

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
class Retrieval:
    """One search: the ranked hits, and the cosines of the wider pool of nearest chunks they were
    drawn from (``Settings.retrieval_candidates``, best first): how close this question comes to
    the collection in general, which the abstention gate compares the hits with."""

    hits: list[Hit]
    pool_cosines: tuple[float, ...] = ()


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
    """One output sentence, the citation numbers that support it, and where it goes.

    ``section`` is "answer", "point" (a briefing bullet) or "overview";
    ``support`` is the best support score among its citations (0.0 when
    unsupported). Front ends render sections from this field, never from text.
    """

    text: str
    citations: tuple[int, ...] = ()
    supported: bool = False
    section: str = "answer"
    support: float = 0.0


@dataclass(frozen=True)
class Coverage:
    """How much one document contributed to a briefing."""

    doc_id: str
    title: str
    chunks_used: int
    chunks_total: int


@dataclass(frozen=True)
class GenerationStats:
    """How one generator call used its model: map windows, reduce passes, passages that fit."""

    windows: int = 0
    levels: int = 0
    passages_used: int = 0
    passages_total: int = 0
    max_prompt_tokens: int = 0
    input_limit: int = 0


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
    stats: GenerationStats | None = None
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
    stats: GenerationStats | None = None
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


@dataclass(frozen=True)
class IngestReport:
    """What an ingest did: ids added, ids already present, ids replaced by a newer version."""

    added: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    replaced: tuple[str, ...] = ()
    chunks: int = 0


@dataclass(frozen=True)
class RepairReport:
    """What ``rag repair`` did: the vectors its rebuilt search index holds, and each fix it made."""

    vectors: int = 0
    actions: tuple[str, ...] = ()


@dataclass(frozen=True)
class BuildInfo:
    """How an index was built: what its manifest records and later writes must match."""

    embedder: str
    embedder_backend: str
    dimension: int
    max_chars: int
    overlap_chars: int


@dataclass(frozen=True)
class StorageStatus:
    """What the storage layer knows about itself: counts, structures, size."""

    documents: int
    chunks: int
    vectors: int
    index_kind: str
    index_detail: str
    lexical: str
    lexical_chunks: int
    generation: int
    disk_bytes: int
    location: str
    store: str = ""  # which store, where: "sqlite:/srv/index", "postgresql://rag@db:5432/news"
    engine: str = ""  # which search engine, where: "local:/srv/index", "milvus://milvus:19530"


@dataclass(frozen=True)
class MigrationReport:
    """``rag migrate``: what was copied where, how long it took, and the copy's check."""

    documents: int
    chunks: int
    store: str
    engine: str
    seconds: float
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class IndexStatus:
    """``rag status``: the storage's counts plus how the index was built and runs here."""

    documents: int
    chunks: int
    vectors: int
    embedder: str
    dimension: int
    device: str
    index_kind: str
    generation: int
    disk_bytes: int
    max_chars: int
    overlap_chars: int
    index_detail: str = ""
    lexical: str = ""
    lexical_chunks: int = 0
    embedder_backend: str = ""
    store: str = ""
    engine: str = ""
