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
once. The schema version is checked on open.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Callable, Sequence

from rag.errors import BadInputError, IndexMismatchError
from rag.settings import SCHEMA_VERSION
from rag.storage.base import Ranked, SearchEngine, Store
from rag.types import BuildInfo, Chunk, Document, DocumentInfo, Hit, IngestReport, StorageStatus

if TYPE_CHECKING:
    import numpy as np


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
        if version is not None and int(version) != SCHEMA_VERSION:
            raise IndexMismatchError(
                f"{self.location} was built by schema version {version}, this rag uses {SCHEMA_VERSION}; "
                f"run `rag ingest --rebuild` to rebuild it with the current settings"
            )

    def refresh(self) -> None:
        """Show the last committed generation (cheap when it has not changed)."""
        self.manifest = self.store.manifest()
        self.generation = int(self.manifest.get("generation", 0))
        self.built = _build_info(self.manifest)
        self.engine.open(self.generation, self.built.dimension if self.built else 0, self.manifest)

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
        return self.engine.dense(vector, k, allowed, doc_ids)

    def keyword(
        self, text: str, k: int, allowed: Sequence[int] | None = None, doc_ids: Sequence[str] | None = None
    ) -> Ranked:
        """``(chunk_id, bm25_score)`` of the ``k`` best keyword matches, best first."""
        return self.engine.keyword(text, k, allowed, doc_ids)

    def fused(
        self, vector: np.ndarray, text: str, k: int, rrf_k: int, allowed: Sequence[int] | None = None,
        doc_ids: Sequence[str] | None = None,
    ) -> Ranked | None:
        """Dense and keyword fused by the engine (reciprocal rank), or None when it leaves fusion to the caller."""
        return self.engine.fused(vector, text, k, allowed, rrf_k, doc_ids)

    def vectors(self, ids: Sequence[int]) -> np.ndarray:
        return self.engine.vectors_of(ids)

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
    def _commit(self, build: BuildInfo | None, write: Callable[[], None], incremental: bool = True) -> None:
        """Run ``write`` in one transaction; save the engine under a new generation, then commit.

        ``build`` None keeps the index's own record. ``incremental`` writes change the
        engine's current structures, so they are loaded before the store changes.
        """
        with self.store.lock(self.lock_timeout_s):
            self.refresh()
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
                    self.store.set_manifest(self._manifest(build, new_generation))
                    self.engine.save(new_generation)
            except BaseException:
                self.engine.discard(new_generation)
                self.refresh()
                raise
            self.engine.committed(new_generation)
            self.generation, self.built = new_generation, build

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
                if doc.replaces_source:
                    for old_id in self.store.ids_for_source(doc.source):
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

        self._commit(build, write)
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

        self._commit(None, write)
        return removed

    def replace_all(self, chunks: Sequence[Chunk], vectors: np.ndarray, build: BuildInfo) -> int:
        """Replace every chunk (of the stored documents) and the build record: a rebuild."""

        def write() -> None:
            self.store.clear_chunks_and_manifest()
            self.engine.reset(build.dimension)
            ids = self.store.add_chunks(chunks, vectors)
            self.engine.add(ids, vectors, [c.text for c in chunks])

        self._commit(build, write, incremental=False)
        return len(chunks)

    def repair(self) -> int:
        """Rebuild the engine's structures from the store; return how many vectors they hold."""
        self._commit(None, self.engine.rebuild, incremental=False)
        return self.engine.describe().vectors

    def copy_to(self, target: Index, progress: Callable[[int, int], None] | None = None) -> int:
        """Copy every document, chunk and vector into the empty ``target``, as stored: a migration.

        Nothing is re-embedded or re-chunked: documents keep their ids and
        dates, chunks their offsets and vectors (under the target's new chunk
        ids). The source's writers wait meanwhile; the target gets it all in
        one commit. Returns how many chunks were copied.
        """
        with self.store.lock(self.lock_timeout_s):
            self.refresh()
            target.refresh()
            build = self.built
            if build is None:
                raise BadInputError(f"{self.location} holds no index to migrate; run `rag ingest` first")
            if target.built is not None or target.store.count_documents():
                raise BadInputError(
                    f"{target.location} already holds an index ({target.store.count_documents()} documents); "
                    f"migrate into an empty database, or remove its documents first"
                )
            total, done = self.store.count_chunks(), 0

            def write() -> None:
                nonlocal done
                target.engine.reset(build.dimension)
                for doc_id in self.store.document_ids():
                    doc = self.store.document(doc_id)
                    target.store.add_document(doc, doc.added_at)
                for ids, vectors in self.store.vectors():
                    chunks = self.store.chunks_by_id(ids.tolist())
                    ordered = [chunks[i] for i in ids.tolist()]
                    target.engine.add(target.store.add_chunks(ordered, vectors), vectors, [c.text for c in ordered])
                    done += len(ordered)
                    if progress is not None:
                        progress(done, total)

            target._commit(build, write, incremental=False)
        return done

    # -- checking -------------------------------------------------------------------------------
    def check(self) -> list[str]:
        """Disagreements between the store and the engine (empty when they agree), each with its fix."""
        self.refresh()
        return self.engine.problems(set(self.store.chunk_ids()))

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
