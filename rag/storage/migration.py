"""Copying an index into another store and engine as stored: ``rag migrate`` (``Rag.migrate``, rag/core.py).

Nothing is re-embedded or re-chunked: documents keep their ids and dates,
chunks their offsets and vectors (under the target's new chunk ids), and the
target records the source's build (embedder, dimension, chunk sizes). The
source's writers wait meanwhile (its lock is held; readers go on); the
target gets everything in one commit of its own, so a copy cut short leaves
it as empty as it was. The target must be empty.
"""

from __future__ import annotations

from typing import Callable

from rag.errors import BadInputError
from rag.storage.index import Index

Progress = Callable[[int, int], None]


def copy_index(source: Index, target: Index, progress: Progress | None = None) -> int:
    """Copy every document, chunk and vector of ``source`` into the empty ``target``; return how many chunks."""
    with source.store.lock(source.lock_timeout_s):
        source.refresh()
        target.refresh()
        build = source.built
        if build is None:
            raise BadInputError(f"{source.location} holds no index to migrate; run `rag ingest` first")
        if target.built is not None or target.store.count_documents():
            raise BadInputError(
                f"{target.location} already holds an index ({target.store.count_documents()} documents); "
                f"migrate into an empty database, or remove its documents first"
            )
        total, done = source.store.count_chunks(), 0

        def write() -> None:
            nonlocal done
            target.engine.reset(build.dimension)
            for doc_id in source.store.document_ids():
                doc = source.store.document(doc_id)
                target.store.add_document(doc, doc.added_at)
            for ids, vectors in source.store.vectors():
                chunks = source.store.chunks_by_id(ids.tolist())
                ordered = [chunks[i] for i in ids.tolist()]
                target.engine.add(target.store.add_chunks(ordered, vectors), vectors, [c.text for c in ordered])
                done += len(ordered)
                if progress is not None:
                    progress(done, total)

        target.commit(build, write, incremental=False)
    return done
