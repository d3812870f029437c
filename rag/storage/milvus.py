"""The Milvus search engine (``--engine milvus://HOST:PORT`` or ``milvus-lite:PATH.db``).

One collection per index holds, per chunk: its id (the primary key, the
store's chunk id), doc id, text, dense vector, the generation of the store
that wrote it, and a sparse vector made by Milvus's own BM25 function from
the text. Dense search is inner product on unit vectors (cosine; ``FLAT``,
exact, unless the URI asks ``?index=HNSW`` or another Milvus index), keyword
search is that BM25 (Milvus's standard tokenizer with rag's stopwords, no
stemming: not the same scores as the local engine's), hybrid search is
Milvus's RRF ranker, a document filter is ``doc_id in [...]`` and a removal
deletes by doc id. The same client code reaches Milvus Lite, the real engine
run for this process alone (``milvus-lite:PATH.db``), and a Milvus server or
cluster by URI; reads use Strong consistency, so every process sees a write
as soon as it is applied.

Milvus cannot join the store's transaction, so the store commits first
(rag/storage/index.py): inside the transaction ``save`` records the write's
changes (chunk ids to upsert, chunk and doc ids to delete) in the store's
outbox; after the commit ``committed`` applies them, reading each chunk's
vector and text back from the store, with idempotent upserts and deletes,
and clears the record. A crash between the two leaves the record: the next
write applies it first (``begin``), and ``rag repair`` rebuilds the
collection from the store. Meanwhile readers may miss the newest chunks,
but never see one the store lacks: every result is checked against the
store, which also supplies the vectors MMR uses. A repair or rebuild fills a
new collection before the commit that names it, then drops the old one; the
first write creates its collection before its commit too, so a committed
index always names a collection that exists.

Nothing is rebuilt silently. A collection missing while the store names it,
or (at the start of a write, once the outbox is applied) holding another
number of rows than the store has chunks, is damage: IndexCorruptError
naming ``rag repair``. There are no files to checksum here: ``problems``
(``rag status --check``) compares every row's id, doc id and generation with
the store (rag/storage/milvus_check.py) and a sample of rows' vectors and
text; Milvus verifies its own segments.
"""

from __future__ import annotations

import contextlib
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from rag.errors import BackendUnavailableError, IndexCorruptError, RagError
from rag.storage.base import EngineStatus, Ranked, Store
from rag.storage.milvus_check import collection_problems, count_rows, rows_for, scan_rows
from rag.storage.milvus_client import (
    BATCH,
    LEXICAL,
    TOPK_MAX,
    Changes,
    MilvusTarget,
    batches,
    connect,
    create_collection,
    failure,
    filter_expression,
    first_line,
    parse_target,
    release,
)

if TYPE_CHECKING:
    import numpy as np


