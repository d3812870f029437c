"""A Milvus collection against the store (for rag/storage/milvus.py): what ``rag status --check`` verifies.

A collection has no files to checksum, so ``collection_problems`` compares
it with the truth: every row's id, doc id and generation against the
store's chunks (a chunk missing, a row the store lacks, a row filed under
another document, a row from a generation the store has not reached, as
when the store is restored from an older backup), and a sample of
``SAMPLE`` rows' vectors and text against the store's. Comparing every
vector would move the whole index over the network; Milvus verifies its
own segments. ``count_rows`` and ``rows_for`` are the small reads the
engine shares with the check.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Protocol, Sequence

from rag.errors import IndexCorruptError, RagError
from rag.storage.milvus_client import BATCH, clip

if TYPE_CHECKING:
    from rag.storage.base import Store


class MilvusEngine(Protocol):
    """What the check reads of rag/storage/milvus.py's engine."""

    store: Store
    dimension: int
    collection: str
    generation: int

    @property
    def client(self) -> Any: ...
    def read(self, call: Callable[[str], Any]) -> Any: ...
    def missing(self, name: str) -> bool: ...
    def no_collection(self) -> IndexCorruptError: ...

SAMPLE = 64  # rows whose vector and text are compared with the store's
SCAN_BATCH = 10_000


def rows_for(store: Store, ids: Sequence[int], generation: int) -> list[dict[str, Any]]:
    """Milvus rows for those ``ids`` the store still has (vector and text read back from it)."""
    vectors = store.vectors_by_id(ids)
    chunks = store.chunks_by_id(ids)
    return [
        {"id": i, "doc_id": chunks[i].doc_id, "generation": generation, "text": clip(chunks[i].text),
         "vector": vectors[i].tolist()}
        for i in ids if i in chunks and i in vectors
    ]


def count_rows(engine: MilvusEngine, expr: str = "") -> int:
    """How many rows the shown collection holds (matching ``expr``)."""
    rows = engine.read(lambda name: engine.client.query(name, filter=expr, output_fields=["count(*)"]))
    return int(rows[0]["count(*)"]) if rows else 0


def scan_rows(engine: MilvusEngine) -> dict[int, tuple[str, int]]:
    """Every row's ``{id: (doc id, generation)}``."""

    def run(name: str) -> dict[int, tuple[str, int]]:
        found: dict[int, tuple[str, int]] = {}
        rows = engine.client.query_iterator(name, batch_size=SCAN_BATCH, filter="",
                                            output_fields=["id", "doc_id", "generation"])
        try:
            while batch := rows.next():
                found.update((int(r["id"]), (str(r["doc_id"]), int(r["generation"]))) for r in batch)
        finally:
            rows.close()
        return found

    result: dict[int, tuple[str, int]] = engine.read(run)
    return result


def _misfiled(engine: MilvusEngine, rows: dict[int, tuple[str, int]], common: list[int]) -> int:
    """How many of the ``common`` rows name another document than the store's chunk."""
    wrong = 0
    for start in range(0, len(common), BATCH * 10):
        chunks = engine.store.chunks_by_id(common[start : start + BATCH * 10])
        wrong += sum(1 for i, chunk in chunks.items() if rows[i][0] != chunk.doc_id)
    return wrong


def _differing(engine: MilvusEngine, common: list[int]) -> int:
    """How many of a sample of ``common`` rows hold another vector or text than the store's chunk."""
    import json

    import numpy as np

    sample = common[:: max(1, len(common) // SAMPLE)][:SAMPLE]
    if not sample:
        return 0
    rows = engine.read(lambda name: engine.client.query(
        name, filter=f"id in {json.dumps(sample)}", output_fields=["id", "vector", "text"]))
    vectors, chunks = engine.store.vectors_by_id(sample), engine.store.chunks_by_id(sample)
    held = {int(r["id"]): r for r in rows}
    return sum(
        1 for i in sample
        if i not in held or held[i]["text"] != clip(chunks[i].text)
        or not np.allclose(np.asarray(held[i]["vector"], np.float32), vectors[i], atol=1e-5)
    )


def collection_problems(engine: MilvusEngine, stored: set[int]) -> list[str]:
    """What disagrees between the collection and the store's chunk ids ``stored``, each with its fix."""
    problems: list[str] = []
    pending = engine.store.pending_changes()
    if pending:
        problems.append(
            f"{len(pending)} write(s) committed to the store (up to generation {pending[-1][0]}) are not yet in "
            f"Milvus; run `rag repair` (the next write applies them too)"
        )
    if not engine.dimension:
        return problems
    try:
        if not engine.collection:
            raise engine.no_collection()
        if engine.missing(engine.collection):
            return [*problems, f"Milvus collection {engine.collection} is missing; run `rag repair`"]
        rows = scan_rows(engine)
        found = set(rows)
        common = sorted(stored & found)
        if stored != found:
            problems.append(f"{len(stored - found)} chunks missing from Milvus, {len(found - stored)} Milvus ids "
                            f"with no chunk; run `rag repair`")
        misfiled = _misfiled(engine, rows, common)
        if misfiled:
            problems.append(f"{misfiled} Milvus rows name another document than the store; run `rag repair`")
        newer = sum(1 for _, generation in rows.values() if generation > engine.generation)
        if newer:
            problems.append(
                f"{newer} Milvus rows come from a generation after the store's ({engine.generation}), as when the "
                f"store is restored from an older backup; run `rag repair`"
            )
        differing = _differing(engine, common)
        if differing:
            problems.append(f"{differing} of {min(SAMPLE, len(common))} sampled Milvus rows hold another vector or "
                            f"text than the store; run `rag repair`")
    except RagError as e:
        problems.append(str(e))
    return problems
