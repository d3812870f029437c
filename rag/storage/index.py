"""An index folder: SQLite store + FAISS vectors + BM25, kept in step, saved atomically.

Every write (add, remove, rebuild, repair) happens under the folder's write
lock and in one SQLite transaction. The derived files for the new state are
written first under a new generation number (``vectors-<gen>.faiss`` and the
folder ``bm25-<gen>/``), then the transaction that records that generation
commits, then older generations' files are deleted. A crash at any moment
leaves the previous generation's files and the previous database state, which
agree. Reading happens without a lock. Both derived indexes can be rebuilt
from SQLite alone (``repair``). Before each commit the vector index is
rebuilt when the collection crossed a size boundary (exact below
``Settings.ann_threshold`` chunks, approximate IVF above: rag/vectors.py) and
BM25 is compacted when it asks for it (rag/lexical.py).

The index records the embedding backend it was built with; it keeps using a
backend whose vectors are of the same family (rag/embedding.py), so vectors of
different precision never mix; ``rebuild`` re-embeds with the configured one.
Query logic lives in rag/retrieval.py.
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from rag.chunking import chunk_document
from rag.embedding import VECTOR_FAMILY, Embedder, shared_embedder
from rag.errors import IndexCorruptError, IndexMismatchError
from rag.lexical import LexicalIndex
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
    index_detail: str = ""
    lexical: str = ""
    lexical_chunks: int = 0
    embedder_backend: str = ""


@dataclass
class _Derived:
    """The derived indexes one write changes together."""

    vectors: VectorIndex
    lexical: LexicalIndex


class Index:
    """An open index folder. Use ``Index.open(settings)``."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None, check: bool = True) -> None:
        self.dir = Path(settings.index_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.settings = settings
        self.store = Store(self.dir / DB_NAME)
        if check:
            self._check_manifest()
        self._given_embedder = embedder
        self.embedder = embedder or self._embedder_for_index()
        self.generation = -1
        self.vectors: VectorIndex | None = None
        self.lexical: LexicalIndex | None = None
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

    def _embedder_for_index(self) -> Embedder:
        """The configured embedder, unless this index holds vectors of another family: then its backend."""
        chosen = shared_embedder(self.settings)
        m = self.store.manifest()
        built = m.get("embedder_backend", "torch" if "dimension" in m else None)
        if built in VECTOR_FAMILY and VECTOR_FAMILY[built] != chosen.vector_family:
            return shared_embedder(self.settings.with_(embedder_backend=built))
        return chosen

    def _manifest_values(self, generation: int, vectors: VectorIndex) -> dict[str, str]:
        return {
            "schema_version": str(SCHEMA_VERSION),
            "embedder": self.settings.embedder_model,
            "embedder_backend": self.embedder.backend,
            "dimension": str(self.dimension),
            "max_chars": str(self.chunk_settings[0]),
            "overlap_chars": str(self.chunk_settings[1]),
            "generation": str(generation),
            "index_kind": vectors.kind,
            "lexical": "bm25",
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

    def _lexical_path(self, generation: int) -> Path:
        return self.dir / f"bm25-{generation}"

    def refresh(self) -> None:
        """Load the vectors and BM25 of the committed generation (rebuilt from SQLite if missing)."""
        m = self.store.manifest()
        generation = int(m.get("generation", 0))
        if generation == self.generation and self.vectors is not None and self.lexical is not None:
            return
        if "dimension" not in m:
            self.vectors, self.lexical = None, None
        else:
            self.vectors = self._load_vectors(generation, int(m["dimension"]))
            self.lexical = self._load_lexical(generation)
        self.generation = generation

    def _load_vectors(self, generation: int, dimension: int) -> VectorIndex:
        path = self._vector_path(generation)
        try:
            vectors = VectorIndex.load(path, dimension, self.settings.ann_nprobe) if path.exists() else None
        except (IndexCorruptError, OSError):  # a writer removed it meanwhile, or it is damaged
            vectors = None
        if vectors is not None and vectors.ntotal == self.store.count("chunks"):
            return vectors
        return self._vectors_from_store(dimension)

    def _load_lexical(self, generation: int) -> LexicalIndex:
        path = self._lexical_path(generation)
        try:
            lexical = LexicalIndex.load(path) if path.is_dir() else None
        except (IndexCorruptError, OSError):  # a writer removed it meanwhile, or it is damaged
            lexical = None
        if lexical is not None and lexical.ntotal == self.store.count("chunks"):
            return lexical
        return LexicalIndex.build(self.store.chunk_texts())

    def _vectors_from_store(self, dimension: int) -> VectorIndex:
        """Exact or approximate by the number of chunks, filled from SQLite's vectors."""
        n = self.store.count("chunks")
        return VectorIndex.build(dimension, self.store.vectors, n, self.settings.ann_threshold, self.settings.ann_nprobe)

    # -- writing --------------------------------------------------------------
    def _commit(self, write: Callable[[_Derived], None]) -> None:
        """Run ``write`` in one transaction, save derived files under a new generation, then commit."""
        with write_lock(self.dir, self.settings_lock_timeout):
            self.generation = -1
            self.refresh()
            derived = _Derived(
                self.vectors or VectorIndex(self.dimension, nprobe=self.settings.ann_nprobe),
                self.lexical or LexicalIndex(),
            )
            new_generation = int(self.store.manifest().get("generation", 0)) + 1
            try:
                with self.store.transaction():
                    write(derived)
                    self._fit(derived)
                    self.store.set_manifest(self._manifest_values(new_generation, derived.vectors))
                    derived.vectors.save(self._vector_path(new_generation))
                    derived.lexical.save(self._lexical_path(new_generation))
            except BaseException:
                self.generation, self.vectors, self.lexical = -1, None, None
                self._vector_path(new_generation).unlink(missing_ok=True)
                shutil.rmtree(self._lexical_path(new_generation), ignore_errors=True)
                self.refresh()
                raise
            self.vectors, self.lexical, self.generation = derived.vectors, derived.lexical, new_generation
            self._delete_older(new_generation)

    def _fit(self, derived: _Derived) -> None:
        """Rebuild the vectors if the collection crossed a size boundary; compact BM25 when due."""
        if not derived.vectors.suits(self.store.count("chunks"), self.settings.ann_threshold):
            derived.vectors = self._vectors_from_store(self.dimension)
        if derived.lexical.needs_compaction():
            derived.lexical = LexicalIndex.build(self.store.chunk_texts())

    def _delete_older(self, generation: int) -> None:
        keep = {self._vector_path(generation).name, self._lexical_path(generation).name}
        for old in [*self.dir.glob("vectors-*.faiss*"), *self.dir.glob("bm25-*")]:
            if old.name in keep:
                continue
            if old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
            else:
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

        def write(derived: _Derived) -> None:
            for doc in new.values():
                if doc.source not in NO_REPLACE_SOURCES:
                    for old_id in self.store.ids_for_source(doc.source):
                        gone = self.store.remove_document(old_id)
                        derived.vectors.remove(gone)
                        derived.lexical.remove(gone)
                        report.replaced.append(old_id)
                if self.store.has_document(doc.id):  # added by another writer meanwhile
                    report.unchanged.append(doc.id)
                    continue
                self.store.add_document(doc, now)
                report.added.append(doc.id)
            keep = [i for i, c in enumerate(chunks) if c.doc_id in report.added]
            ids = self.store.add_chunks([chunks[i] for i in keep], embeddings[keep])
            derived.vectors.add(ids, embeddings[keep])
            derived.lexical.add(ids, [chunks[i].text for i in keep])
            report.chunks = len(ids)

        self._commit(write)
        return report

    def remove(self, doc_ids: Sequence[str]) -> int:
        """Delete documents from SQLite and FAISS together; return how many chunks went."""
        for doc_id in doc_ids:
            self.store.document(doc_id)  # raises DocumentNotFoundError with a hint
        removed = 0

        def write(derived: _Derived) -> None:
            nonlocal removed
            for doc_id in doc_ids:
                gone = self.store.remove_document(doc_id)
                removed += derived.vectors.remove(gone)
                derived.lexical.remove(gone)

        self._commit(write)
        return removed

    def rebuild(self, progress: Progress | None = None) -> int:
        """Re-chunk and re-embed every stored document with the current settings and backend."""
        self.embedder = self._given_embedder or shared_embedder(self.settings)
        documents = [self.store.document(i) for i in self.store.document_ids()]
        max_chars, overlap = self.settings.max_chars, self.settings.overlap_chars
        chunks = [c for doc in documents for c in chunk_document(doc, max_chars, overlap)]
        embeddings = self.embedder.encode([c.text for c in chunks], progress)

        def write(derived: _Derived) -> None:
            self.store.clear_chunks_and_manifest()
            ids = self.store.add_chunks(chunks, embeddings)
            derived.vectors = VectorIndex.build(
                self.embedder.dimension, lambda: [(ids, embeddings)], len(ids),
                self.settings.ann_threshold, self.settings.ann_nprobe,
            )
            derived.lexical = LexicalIndex()
            derived.lexical.add(ids, [c.text for c in chunks])

        self._commit(write)
        return len(chunks)

    def repair(self) -> int:
        """Rebuild the derived vector and BM25 indexes from what SQLite stores."""

        def write(derived: _Derived) -> None:
            derived.vectors = self._vectors_from_store(self.dimension)
            derived.lexical = LexicalIndex.build(self.store.chunk_texts())

        self._commit(write)
        return self.vectors.ntotal if self.vectors else 0

    # -- reading --------------------------------------------------------------
    def document(self, doc_id: str) -> Document:
        return self.store.document(doc_id)

    def documents(self) -> list[DocumentInfo]:
        return self.store.documents()

    def chunks(self, doc_id: str) -> list[Chunk]:
        return self.store.chunks_for(doc_id)

    def check(self) -> list[str]:
        """Disagreements between SQLite, FAISS and BM25 (empty when they agree)."""
        self.refresh()
        problems: list[str] = []
        stored = set(self.store.chunk_ids())
        for name, derived in (("FAISS", self.vectors), ("BM25", self.lexical)):
            indexed = set(derived.ids().tolist()) if derived is not None else set()
            if stored != indexed:
                problems.append(
                    f"{len(stored - indexed)} chunks missing from {name}, {len(indexed - stored)} {name} ids "
                    f"with no chunk; run `rag repair`"
                )
        if stored and not self._vector_path(self.generation).exists():
            problems.append(f"vector file for generation {self.generation} is missing; run `rag repair`")
        if stored and not self._lexical_path(self.generation).is_dir():
            problems.append(f"BM25 folder for generation {self.generation} is missing; run `rag repair`")
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
            index_detail=self.vectors.detail if self.vectors else "empty",
            lexical=self.lexical.detail if self.lexical else "empty",
            lexical_chunks=self.lexical.ntotal if self.lexical else 0,
            embedder_backend=m.get("embedder_backend", self.embedder.backend),
        )
