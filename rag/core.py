"""``Rag``: one object for an index, built from one Settings; every front end goes through it.

It owns the storage (rag/storage/), the embedder (rag/embedding.py) and the
generators (rag/generation/registry.py), and offers what a user does:
``ingest``, ``search``, ``ask``, ``brief``, ``documents``, ``document``,
``remove``, ``status``, ``check``, ``repair``, ``rebuild`` and ``migrate``. Its Settings
never change; what varies per request (the generator, ``k``, the documents,
the length, the topic) are call arguments.

Choices the storage does not make are made here: the embedder (the
configured one, kept on the vector family the index was built with),
refusing an index built with another embedder model, and chunking (with the
index's own chunk sizes once it has some). Reading files is the front ends'
job (rag/ingest/); ``ingest`` takes Documents.

>>> import tempfile
>>> from pathlib import Path
>>> with tempfile.TemporaryDirectory() as folder, Rag(Settings(index_dir=Path(folder))) as rag:
...     rag.documents(), rag.status().documents
([], 0)
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Sequence

from rag.chunking import chunk_document
from rag.errors import BadInputError, IndexMismatchError, IndexNotFoundError
from rag.generation.base import POINTS_BY_LENGTH, Generator, Length
from rag.generation.registry import GeneratorInfo, fallback_notice, generator_info, make_generator, resolve_name
from rag.settings import Settings
from rag.storage import index_exists, index_place, open_index
from rag.types import (
    Answer,
    BuildInfo,
    Chunk,
    Document,
    DocumentInfo,
    Hit,
    IndexStatus,
    IngestReport,
    MigrationReport,
    RepairReport,
    Retrieval,
)

if TYPE_CHECKING:
    import numpy as np

    from rag.embedding import Embedder, Progress

# A lost manifest is restored only when the configured embedder gives these stored chunks their
# stored vectors back (cosine at least this; the int8 and float32 backends of one model agree to ~0.99).
RECOVERY_SAMPLE = 4
RECOVERY_MIN_COSINE = 0.9


class Rag:
    """An open index with its embedder and generators.

    Args:
        settings: every choice; ``settings.index_dir`` is opened (created when missing).
        embedder: use this embedder instead of the configured one (tests, benchmarks).
        check: refuse an index built with another embedder model or an older schema (False only
            to rebuild or repair it).
        create: create the index when it is not there; False raises IndexNotFoundError instead
            (commands that only read must not leave an empty index behind a mistyped path).
    """

    def __init__(
        self, settings: Settings | None = None, *, embedder: Embedder | None = None, check: bool = True,
        create: bool = True,
    ) -> None:
        self.settings = settings or Settings()
        if not create and not index_exists(self.settings):
            place, option = index_place(self.settings)
            raise IndexNotFoundError(f"no index {place}; check {option}, or create one with `rag ingest PATH`")
        self.index = open_index(self.settings)
        self._given_embedder = embedder
        self._embedder = embedder
        self._generators: dict[str, Generator] = {}
        refusal = self._refusal()
        if check and refusal:
            self.index.close()
            raise IndexMismatchError(refusal)

    def close(self) -> None:
        self.index.close()

    def __enter__(self) -> Rag:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    @property
    def location(self) -> str:
        """Where the index is (its folder)."""
        return self.index.location

    # -- choices ------------------------------------------------------------------------
    def _refusal(self) -> str:
        """Why this index cannot be used as configured (an older schema, another embedder), or ''."""
        if self.index.needs_upgrade:
            return self.index.upgrade_message()
        built = self.index.built
        wanted = self.settings.embedder_model
        if built is not None and built.embedder and built.embedder != wanted:
            return (
                f"{self.location} was built with embedder {built.embedder!r}, not {wanted!r}; "
                f"run `rag ingest --rebuild` to rebuild it with the current settings, "
                f"or pass --embedder {built.embedder}"
            )
        return ""

    @property
    def embedder(self) -> Embedder:
        """The embedder: the configured one, on the vector family the index was built with."""
        if self._embedder is None:
            from rag.embedding import embedder_for_index

            built = self.index.built
            self._embedder = embedder_for_index(self.settings, built.embedder_backend if built else None)
        return self._embedder

    def generator(self, name: str | None = None) -> Generator:
        """The generator ``name`` ("auto", "extractive", "seq2seq"; default ``settings.generator``)."""
        concrete = resolve_name(name or self.settings.generator, self.settings.seq2seq_model)
        if concrete not in self._generators:
            self._generators[concrete] = make_generator(concrete, self.settings, self.embedder)
        return self._generators[concrete]

    def generators(self) -> GeneratorInfo:
        """What "auto" uses on this machine, and whether the seq2seq checkpoint is here."""
        return generator_info(self.settings)

    def _chunk_sizes(self) -> tuple[int, int]:
        """The index's own chunk sizes (those it was built with) win over the settings."""
        built = self.index.built
        if built is None:
            return self.settings.max_chars, self.settings.overlap_chars
        return built.max_chars, built.overlap_chars

    def _chunk(self, documents: Sequence[Document], sizes: tuple[int, int]) -> list[Chunk]:
        return [c for doc in documents for c in chunk_document(doc, *sizes)]

    # -- writing ------------------------------------------------------------------------
    def ingest(self, documents: Sequence[Document], progress: Progress | None = None) -> IngestReport:
        """Add documents: the same content again is a no-op, a newer version of a source replaces the old."""
        self.index.refresh()
        stored = self.index.stored_ids([d.id for d in documents])
        new: dict[str, Document] = {}
        unchanged: list[str] = []
        for doc in documents:
            if doc.id in new or doc.id in stored:
                unchanged.append(doc.id)
            else:
                new[doc.id] = doc
        if not new:
            return IngestReport(unchanged=tuple(unchanged))
        self.index.check_writable()  # before minutes of embedding, not after
        sizes = self._chunk_sizes()
        chunks = self._chunk(list(new.values()), sizes)
        vectors = self.embedder.encode([c.text for c in chunks], progress)
        built = self.index.built
        build = BuildInfo(
            embedder=self.settings.embedder_model, embedder_backend=self.embedder.backend,
            dimension=built.dimension if built else self.embedder.dimension,
            max_chars=sizes[0], overlap_chars=sizes[1],
        )
        report = self.index.add(list(new.values()), chunks, vectors, build)
        return IngestReport(
            added=report.added, unchanged=tuple(unchanged) + report.unchanged, replaced=report.replaced,
            chunks=report.chunks,
        )

    def rebuild(self, progress: Progress | None = None) -> int:
        """Re-chunk and re-embed every stored document with the configured settings and backend."""
        from rag.embedding import Embedder
        from rag.ingest.identity import upgraded_identity

        self.index.check_writable()
        if self.index.needs_upgrade:
            self.index.repair(rekey=upgraded_identity)
        self._embedder = self._given_embedder or Embedder(self.settings)
        self._generators.clear()
        documents = [self.index.document(i) for i in self.index.document_ids()]
        sizes = (self.settings.max_chars, self.settings.overlap_chars)
        chunks = self._chunk(documents, sizes)
        vectors = self.embedder.encode([c.text for c in chunks], progress)
        build = BuildInfo(self.settings.embedder_model, self.embedder.backend, self.embedder.dimension, *sizes)
        return self.index.replace_all(chunks, vectors, build)

    def remove(self, doc_ids: Sequence[str]) -> int:
        """Delete documents (store and search engine together); return how many chunks went."""
        return self.index.remove(doc_ids)

    def repair(self) -> RepairReport:
        """Fix the index from what its store holds: upgrade an older schema, recreate dropped tables,
        restore a lost manifest, chunk and embed documents left without chunks, and rebuild the
        search structures. Raises IndexCorruptError (saying how to recover) when the store itself
        is damaged."""
        from rag.ingest.identity import upgraded_identity

        self.index.check_writable()
        self.index.refresh()
        build = self._recovered_build() if self.index.manifest_missing else None
        return self.index.repair(build, rekey=upgraded_identity, fill=self._fill)

    def _fill(self, documents: Sequence[Document]) -> tuple[list[Chunk], np.ndarray]:
        """Chunks and vectors for stored documents that lost theirs, made as the index's own were."""
        built = self.index.built
        if built is not None and built.embedder != self.settings.embedder_model:
            raise IndexMismatchError(
                f"{self.location} was built with embedder {built.embedder!r}; run "
                f"`rag --embedder {built.embedder} repair` to embed its documents with it"
            )
        chunks = self._chunk(documents, self._chunk_sizes())
        return chunks, self.embedder.encode([c.text for c in chunks])

    def _recovered_build(self) -> BuildInfo:
        """A lost manifest's build record: the configured embedder, once it proves it made the stored vectors."""
        chunks, stored = self.index.sample(RECOVERY_SAMPLE)
        if chunks:
            again = self.embedder.encode([c.text for c in chunks])
            if again.shape != stored.shape or float((again * stored).sum(axis=1).min()) < RECOVERY_MIN_COSINE:
                raise IndexMismatchError(
                    f"{self.location}: the manifest is missing and the stored vectors were not made by "
                    f"{self.settings.embedder_model} ({self.embedder.backend}); run `rag --embedder MODEL "
                    f"--backend BACKEND repair` with the embedder that built the index"
                )
        return BuildInfo(
            embedder=self.settings.embedder_model, embedder_backend=self.embedder.backend,
            dimension=self.embedder.dimension, max_chars=self.settings.max_chars,
            overlap_chars=self.settings.overlap_chars,
        )

    # -- reading ------------------------------------------------------------------------
    def search(self, query: str, k: int | None = None, doc_ids: Sequence[str] | None = None) -> list[Hit]:
        """The ``k`` (default ``settings.top_k``) most relevant passages, optionally from ``doc_ids`` only."""
        return self.retrieve(query, k, doc_ids).hits

    def retrieve(self, query: str, k: int | None = None, doc_ids: Sequence[str] | None = None) -> Retrieval:
        """``search``'s hits with the cosines of the wider pool they were drawn from (for the abstention gate)."""
        from rag.retrieval import search

        k = self.settings.top_k if k is None else k
        return search(self.index, lambda q: self.embedder.encode_query(q), query, self.settings, k, doc_ids)

    def ask(
        self, question: str, doc_ids: Sequence[str] | None = None, k: int | None = None, generator: str | None = None
    ) -> Answer:
        """A cited answer to ``question`` (or an abstention), written by ``generator``."""
        from rag import pipeline

        requested = generator or self.settings.generator
        chosen = self.generator(requested)
        notice = fallback_notice(requested, chosen.name, self.settings.seq2seq_model)
        return pipeline.ask(self, chosen, question, doc_ids, k, notice)

    def brief(
        self, doc_ids: Sequence[str] | None = None, topic: str | None = None, length: Length = "medium",
        generator: str | None = None,
    ) -> Answer:
        """A cited briefing of ``doc_ids``, of the documents about ``topic``, or of the most recent ones."""
        from rag import pipeline

        if length not in POINTS_BY_LENGTH:
            raise BadInputError(f"unknown length {length!r}; choose short, medium or long")
        requested = generator or self.settings.generator
        chosen = self.generator(requested)
        notice = fallback_notice(requested, chosen.name, self.settings.seq2seq_model)
        return pipeline.brief(self, chosen, doc_ids, topic, length, notice)

    def documents(self) -> list[DocumentInfo]:
        return self.index.documents()

    def document(self, doc_id: str) -> Document:
        return self.index.document(doc_id)

    def chunks(self, doc_id: str) -> list[Chunk]:
        return self.index.chunks(doc_id)

    def check(self) -> list[str]:
        """Every problem of the index, each with its fix (empty when it is whole): rag/storage/index.py."""
        refusal = self._refusal()
        return list(dict.fromkeys(([refusal] if refusal else []) + self.index.check()))

    def status(self) -> IndexStatus:
        """Counts, how the index was built, where it runs, its size on disk."""
        storage = self.index.status()
        built = self.index.built
        max_chars, overlap = self._chunk_sizes()
        return IndexStatus(
            documents=storage.documents, chunks=storage.chunks, vectors=storage.vectors,
            embedder=built.embedder if built else self.settings.embedder_model,
            dimension=built.dimension if built else 0, device=self.embedder.device,
            index_kind=storage.index_kind, generation=storage.generation, disk_bytes=storage.disk_bytes,
            max_chars=max_chars, overlap_chars=overlap, index_detail=storage.index_detail,
            lexical=storage.lexical, lexical_chunks=storage.lexical_chunks,
            embedder_backend=built.embedder_backend if built else self.embedder.backend,
            store=storage.store, engine=storage.engine,
        )

    def migrate(self, store: str, engine: str, progress: Progress | None = None) -> MigrationReport:
        """Copy this index, as stored, into an empty ``store`` + ``engine`` (no re-embedding).

        ``store`` and ``engine`` take the forms of ``Settings.store`` and
        ``Settings.search_engine``; the copy is then checked like ``rag status --check``.
        """
        import time

        from rag.storage.migration import copy_index

        started = time.perf_counter()
        target_settings = self.settings.with_(store=store, search_engine=engine)
        target = open_index(target_settings)
        try:
            chunks = copy_index(self.index, target, progress)
            problems = target.check()
            documents, names = target.store.count_documents(), target.names
        finally:
            target.close()
        return MigrationReport(
            documents=documents, chunks=chunks, store=names[0], engine=names[1],
            seconds=time.perf_counter() - started, problems=tuple(problems),
        )


__all__ = ["Rag"]
