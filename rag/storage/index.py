"""An index: the store (the truth) and the search engine derived from it, kept in step.

Storage only: the caller (rag/core.py) chooses the embedder and the chunker
and hands over documents with their chunks and vectors; this module records
how they were made (``BuildInfo``, in the manifest) and keeps the two sides
in step. Every write (add, remove, replace_all, repair) holds the store's
writers' lock and runs in one store transaction: the engine's structures
for the new state are saved under a new generation number first, then the
transaction that records that generation commits, then older generations
are dropped. A crash at any moment leaves the previous generation and the
previous store state, which agree. Reading takes no lock; ``refresh`` shows
the last committed generation (one manifest read), and a query calls it
once; a read that finds its generation's files gone (a writer committed a
newer one meanwhile) shows the newer one and reads again.

Nothing is repaired on open. ``check`` gathers every problem with its fix:
the store's own integrity (SQLite's ``quick_check``, missing tables), an
older schema, a missing manifest, documents without chunks, and the search
engine's files against their recorded checksums and the store's chunk ids.
``repair`` fixes what the store still holds the truth for, in one commit;
writes refuse an index that needs it. The schema version is checked on open:
an older one (1: document ids by text alone) opens for reading and for
``repair``, which upgrades it in place (``rekey``), nothing re-embedded.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import TYPE_CHECKING, Callable, Sequence, TypeVar

from rag.errors import IndexCorruptError, IndexMismatchError, RagError
from rag.settings import SCHEMA_VERSION
from rag.storage.base import Ranked, SearchEngine, Store
from rag.storage.upkeep import Fill, Rekey, lost_chunks, refill_documents, rekey_documents
from rag.types import BuildInfo, Chunk, Document, DocumentInfo, Hit, IngestReport, RepairReport, StorageStatus

if TYPE_CHECKING:
    import numpy as np

T = TypeVar("T")
READ_RETRIES = 3


def _build_info(manifest: dict[str, str]) -> BuildInfo | None:
    """The manifest's record of how the index was built (None while it is empty)."""
    if "dimension" not in manifest:
        return None
    return BuildInfo(
        embedder=manifest.get("embedder", ""),
        # Indexes from before the ONNX backends hold PyTorch vectors.
        embedder_backend=manifest.get("embedder_backend", "torch"),
        dimension=int(manifest["dimension"]),
        max_chars=int(manifest["max_chars"]),
        overlap_chars=int(manifest["overlap_chars"]),
    )