class MilvusEngine:
    """Dense, BM25 and hybrid search in one Milvus collection per index (a ``SearchEngine``)."""

    def __init__(self, target: MilvusTarget, store: Store) -> None:
        self.target = target
        self.store = store
        self.generation = -1
        self.dimension = 0
        self.uid = ""  # names this index's collections: rag_<uid>_<suffix>
        self.collection = ""
        self._client: Any = None
        self._vectors: dict[int, np.ndarray] = {}  # the store's vectors of the last results, for MMR
        self._changes = Changes()
        self._rebuilt = ""  # a new collection being filled by this write
        self._created = ""  # the collection this write created (its first)

    # -- connection --------------------------------------------------------------------
    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = connect(self.target)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):  # closing a broken connection: nothing left to do
                self._client.close()
            self._client = None
            release(self.target)

    def _reconnect_later(self) -> None:
        """Drop a connection that failed: the next call connects afresh (the server may come back)."""
        self.close()

    def disk_bytes(self) -> int:
        if not self.target.lite:
            return 0  # a server's storage is its operator's to measure
        path = Path(self.target.uri)
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file())

    # -- showing a generation ------------------------------------------------------------
    def open(self, generation: int, dimension: int, recorded: Mapping[str, str]) -> None:
        self.generation, self.dimension = generation, dimension
        self.uid = recorded.get("milvus_index", self.uid)
        self.collection = recorded.get("milvus_collection", self.collection)

    def manifest(self) -> dict[str, str]:
        name = self._rebuilt or self.collection
        return {"index_kind": "milvus", "lexical": LEXICAL, "milvus_index": self.uid, "milvus_collection": name}

    def _new_name(self) -> str:
        """A new collection name of this index (its id made on first use)."""
        self.uid = self.uid or secrets.token_hex(6)
        return f"rag_{self.uid}_{secrets.token_hex(4)}"

    def _damaged(self, detail: str) -> IndexCorruptError:
        return IndexCorruptError(f"{self.target.label}: {detail}; run `rag repair` to rebuild it from the store")

    def no_collection(self) -> IndexCorruptError:
        return IndexCorruptError(
            f"{self.target.label} holds no collection for this index yet (it was searched by another engine); "
            f"run `rag repair` to build one from the store"
        )

    # -- reading -------------------------------------------------------------------------
    def dense(
        self, vector: np.ndarray, k: int, allowed: Sequence[int] | None, doc_ids: Sequence[str] | None = None
    ) -> Ranked:
        def run(name: str, expr: str) -> Any:
            return self.client.search(name, data=[vector.tolist()], anns_field="vector", limit=k, filter=expr,
                                      search_params={"metric_type": "IP"})

        return self._search(run, k, allowed, doc_ids)

    def keyword(
        self, text: str, k: int, allowed: Sequence[int] | None, doc_ids: Sequence[str] | None = None
    ) -> Ranked:
        if not text.strip():
            return []

        def run(name: str, expr: str) -> Any:
            return self.client.search(name, data=[text], anns_field="sparse", limit=k, filter=expr,
                                      search_params={"metric_type": "BM25"})

        return self._search(run, k, allowed, doc_ids)

    def fused(
        self, vector: np.ndarray, text: str, k: int, allowed: Sequence[int] | None, rrf_k: int,
        doc_ids: Sequence[str] | None = None,
    ) -> Ranked | None:
        if not text.strip():
            return self.dense(vector, k, allowed, doc_ids)
        from pymilvus import AnnSearchRequest, RRFRanker

        def run(name: str, expr: str) -> Any:
            requests = [
                AnnSearchRequest(data=[vector.tolist()], anns_field="vector", param={"metric_type": "IP"}, limit=k,
                                 expr=expr or None),
                AnnSearchRequest(data=[text], anns_field="sparse", param={"metric_type": "BM25"}, limit=k,
                                 expr=expr or None),
            ]
            return self.client.hybrid_search(name, requests, RRFRanker(rrf_k), limit=min(2 * k, TOPK_MAX))

        return self._search(run, k, allowed, doc_ids)

    def _search(
        self, run: Callable[[str, str], Any], k: int, allowed: Sequence[int] | None, doc_ids: Sequence[str] | None
    ) -> Ranked:
        """Run a search on the shown collection; keep the hits the store has, with their vectors."""
        if not self.dimension or k <= 0 or (allowed is not None and not allowed):
            return []
        if not self.collection:
            raise self.no_collection()
        expr = filter_expression(allowed, doc_ids)
        results = self.read(lambda name: run(name, expr))
        # Scores as Milvus gives them: cosine for dense, BM25 (positive) for keyword, RRF for hybrid.
        ranked = [(int(hit["id"]), float(hit["distance"])) for hit in results[0]]
        self._vectors = self.store.vectors_by_id([i for i, _ in ranked])
        return [(i, score) for i, score in ranked if i in self._vectors]

    def read(self, call: Callable[[str], Any]) -> Any:
        """``call(collection)``; after a failure, once more if a repair switched collections meanwhile or the
        collection needed loading (a restarted server). A missing collection is damage."""
        try:
            return call(self.collection)
        except Exception as first:
            name = self.store.manifest().get("milvus_collection", self.collection)
            if name == self.collection:
                if self.missing(name):
                    raise self._damaged(f"collection {name} is missing") from None
                try:
                    self.client.load_collection(name)
                except Exception as e:
                    raise BackendUnavailableError(
                        f"{self.target.label}: cannot read collection {name} ({first_line(first)})"
                    ) from e
            self.collection = name
        try:
            return call(self.collection)
        except Exception as e:
            raise BackendUnavailableError(f"{self.target.label}: cannot read collection ({first_line(e)})") from e

    def missing(self, name: str) -> bool:
        """Whether collection ``name`` does not exist (BackendUnavailableError when Milvus cannot be asked)."""
        client = self.client  # raises its own BackendUnavailableError
        try:
            return not client.has_collection(name)
        except Exception as e:
            self._reconnect_later()
            raise BackendUnavailableError(
                f"{self.target.label}: cannot reach Milvus ({first_line(e)}); check the URI and that Milvus runs"
            ) from e

    def vectors_of(self, ids: Sequence[int]) -> np.ndarray:
        import numpy as np

        missing = [i for i in ids if i not in self._vectors]
        if missing:
            self._vectors.update(self.store.vectors_by_id(missing))
        try:
            rows = [self._vectors[i] for i in ids]
        except KeyError as e:
            raise IndexCorruptError(f"chunk {e} is not in the store; run `rag repair`") from e
        return np.vstack(rows) if rows else np.zeros((0, self.dimension), dtype=np.float32)

    # -- writing (rag/storage/index.py calls these under the writers' lock) ---------------------
    def begin(self) -> None:
        """Refuse before the store changes when Milvus does not answer or its collection is damaged; apply
        what crashed writers left in the outbox; then collect this write's changes."""
        self._changes, self._created = Changes(), ""
        if not self.collection:
            if self.store.count_chunks():
                raise self.no_collection()
            return  # the first write: nothing applied yet
        if self.missing(self.collection):
            raise self._damaged(f"collection {self.collection} is missing")
        pending = self.store.pending_changes()
        for generation, text in pending:
            self._apply(generation, Changes.loads(text))
        if pending:
            self.store.clear_changes(pending[-1][0])
        rows, chunks = count_rows(self), self.store.count_chunks()
        if rows != chunks:
            raise self._damaged(f"collection {self.collection} holds {rows} rows where the store has {chunks} chunks")

    def add(self, ids: Sequence[int], vectors: np.ndarray, texts: Sequence[str]) -> None:
        self._changes.upsert.extend(int(i) for i in ids)

    def remove(self, ids: Sequence[int], doc_ids: Sequence[str] = ()) -> int:
        self._changes.delete.extend(int(i) for i in ids)
        self._changes.delete_docs.extend(doc_ids)
        return len(ids)

    def rebuild(self) -> None:
        self._rebuilt = self._rebuilt or self._new_name()

    def reset(self, dimension: int) -> None:
        self.dimension = dimension
        self.rebuild()

    def fit(self) -> None:
        """Milvus restructures its segments and indexes itself."""

    def save(self, generation: int) -> None:
        """Inside the store's transaction: fill a new collection (rebuilds) or record the changes."""
        if self._rebuilt:
            self._fill(self._rebuilt, generation)
            self.store.clear_changes(2**62)  # the new collection holds everything; nothing is pending
            return
        if not self.collection:  # the first write: its collection exists before the commit names it
            self.collection = self._created = self._new_name()
            self._guarded(lambda: self._create(self.collection), f"cannot create collection {self.collection}")
        if self._changes:
            self.store.record_changes(generation, self._changes.dumps())

    def discard(self, generation: int) -> None:
        for name in (self._rebuilt, self._created):
            if name:
                self._drop(name)
        if self._created:
            self.collection = ""
        self._changes, self._rebuilt, self._created, self.generation = Changes(), "", "", -1

    def committed(self, generation: int) -> None:
        """The store committed ``generation``: apply its changes, clear them; or drop replaced collections."""
        changes, self._changes, self._created = self._changes, Changes(), ""
        self.generation = generation
        if self._rebuilt:
            self.collection, self._rebuilt = self._rebuilt, ""
            self._drop_others()
        elif changes:
            self._apply(generation, changes)
            self.store.clear_changes(generation)

    def _guarded(self, write: Callable[[], None], doing: str) -> None:
        """Run a write to Milvus; its failure becomes a RagError (a full disk, Milvus unavailable)."""
        try:
            write()
        except Exception as e:
            if not isinstance(e, RagError):
                self._reconnect_later()
            raise failure(self.target, e, doing) from e

    def _apply(self, generation: int, changes: Changes) -> None:
        """Idempotent: deletes by doc id and by chunk id, then upserts read back from the store."""
        import json

        name = self.collection

        def write() -> None:
            for docs in batches(changes.delete_docs):
                self.client.delete(name, filter=f"doc_id in {json.dumps(list(docs))}")
            for ids in batches(changes.delete):
                self.client.delete(name, ids=list(ids))
            for ids in batches(sorted(set(changes.upsert))):
                rows = rows_for(self.store, ids, generation)
                if rows:
                    self.client.upsert(name, rows)

        self._guarded(write, f"the store committed generation {generation} but Milvus did not take it; searches "
                             f"miss that change until the next write or `rag repair` applies it")

    def _fill(self, name: str, generation: int) -> None:
        """Create ``name`` and insert every chunk of the store (as this transaction sees it)."""

        def write() -> None:
            self._drop(name)
            self._create(name)
            for ids, _ in self.store.vectors(BATCH):
                rows = rows_for(self.store, ids.tolist(), generation)
                if rows:
                    self.client.insert(name, rows)

        self._guarded(write, f"cannot fill collection {name}")

    def _create(self, name: str) -> None:
        create_collection(self.client, name, self.dimension, self.target.index_type)

    def _drop(self, name: str) -> None:
        with contextlib.suppress(Exception):  # left for the next rebuild to drop (its name marks it as ours)
            if self.client.has_collection(name):
                self.client.drop_collection(name)

    def _drop_others(self) -> None:
        """Drop this index's collections other than the shown one (replaced by a rebuild)."""
        try:
            names = self.client.list_collections()
        except Exception:  # the next rebuild drops them
            return
        for name in names:
            if name.startswith(f"rag_{self.uid}_") and name != self.collection:
                self._drop(name)

    # -- checking ------------------------------------------------------------------------
    def ids(self) -> set[int]:
        """Every chunk id in the collection."""
        return set(scan_rows(self)) if self.dimension and self.collection else set()

    def problems(self, stored: set[int]) -> list[str]:
        return collection_problems(self, stored)

    def describe(self) -> EngineStatus:
        if not self.dimension:
            return EngineStatus("milvus", f"{self.target.label}: empty", 0, "empty", 0)
        try:
            count = count_rows(self)
        except RagError as e:  # an outage or damage: status still answers (the check names it)
            return EngineStatus("milvus", f"{self.target.label}: cannot be read ({e})", 0, LEXICAL, 0)
        exact = " (exact)" if self.target.index_type == "FLAT" else ""
        detail = f"{self.target.label}, collection {self.collection}: {self.target.index_type} inner product{exact}"
        return EngineStatus("milvus", detail, count, f"Milvus BM25 ({LEXICAL}), hybrid by Milvus RRF", count)


__all__ = ["MilvusEngine", "MilvusTarget", "parse_target"]
