"""The two storage seams: a Store (the truth) and a SearchEngine (indexes derived from it).

A store keeps documents, chunk offsets, chunk vectors and a small manifest,
with transactions and a writers' lock; everything else can be rebuilt from
it. A search engine keeps the structures that make search fast (vectors,
keywords) for one committed *generation* of the store: rag/storage/index.py
asks it to change in step with a write, to save the new generation before
the store commits, and to drop older generations after. One backend per
file: rag/storage/sqlite.py and rag/storage/postgres.py are stores,
rag/storage/local.py (FAISS + BM25 files beside the database) and
rag/storage/milvus.py engines; rag/storage/__init__.py maps the names in
Settings to them.

An engine that lives in another system (Milvus) cannot join the store's
transaction: it records its change in the store's outbox
(``record_changes``) inside the transaction, applies it after the commit
with idempotent upserts and deletes by id, and clears it; a change left
by a crash is applied by the next write or ``rag repair``.

These are Protocols: any class with these methods fits, no base class needed.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator, Mapping, Protocol, Sequence

from rag.types import Chunk, Document, DocumentInfo

if TYPE_CHECKING:
    import numpy as np

Ranked = list[tuple[int, float]]  # (chunk id, score), best first


@dataclass(frozen=True)
class EngineStatus:
    """What a search engine reports for ``rag status``."""

    index_kind: str
    index_detail: str
    vectors: int
    lexical: str
    lexical_chunks: int


class Store(Protocol):
    """Documents, chunks with their vectors, and the manifest; transactional, one writer at a time."""

    location: str  # shown to users: a folder, a database URL without its password

    def close(self) -> None: ...
    def check_writable(self) -> None:
        """Raise IndexReadOnlyError or DiskFullError when a write is known to fail (checked before embedding)."""
        ...
    def lock(self, timeout_s: float) -> AbstractContextManager[None]:
        """Hold the writers' lock, waiting up to ``timeout_s`` (IndexLockedError after)."""
        ...
    def transaction(self) -> AbstractContextManager[None]:
        """Writes inside commit together or not at all."""
        ...
    def disk_bytes(self) -> int: ...

    # checking and repairing the store itself
    def integrity_problems(self) -> list[str]:
        """Missing tables (or the backend's like) with their fix, ``rag repair``.

        Raises IndexCorruptError, saying how to recover, when the store itself is damaged
        beyond what ``rag repair`` can fix (a failed integrity check, the documents gone).
        """
        ...
    def restore_schema(self) -> list[str]:
        """Recreate missing tables, empty, inside the open transaction; return their names."""
        ...

    # manifest: how the index was built, and its committed generation
    def manifest(self) -> dict[str, str]:
        """The manifest; empty when there is none (a new store, or a lost one)."""
        ...
    def set_manifest(self, values: Mapping[str, str]) -> None: ...

    # documents
    def add_document(self, doc: Document, added_at: str) -> None: ...
    def stored_ids(self, doc_ids: Sequence[str]) -> set[str]: ...
    def ids_for_source(self, source: str) -> list[str]: ...
    def rename_document(self, old_id: str, new_id: str, source: str) -> None:
        """Give a document a new id and source, its chunks following (a schema upgrade)."""
        ...
    def documents_missing_chunks(self) -> list[str]:
        """Ids of documents whose chunks do not cover their text (none at all, or lost between or after)."""
        ...
    def document(self, doc_id: str) -> Document: ...
    def titles(self, doc_ids: Sequence[str]) -> dict[str, tuple[str, str]]: ...
    def document_ids(self) -> list[str]: ...
    def documents(self) -> list[DocumentInfo]: ...
    def remove_document(self, doc_id: str) -> list[int]: ...
    def count_documents(self) -> int: ...

    # chunks and vectors
    def add_chunks(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> list[int]: ...
    def clear_chunks_and_manifest(self) -> None: ...
    def chunks_for(self, doc_id: str) -> list[Chunk]: ...
    def chunks_by_id(self, ids: Sequence[int]) -> dict[int, Chunk]: ...
    def chunk_ids(self, doc_ids: Sequence[str] | None = None) -> list[int]: ...
    def count_chunks(self) -> int: ...
    def vectors(self, batch: int = 4096) -> Iterator[tuple[np.ndarray, np.ndarray]]: ...
    def chunk_texts(self, batch: int = 4096) -> Iterator[list[tuple[int, str]]]: ...
    def vectors_by_id(self, ids: Sequence[int]) -> dict[int, np.ndarray]:
        """The stored vectors of those ``ids`` that exist (absent ones are left out)."""
        ...

    # the outbox of engines written after the commit: one opaque record per generation
    def record_changes(self, generation: int, changes: str) -> None: ...
    def pending_changes(self) -> list[tuple[int, str]]: ...
    def clear_changes(self, through: int) -> None: ...


class SearchEngine(Protocol):
    """Search structures derived from a Store, one committed generation at a time."""

    def close(self) -> None:
        """Let go of connections (the store is closed by its owner)."""
        ...

    def open(self, generation: int, dimension: int, recorded: Mapping[str, str]) -> None:
        """Show ``generation`` (vectors of ``dimension``; 0: nothing stored yet); cheap, loads lazily.

        ``recorded`` is the store's manifest, where ``manifest()`` values of earlier commits are.
        Loading verifies the structures against it and never rebuilds them: damage raises
        IndexCorruptError naming ``rag repair`` (a reader retries once it shows a newer generation).
        """
        ...
    def manifest(self) -> dict[str, str]:
        """What the engine records in the store's manifest at a commit, called after ``save``.

        Its kind, and whatever lets it verify its structures later (the local engine:
        each file's size and SHA-256, and how many chunks each structure holds).
        """
        ...

    # reading; ``allowed`` chunk ids are those of ``doc_ids`` when both are given
    def dense(
        self, vector: np.ndarray, k: int, allowed: Sequence[int] | None, doc_ids: Sequence[str] | None = None
    ) -> Ranked: ...
    def keyword(
        self, text: str, k: int, allowed: Sequence[int] | None, doc_ids: Sequence[str] | None = None
    ) -> Ranked: ...
    def fused(
        self, vector: np.ndarray, text: str, k: int, allowed: Sequence[int] | None, rrf_k: int,
        doc_ids: Sequence[str] | None = None,
    ) -> Ranked | None:
        """Dense and keyword ``k`` each, fused by reciprocal rank in the engine; None: fuse in Python."""
        ...
    def vectors_of(self, ids: Sequence[int]) -> np.ndarray:
        """The indexed vectors of ``ids`` (for MMR), in that order."""
        ...

    # writing, between ``begin`` and ``save`` inside the store's transaction
    def begin(self) -> None:
        """Load the shown generation's structures for changing (IndexCorruptError when damaged)."""
        ...
    def add(self, ids: Sequence[int], vectors: np.ndarray, texts: Sequence[str]) -> None: ...
    def remove(self, ids: Sequence[int], doc_ids: Sequence[str] = ()) -> int:
        """Remove chunks ``ids``; ``doc_ids`` names documents that went with all their chunks."""
        ...
    def rebuild(self) -> None:
        """Refill every structure from the store (a repair)."""
        ...
    def reset(self, dimension: int) -> None:
        """Empty structures for vectors of ``dimension`` (the store is being refilled)."""
        ...
    def fit(self) -> None:
        """Restructure what the collection's new size calls for (before ``save``)."""
        ...
    def save(self, generation: int) -> None:
        """Persist the changed structures as ``generation``, before the store commits.

        A full disk or a read-only folder raises DiskFullError or IndexReadOnlyError.
        """
        ...
    def discard(self, generation: int) -> None:
        """Forget a write that did not commit: remove what ``save`` wrote, drop the changes."""
        ...
    def committed(self, generation: int) -> None:
        """The store committed ``generation``: show it, and drop older generations."""
        ...

    # checking
    def problems(self, stored: set[int]) -> list[str]:
        """Damaged or missing structures (verified in full) and disagreements with the store's chunk ids."""
        ...
    def describe(self) -> EngineStatus: ...
    def disk_bytes(self) -> int: ...
