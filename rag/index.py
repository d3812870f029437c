"""An index folder: SQLite store + FAISS vectors, kept in step, saved atomically.

Every write (add, remove, rebuild, repair) happens under the folder's write
lock and in one SQLite transaction. The vector file for the new state is
written first under a new generation number (``vectors-<gen>.faiss``), then
the transaction that records that generation commits. A crash at any moment
leaves the previous generation's files and the previous database state, which
agree. Reading happens without a lock. Query logic lives in rag/retrieval.py.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from rag.chunking import chunk_document
from rag.embedding import Embedder, shared_embedder
from rag.errors import IndexMismatchError
from rag.locking import write_lock
from rag.settings import SCHEMA_VERSION, Settings
from rag.store import Store
from rag.types import Chunk, Document, DocumentInfo
from rag.vectors import VectorIndex

Progress = Callable[[int, int], None]
DB_NAME = "rag.sqlite"
NO_REPLACE_SOURCES = ("stdin", "pasted text")


@dataclass
class IngestReport:
    """What an ingest did: ids added, ids already present, ids replaced by a newer version."""

    added: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    chunks: int = 0


@dataclass(frozen=True)
class IndexStatus:
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


class Index:
    """An open index folder. Use ``Index.open(settings)``."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None, check: bool = True) -> None:
        self.dir = Path(settings.index_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.settings = settings
        self.embedder = embedder or shared_embedder(settings)
        self.store = Store(self.dir / DB_NAME)
        if check:
            self._check_manifest()
        self.generation = -1
        self.vectors: VectorIndex | None = None
        self.refresh()

    @classmethod
    def open(cls, settings: Settings, embedder: Embedder | None = None, check: bool = True) -> "Index":
        """Open (or create) the index in ``settings.index_dir``; refuse one built differently."""
        return cls(settings, embedder, check)

    def close(self) -> None:
        self.store.close()

    # -- manifest -----------------------------------------------------------
    def _check_manifest(self) -> None:
        m = self.store.manifest()
        if not m:
            return
        rebuild = "run `rag ingest --rebuild` to rebuild it with the current settings"
        if int(m.get("schema_version", SCHEMA_VERSION)) != SCHEMA_VERSION:
            raise IndexMismatchError(
                f"{self.dir} was built by schema version {m['schema_version']}, this rag uses {SCHEMA_VERSION}; {rebuild}"
            )
        if m.get("embedder") and m["embedder"] != self.settings.embedder_model:
            raise IndexMismatchError(
                f"{self.dir} was built with embedder {m['embedder']!r}, not {self.settings.embedder_model!r}; "
                f"{rebuild}, or pass --embedder {m['embedder']}"
            )

    def _manifest_values(self, generation: int) -> dict[str, str]:
        return {
            "schema_version": str(SCHEMA_VERSION),
            "embedder": self.settings.embedder_model,
            "dimension": str(self.dimension),
            "max_chars": str(self.chunk_settings[0]),
            "overlap_chars": str(self.chunk_settings[1]),
            "generation": str(generation),
            "index_kind": self.vectors.kind if self.vectors else "flat",
        }

    @property
    def chunk_settings(self) -> tuple[int, int]:
        """The index's own chunker settings (those it was built with) win over Settings."""
        m = self.store.manifest()
        return int(m.get("max_chars", self.settings.max_chars)), int(m.get("overlap_chars", self.settings.overlap_chars))

    @property
    def dimension(self) -> int:
        m = self.store.manifest()
        return int(m["dimension"]) if "dimension" in m else self.embedder.dimension

    # -- loading derived state ---------------------------------------------
    def _vector_path(self, generation: int) -> Path:
        return self.dir / f"vectors-{generation}.faiss"

    def refresh(self) -> None:
        """Load the vectors of the committed generation (rebuilt from SQLite if missing)."""
        m = self.store.manifest()
        generation = int(m.get("generation", 0))
        if generation == self.generation and self.vectors is not None:
            return
        path = self._vector_path(generation)
        if "dimension" not in m:
            self.vectors = None
        elif path.exists():
            self.vectors = VectorIndex.load(path, int(m["dimension"]), m.get("index_kind", "flat"))
            if self.vectors.ntotal != self.store.count("chunks"):
                self.vectors = self._vectors_from_store(int(m["dimension"]))
        else:
            self.vectors = self._vectors_from_store(int(m["dimension"]))
        self.generation = generation

    def _vectors_from_store(self, dimension: int) -> VectorIndex:
        vectors = VectorIndex(dimension)
        for ids, vecs in self.store.vectors():
            vectors.add(ids, vecs)
        return vectors

    # -- writing --------------------------------------------------------------
    def _commit(self, write: Callable[[VectorIndex], VectorIndex | None]) -> None:
        """Run ``write`` in one transaction, save vectors under a new generation, then commit."""
        with write_lock(self.dir, self.settings_lock_timeout):
            self.generation = -1
            self.refresh()
            vectors = self.vectors or VectorIndex(self.dimension)
            new_generation = int(self.store.manifest().get("generation", 0)) + 1
            try:
                with self.store.transaction():
                    self.vectors = write(vectors) or vectors
                    self.store.set_manifest(self._manifest_values(new_generation))
                    self.vectors.save(self._vector_path(new_generation))
            except BaseException:
                self.generation, self.vectors = -1, None
                self._vector_path(new_generation).unlink(missing_ok=True)
                self.refresh()
                raise
            self.generation = new_generation
            for old in self.dir.glob("vectors-*.faiss"):
                if old != self._vector_path(new_generation):
                    old.unlink(missing_ok=True)

    @property
    def settings_lock_timeout(self) -> float:
        return float(self.settings.extra.get("lock_timeout_s", 60.0))

    def _embed(self, documents: Sequence[Document], progress: Progress | None) -> tuple[list[Chunk], np.ndarray]:
        max_chars, overlap = self.chunk_settings
        chunks = [c for doc in documents for c in chunk_document(doc, max_chars, overlap)]
        return chunks, self.embedder.encode([c.text for c in chunks], progress)

    def add(self, documents: Sequence[Document], progress: Progress | None = None) -> IngestReport:
        """Add documents; same content is a no-op, a changed file replaces its old version."""
        report = IngestReport()
        new: dict[str, Document] = {}
        for doc in documents:
            if doc.id in new or self.store.has_document(doc.id):
                report.unchanged.append(doc.id)
            else:
                new[doc.id] = doc
        if not new:
            return report
        chunks, embeddings = self._embed(list(new.values()), progress)
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")

        def write(vectors: VectorIndex) -> None:
            for doc in new.values():
                if doc.source not in NO_REPLACE_SOURCES:
                    for old_id in self.store.ids_for_source(doc.source):
                        vectors.remove(self.store.remove_document(old_id))
                        report.replaced.append(old_id)
                if self.store.has_document(doc.id):  # added by another writer meanwhile
                    report.unchanged.append(doc.id)
                    continue
                self.store.add_document(doc, now)
                report.added.append(doc.id)
            keep = [i for i, c in enumerate(chunks) if c.doc_id in report.added]
            ids = self.store.add_chunks([chunks[i] for i in keep], embeddings[keep])
            vectors.add(ids, embeddings[keep])
            report.chunks = len(ids)

        self._commit(write)
        return report

    def remove(self, doc_ids: Sequence[str]) -> int:
        """Delete documents from SQLite and FAISS together; return how many chunks went."""
        for doc_id in doc_ids:
            self.store.document(doc_id)  # raises DocumentNotFoundError with a hint
        removed = 0

        def write(vectors: VectorIndex) -> None:
            nonlocal removed
            for doc_id in doc_ids:
                removed += vectors.remove(self.store.remove_document(doc_id))

        self._commit(write)
        return removed

    def rebuild(self, progress: Progress | None = None) -> int:
        """Re-chunk and re-embed every stored document with the current settings."""
        documents = [self.store.document(i) for i in self.store.document_ids()]
        max_chars, overlap = self.settings.max_chars, self.settings.overlap_chars
        chunks = [c for doc in documents for c in chunk_document(doc, max_chars, overlap)]
        embeddings = self.embedder.encode([c.text for c in chunks], progress)

        def write(_: VectorIndex) -> VectorIndex:
            self.store.db.execute("DELETE FROM chunks")
            self.store.db.execute("DELETE FROM manifest")
            fresh = VectorIndex(self.embedder.dimension)
            fresh.add(self.store.add_chunks(chunks, embeddings), embeddings)
            return fresh

        self._commit(write)
        return len(chunks)

    def repair(self) -> int:
        """Rebuild the derived vector index from the vectors stored in SQLite."""
        self._commit(lambda _: self._vectors_from_store(self.dimension))
        return self.vectors.ntotal if self.vectors else 0

    # -- reading --------------------------------------------------------------
    def document(self, doc_id: str) -> Document:
        return self.store.document(doc_id)

    def documents(self) -> list[DocumentInfo]:
        return self.store.documents()

    def chunks(self, doc_id: str) -> list[Chunk]:
        return self.store.chunks_for(doc_id)

    def check(self) -> list[str]:
        """Disagreements between SQLite and FAISS (empty when they agree)."""
        import faiss

        self.refresh()
        problems: list[str] = []
        stored = set(self.store.chunk_ids())
        indexed = set(faiss.vector_to_array(self.vectors.index.id_map).tolist()) if self.vectors else set()
        if stored != indexed:
            problems.append(
                f"{len(stored - indexed)} chunks missing from FAISS, {len(indexed - stored)} FAISS ids "
                f"with no chunk; run `rag repair`"
            )
        if not self._vector_path(self.generation).exists() and stored:
            problems.append(f"vector file for generation {self.generation} is missing; run `rag repair`")
        return problems

    def status(self) -> IndexStatus:
        m = self.store.manifest()
        disk = sum(p.stat().st_size for p in self.dir.rglob("*") if p.is_file())
        max_chars, overlap = self.chunk_settings
        return IndexStatus(
            documents=self.store.count("documents"),
            chunks=self.store.count("chunks"),
            vectors=self.vectors.ntotal if self.vectors else 0,
            embedder=m.get("embedder", self.settings.embedder_model),
            dimension=int(m.get("dimension", 0)),
            device=self.embedder.device,
            index_kind=self.vectors.kind if self.vectors else "flat",
            generation=self.generation,
            disk_bytes=disk,
            max_chars=max_chars,
            overlap_chars=overlap,
        )