class Index:
    """An open index: ``Store`` + ``SearchEngine`` (rag/storage/base.py). Open with ``rag.storage.open_index``."""

    def __init__(
        self, store: Store, engine: SearchEngine, lock_timeout_s: float = 60.0, names: tuple[str, str] = ("", "")
    ) -> None:
        self.store = store
        self.engine = engine
        self.lock_timeout_s = lock_timeout_s
        self.names = names  # (store, engine) as ``rag status`` shows them
        self.generation = -1
        self.built: BuildInfo | None = None
        self.manifest: dict[str, str] = {}
        self.schema_version = SCHEMA_VERSION
        self.stored_documents = 0  # counted only while the manifest is missing
        self._check_schema()
        self.refresh()

    @property
    def location(self) -> str:
        return self.store.location

    def close(self) -> None:
        self.engine.close()
        self.store.close()

    def _check_schema(self) -> None:
        version = self.store.manifest().get("schema_version")
        if version is None:
            return
        if not version.isdigit() or int(version) > SCHEMA_VERSION:
            raise IndexMismatchError(
                f"{self.location} was built by schema version {version}, newer than this rag's {SCHEMA_VERSION}; "
                f"use the rag that built it, or upgrade rag"
            )
        self.schema_version = int(version)

    @property
    def needs_upgrade(self) -> bool:
        """Whether the index was built by an older schema (``repair`` upgrades it)."""
        return self.schema_version < SCHEMA_VERSION

    def upgrade_message(self) -> str:
        return (
            f"{self.location} was built by schema version {self.schema_version}, this rag uses {SCHEMA_VERSION}; "
            f"run `rag repair` to upgrade it in place (nothing is re-embedded)"
        )

    @property
    def manifest_missing(self) -> bool:
        """Whether documents are stored but the manifest that says how they were indexed is gone."""
        return self.built is None and self.stored_documents > 0

    def _manifest_missing_error(self) -> IndexCorruptError:
        return IndexCorruptError(
            f"{self.location}: the manifest (how the index was built) is missing while {self.stored_documents} "
            f"documents are stored; run `rag repair` to restore it"
        )

    def check_writable(self) -> None:
        """Raise now, before any costly work, when a write is known to fail (read-only, full disk)."""
        self.store.check_writable()

    def refresh(self) -> None:
        """Show the last committed generation (cheap when it has not changed)."""
        self.manifest = self.store.manifest()
        self.generation = int(self.manifest.get("generation", 0))
        self.built = _build_info(self.manifest)
        self.stored_documents = self.store.count_documents() if self.built is None else 0
        self.engine.open(self.generation, self.built.dimension if self.built else 0, self.manifest)

    def require_manifest(self) -> None:
        """Raise IndexCorruptError (with ``rag repair``) when documents are stored without a manifest."""
        if self.manifest_missing:
            raise self._manifest_missing_error()

    def _reading(self, read: Callable[[], T]) -> T:
        """Run a read of the engine; if a writer's commit removed its files meanwhile, show the new generation."""
        for attempt in range(READ_RETRIES):
            self.require_manifest()
            try:
                return read()
            except IndexCorruptError:
                before = self.generation
                self.refresh()
                if self.generation == before or attempt == READ_RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    # -- reading (call ``refresh`` first to see other writers' commits) ---------------------
    def document(self, doc_id: str) -> Document:
        return self.store.document(doc_id)

    def documents(self) -> list[DocumentInfo]:
        return self.store.documents()

    def document_ids(self) -> list[str]:
        return self.store.document_ids()

    def chunks(self, doc_id: str) -> list[Chunk]:
        return self.store.chunks_for(doc_id)

    def chunk_ids(self, doc_ids: Sequence[str] | None = None) -> list[int]:
        return self.store.chunk_ids(doc_ids)

    def stored_ids(self, doc_ids: Sequence[str]) -> set[str]:
        return self.store.stored_ids(doc_ids)

    def dense(
        self, vector: np.ndarray, k: int, allowed: Sequence[int] | None = None, doc_ids: Sequence[str] | None = None
    ) -> Ranked:
        """``(chunk_id, cosine)`` of the ``k`` nearest chunks, best first (``allowed``: those of ``doc_ids``)."""
        return self._reading(lambda: self.engine.dense(vector, k, allowed, doc_ids))

    def keyword(
        self, text: str, k: int, allowed: Sequence[int] | None = None, doc_ids: Sequence[str] | None = None
    ) -> Ranked:
        """``(chunk_id, bm25_score)`` of the ``k`` best keyword matches, best first."""
        return self._reading(lambda: self.engine.keyword(text, k, allowed, doc_ids))

    def fused(
        self, vector: np.ndarray, text: str, k: int, rrf_k: int, allowed: Sequence[int] | None = None,
        doc_ids: Sequence[str] | None = None,
    ) -> Ranked | None:
        """Dense and keyword fused by the engine (reciprocal rank), or None when it leaves fusion to the caller."""
        return self._reading(lambda: self.engine.fused(vector, text, k, allowed, rrf_k, doc_ids))

    def vectors(self, ids: Sequence[int]) -> np.ndarray:
        return self._reading(lambda: self.engine.vectors_of(ids))

    def sample(self, n: int) -> tuple[list[Chunk], np.ndarray]:
        """Up to ``n`` stored chunks with their stored vectors (none when the chunks cannot be read)."""
        import numpy as np

        try:
            for ids, vectors in self.store.vectors(batch=n):
                chunks = self.store.chunks_by_id(ids.tolist())
                return [chunks[i] for i in ids.tolist()], vectors
        except RagError:
            pass
        return [], np.zeros((0, 0), dtype=np.float32)

    def hits(self, ranked: Sequence[tuple[int, float]]) -> list[Hit]:
        """``(chunk_id, score)`` pairs as Hits with their document's title and source, ranked 1, 2, ..."""
        chunks = self.store.chunks_by_id([cid for cid, _ in ranked])
        titles = self.store.titles(list({c.doc_id for c in chunks.values()}))
        hits: list[Hit] = []
        for cid, score in ranked:
            if cid in chunks:
                chunk = chunks[cid]
                title, source = titles[chunk.doc_id]
                hits.append(Hit(chunk=chunk, score=score, rank=len(hits) + 1, title=title, source=source))
        return hits

    # -- writing ------------------------------------------------------------------------------
    def commit(
        self, build: BuildInfo | None, write: Callable[[], None], incremental: bool = True, repairing: bool = False
    ) -> None:
        """Run ``write`` in one transaction; save the engine under a new generation, then commit.

        ``build`` None keeps the index's own record. ``incremental`` writes change the
        engine's current structures, so they are loaded before the store changes. Only
        ``repairing`` writes touch an index of an older schema or without its manifest.
        """
        with self.store.lock(self.lock_timeout_s):
            self.refresh()
            if not repairing and self.needs_upgrade:
                raise IndexMismatchError(self.upgrade_message())
            if not repairing and self.manifest_missing and incremental:
                raise self._manifest_missing_error()
            build = build or self.built
            if build is None:
                return
            new_generation = self.generation + 1
            self.engine.open(self.generation, build.dimension, self.manifest)
            try:
                if incremental:
                    self.engine.begin()
                with self.store.transaction():
                    write()
                    self.engine.fit()
                    self.engine.save(new_generation)
                    self.store.set_manifest(self._manifest(build, new_generation))
            except BaseException:
                self.engine.discard(new_generation)
                with contextlib.suppress(RagError):  # the error that stopped the write is the one to report
                    self.refresh()
                raise
            self.engine.committed(new_generation)
            self.generation, self.built, self.schema_version = new_generation, build, SCHEMA_VERSION

    def _manifest(self, build: BuildInfo, generation: int) -> dict[str, str]:
        return {
            "schema_version": str(SCHEMA_VERSION),
            "embedder": build.embedder,
            "embedder_backend": build.embedder_backend,
            "dimension": str(build.dimension),
            "max_chars": str(build.max_chars),
            "overlap_chars": str(build.overlap_chars),
            "generation": str(generation),
            **self.engine.manifest(),
        }

    def add(
        self, documents: Sequence[Document], chunks: Sequence[Chunk], vectors: np.ndarray, build: BuildInfo
    ) -> IngestReport:
        """Store new documents with their chunks and vectors (aligned, ``chunk.doc_id`` naming its document).

        A document with ``replaces_source`` replaces the stored documents of the
        same source. One added meanwhile by another writer counts as unchanged.
        """
        added: list[str] = []
        unchanged: list[str] = []
        replaced: list[str] = []
        count = 0
        now = _now()

        def write() -> None:
            nonlocal count
            for doc in documents:
                if doc.replaces_source:  # exactly this source's older versions, never one added just now
                    for old_id in self.store.ids_for_source(doc.source):
                        if old_id != doc.id and old_id not in added:
                            self.engine.remove(self.store.remove_document(old_id), [old_id])
                            replaced.append(old_id)
                if self.store.stored_ids([doc.id]):
                    unchanged.append(doc.id)
                    continue
                self.store.add_document(doc, now)
                added.append(doc.id)
            keep = [i for i, c in enumerate(chunks) if c.doc_id in added]
            ids = self.store.add_chunks([chunks[i] for i in keep], vectors[keep])
            self.engine.add(ids, vectors[keep], [chunks[i].text for i in keep])
            count = len(ids)

        self.commit(build, write)
        return IngestReport(added=tuple(added), unchanged=tuple(unchanged), replaced=tuple(replaced), chunks=count)

    def remove(self, doc_ids: Sequence[str]) -> int:
        """Delete documents from the store and the engine together; return how many chunks went."""
        for doc_id in doc_ids:
            self.store.document(doc_id)  # raises DocumentNotFoundError with a hint
        removed = 0

        def write() -> None:
            nonlocal removed
            for doc_id in doc_ids:
                removed += self.engine.remove(self.store.remove_document(doc_id), [doc_id])

        self.commit(None, write)
        return removed

    def replace_all(self, chunks: Sequence[Chunk], vectors: np.ndarray, build: BuildInfo) -> int:
        """Replace every chunk (of the stored documents) and the build record: a rebuild."""

        def write() -> None:
            self.store.clear_chunks_and_manifest()
            self.engine.reset(build.dimension)
            ids = self.store.add_chunks(chunks, vectors)
            self.engine.add(ids, vectors, [c.text for c in chunks])

        self.commit(build, write, incremental=False)
        return len(chunks)

    def repair(
        self, build: BuildInfo | None = None, rekey: Rekey | None = None, fill: Fill | None = None
    ) -> RepairReport:
        """Fix what the store still holds the truth for, in one commit, and rebuild the engine from it.

        Recreates dropped tables, upgrades an older schema with ``rekey``, gives
        documents without chunks theirs with ``fill``, and records ``build`` when
        the manifest is gone. A damaged database raises IndexCorruptError (with
        the ``.recover`` route) before anything changes.
        """
        self.store.integrity_problems()  # raises when the store itself is damaged beyond repair
        actions: list[str] = []

        def write() -> None:
            restored = self.store.restore_schema()
            if restored:
                actions.append(f"recreated the missing {', '.join(restored)}")
            if rekey is not None and self.needs_upgrade:
                renamed = rekey_documents(self.store, rekey)
                actions.append(f"upgraded schema {self.schema_version} to {SCHEMA_VERSION} ({renamed} ids changed)")
            refilled = refill_documents(self.store, fill) if fill is not None else 0
            if refilled:
                actions.append(f"chunked and embedded again {refilled} document(s) that had lost chunks")
            if self.manifest_missing:
                actions.append("restored the manifest")
            self.engine.rebuild()

        self.commit(build, write, incremental=False, repairing=True)
        return RepairReport(vectors=self.engine.describe().vectors, actions=tuple(actions))

    # -- checking -------------------------------------------------------------------------------
    def check(self) -> list[str]:
        """Every problem found, each with its fix, without repeats (empty when the index is whole).

        Each is looked for on its own, so one (a missing table) never hides the others.
        """
        problems: list[str] = []

        def collect(find: Callable[[], list[str] | None]) -> None:
            try:
                problems.extend(find() or [])
            except RagError as e:
                problems.append(str(e))

        collect(self.store.integrity_problems)
        collect(self.refresh)
        if self.needs_upgrade:
            problems.append(self.upgrade_message())
        collect(lambda: lost_chunks(self.store))
        if self.manifest_missing:
            collect(self.require_manifest)  # raises its message
        else:
            collect(lambda: self.engine.problems(set(self.store.chunk_ids())))
        return list(dict.fromkeys(problems))

    def status(self) -> StorageStatus:
        self.refresh()
        engine = self.engine.describe()
        return StorageStatus(
            documents=self.store.count_documents(),
            chunks=self.store.count_chunks(),
            vectors=engine.vectors,
            index_kind=engine.index_kind,
            index_detail=engine.index_detail,
            lexical=engine.lexical,
            lexical_chunks=engine.lexical_chunks,
            generation=self.generation,
            disk_bytes=self.store.disk_bytes() + self.engine.disk_bytes(),
            location=self.location,
            store=self.names[0],
            engine=self.names[1],
        )


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
