"""The Milvus search engine (``--engine milvus://HOST:PORT`` or ``milvus-lite:PATH.db``).

One collection per index holds, per chunk: its id (the primary key, the
store's chunk id), doc id, text, dense vector, the generation of the store
that wrote it, and a sparse vector made by Milvus's own BM25 function from
the text. Dense search is inner product on unit vectors (cosine; ``FLAT``,
exact, unless the URI asks ``?index=HNSW`` or another Milvus index), keyword
search is that BM25 (Milvus's standard tokenizer with rag's stopwords, no
stemming: not the same scores as the local engine's), hybrid search is
Milvus's RRF ranker, a document filter is ``doc_id in [...]`` and a removal
deletes by doc id. The same client code reaches Milvus Lite in this process
(``milvus-lite:PATH.db``: one process at a time) and a Milvus server or
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
new collection before the commit that names it, then drops the old one.
"""

from __future__ import annotations

import contextlib
import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence
from urllib.parse import parse_qs, urlsplit

from rag.errors import BackendUnavailableError, IndexCorruptError
from rag.storage.base import EngineStatus, Ranked, Store
from rag.tokens import STOPWORDS

if TYPE_CHECKING:
    import numpy as np

LITE = "milvus-lite:"
TOPK_MAX = 16_384  # Milvus's largest limit per search
BATCH = 1_000  # rows per upsert and per read from the store
DOC_ID_MAX = 512
TEXT_MAX_BYTES = 65_535  # a VARCHAR's limit; only BM25 reads the text, chunks are far shorter
LEXICAL = "milvus-bm25"
ANALYZER = {"tokenizer": "standard", "filter": ["lowercase", {"type": "stop", "stop_words": sorted(STOPWORDS)}]}


@dataclass(frozen=True)
class MilvusTarget:
    """Where the engine's collections live, parsed from ``Settings.search_engine``."""

    uri: str  # what pymilvus connects to
    label: str  # shown to users: no password
    token: str = ""
    db_name: str = ""
    index_type: str = "FLAT"

    @property
    def lite(self) -> bool:
        return self.uri.endswith(".db")


def parse_target(spec: str) -> MilvusTarget:
    """``milvus://[USER:PASSWORD@]HOST:PORT[/DATABASE][?index=TYPE]`` or ``milvus-lite:PATH.db``.

    >>> t = parse_target("milvus://rag:pw@milvus.internal:19530/news?index=HNSW")
    >>> t.uri, t.label, t.token, t.db_name, t.index_type
    ('http://milvus.internal:19530', 'milvus://milvus.internal:19530/news', 'rag:pw', 'news', 'HNSW')
    >>> parse_target("milvus-lite:index/milvus.db").label
    'milvus-lite:index/milvus.db'
    """
    if spec.startswith(LITE):
        path = spec[len(LITE):]
        if not path.endswith(".db"):
            raise BackendUnavailableError(
                f"{spec}: a Milvus Lite path must end in .db (its data folder), e.g. milvus-lite:index/milvus.db"
            )
        return MilvusTarget(uri=str(Path(path).expanduser()), label=spec)
    parts = urlsplit(spec)
    if parts.scheme != "milvus" or not parts.hostname:
        raise BackendUnavailableError(f"{spec}: expected milvus://HOST:PORT (or milvus-lite:PATH.db)")
    port = parts.port or 19530
    token = f"{parts.username}:{parts.password or ''}" if parts.username else ""
    db_name = parts.path.strip("/")
    index_type = parse_qs(parts.query).get("index", ["FLAT"])[0].upper()
    label = f"milvus://{parts.hostname}:{port}{'/' + db_name if db_name else ''}"
    return MilvusTarget(f"http://{parts.hostname}:{port}", label, token, db_name, index_type)


@dataclass
class Changes:
    """One write's changes, as recorded in the store's outbox."""

    upsert: list[int] = field(default_factory=list)
    delete: list[int] = field(default_factory=list)
    delete_docs: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.upsert or self.delete or self.delete_docs)

    def dumps(self) -> str:
        return json.dumps({"upsert": self.upsert, "delete": self.delete, "delete_docs": self.delete_docs})

    @classmethod
    def loads(cls, text: str) -> Changes:
        data = json.loads(text)
        return cls([int(i) for i in data["upsert"]], [int(i) for i in data["delete"]], list(data["delete_docs"]))


def _clip(text: str) -> str:
    """``text`` cut to fit a VARCHAR (bytes of UTF-8), at a character boundary."""
    raw = text.encode("utf-8")
    return text if len(raw) <= TEXT_MAX_BYTES else raw[:TEXT_MAX_BYTES].decode("utf-8", "ignore")


def _batches(items: Sequence[Any], size: int = BATCH) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


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

    # -- connection --------------------------------------------------------------------
    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = self._connect()
        return self._client

    def _connect(self) -> Any:
        try:
            from pymilvus import MilvusClient
        except ImportError as e:
            raise BackendUnavailableError(
                f"{self.target.label} needs pymilvus (and milvus-lite for milvus-lite:); "
                f"install them with pip install -e '.[shared]'"
            ) from e
        if self.target.lite:
            _check_lite_free(self.target)
        try:
            # A connection of its own (not pymilvus's shared one), so closing it after an error
            # and connecting again really starts afresh when the server comes back.
            client = MilvusClient(uri=self.target.uri, token=self.target.token, db_name=self.target.db_name,
                                  timeout=30, dedicated=True)
        except Exception as e:  # pymilvus raises its own and gRPC's errors
            raise BackendUnavailableError(
                f"{self.target.label}: cannot reach Milvus ({_first_line(e)}); check the URI and that Milvus runs"
            ) from e
        if self.target.lite:
            _LITE_OPEN.add(str(Path(self.target.uri).absolute()))
        return client

    def close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):  # closing a broken connection: nothing left to do
                self._client.close()
            self._client = None

    def disk_bytes(self) -> int:
        if not self.target.lite:
            return 0  # a server's storage is its operator's to measure
        files = Path(self.target.uri).rglob("*")
        return sum(p.stat().st_size for p in files if p.is_file())

    # -- showing a generation ------------------------------------------------------------
    def open(self, generation: int, dimension: int, recorded: Mapping[str, str]) -> None:
        self.generation, self.dimension = generation, dimension
        self.uid = recorded.get("milvus_index", self.uid)
        self.collection = recorded.get("milvus_collection", self.collection)

    def manifest(self) -> dict[str, str]:
        if not self.uid:
            self.uid = secrets.token_hex(6)
        if not self.collection:
            self.collection = self._new_name()
        name = self._rebuilt or self.collection
        return {"index_kind": "milvus", "lexical": LEXICAL, "milvus_index": self.uid, "milvus_collection": name}

    def _new_name(self) -> str:
        return f"rag_{self.uid}_{secrets.token_hex(4)}"

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
        expr = _filter(allowed, doc_ids)
        results = self._read(lambda: run(self.collection, expr), [[]])
        ranked = [(int(hit["id"]), abs(float(hit["distance"]))) for hit in results[0]]
        self._vectors = self.store.vectors_by_id([i for i, _ in ranked])
        return [(i, score) for i, score in ranked if i in self._vectors]

    def _read(self, call: Callable[[], Any], empty: Any) -> Any:
        """``call()``; after a failure, once more if a repair switched collections meanwhile or the
        collection needed loading (a restarted server); ``empty`` when it does not exist yet."""
        try:
            return call()
        except Exception as first:
            name = self.store.manifest().get("milvus_collection", self.collection)
            if name == self.collection:
                if self._missing(name):
                    return empty  # nothing applied yet
                try:
                    self.client.load_collection(name)
                except Exception as e:
                    raise BackendUnavailableError(
                        f"{self.target.label}: cannot read collection {name} ({_first_line(first)})"
                    ) from e
            self.collection = name
        try:
            return call()
        except Exception as e:
            raise BackendUnavailableError(f"{self.target.label}: cannot read collection ({_first_line(e)})") from e

    def _missing(self, name: str) -> bool:
        client = self.client  # raises its own BackendUnavailableError
        try:
            return not client.has_collection(name)
        except Exception as e:
            self.close()  # connect again next time: the server may come back
            raise BackendUnavailableError(
                f"{self.target.label}: cannot reach Milvus ({_first_line(e)}); check the URI and that Milvus runs"
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
        """Make sure Milvus answers (else refuse before the store commits anything), apply what
        crashed writers left in the outbox, then collect this write's changes."""
        self._changes = Changes()
        if self.collection:
            self._missing(self.collection)
        pending = self.store.pending_changes()
        for generation, text in pending:
            self._apply(generation, Changes.loads(text))
        if pending:
            self.store.clear_changes(pending[-1][0])

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
        elif self._changes:
            self.store.record_changes(generation, self._changes.dumps())

    def discard(self, generation: int) -> None:
        if self._rebuilt:
            self._drop(self._rebuilt)
        self._changes, self._rebuilt, self.generation = Changes(), "", -1

    def committed(self, generation: int) -> None:
        """The store committed ``generation``: apply its changes, clear them; or drop replaced collections."""
        changes, self._changes = self._changes, Changes()
        self.generation = generation
        if self._rebuilt:
            self.collection, self._rebuilt = self._rebuilt, ""
            self._drop_others()
        elif changes:
            self._apply(generation, changes)
            self.store.clear_changes(generation)

    def _apply(self, generation: int, changes: Changes) -> None:
        """Idempotent: deletes by doc id and by chunk id, then upserts read back from the store."""
        name = self.collection
        try:
            if self._missing(name):
                self._create(name)
            for docs in _batches(changes.delete_docs):
                self.client.delete(name, filter=f"doc_id in {json.dumps(list(docs))}")
            for ids in _batches(changes.delete):
                self.client.delete(name, ids=list(ids))
            for ids in _batches(sorted(set(changes.upsert))):
                rows = self._rows(ids, generation)
                if rows:
                    self.client.upsert(name, rows)
        except BackendUnavailableError:
            raise
        except Exception as e:
            self.close()
            raise BackendUnavailableError(
                f"{self.target.label}: the store committed generation {generation} but Milvus did not take it "
                f"({_first_line(e)}); searches miss that change until the next write or `rag repair` applies it"
            ) from e

    def _rows(self, ids: Sequence[int], generation: int) -> list[dict[str, Any]]:
        """Milvus rows for those ``ids`` the store still has (vector and text read back from it)."""
        vectors = self.store.vectors_by_id(ids)
        chunks = self.store.chunks_by_id(ids)
        return [
            {"id": i, "doc_id": chunks[i].doc_id, "generation": generation, "text": _clip(chunks[i].text),
             "vector": vectors[i].tolist()}
            for i in ids if i in chunks and i in vectors
        ]

    def _fill(self, name: str, generation: int) -> None:
        """Create ``name`` and insert every chunk of the store (as this transaction sees it)."""
        try:
            self._drop(name)
            self._create(name)
            for ids, _ in self.store.vectors(BATCH):
                rows = self._rows(ids.tolist(), generation)
                if rows:
                    self.client.insert(name, rows)
        except BackendUnavailableError:
            raise
        except Exception as e:
            raise BackendUnavailableError(
                f"{self.target.label}: cannot fill collection {name} ({_first_line(e)})"
            ) from e

    def _create(self, name: str) -> None:
        from pymilvus import DataType, Function, FunctionType

        schema = self.client.create_schema(auto_id=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("doc_id", DataType.VARCHAR, max_length=DOC_ID_MAX)
        schema.add_field("generation", DataType.INT64)
        schema.add_field("text", DataType.VARCHAR, max_length=TEXT_MAX_BYTES, enable_analyzer=True,
                         analyzer_params=ANALYZER)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=self.dimension)
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        schema.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["text"],
                                     output_field_names=["sparse"]))
        index = self.client.prepare_index_params()
        index.add_index("vector", index_type=self.target.index_type, metric_type="IP")
        index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
        self.client.create_collection(name, schema=schema, index_params=index, consistency_level="Strong")

    def _drop(self, name: str) -> None:
        try:
            if self.client.has_collection(name):
                self.client.drop_collection(name)
        except BackendUnavailableError:
            raise
        except Exception:  # left for the next repair to drop (its name marks it as this index's)
            pass

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
        if not self.dimension:
            return set()

        def scan() -> set[int]:
            found: set[int] = set()
            rows = self.client.query_iterator(self.collection, batch_size=10_000, filter="", output_fields=["id"])
            while batch := rows.next():
                found.update(int(row["id"]) for row in batch)
            rows.close()
            return found

        return set(self._read(scan, set()))

    def _count(self, expr: str = "") -> int:
        if not self.dimension:
            return 0
        rows = self._read(lambda: self.client.query(self.collection, filter=expr, output_fields=["count(*)"]), [])
        return int(rows[0]["count(*)"]) if rows else 0

    def problems(self, stored: set[int]) -> list[str]:
        problems: list[str] = []
        pending = self.store.pending_changes()
        if pending:
            problems.append(
                f"{len(pending)} write(s) committed to the store (up to generation {pending[-1][0]}) are not yet in "
                f"Milvus; run `rag repair` (the next write applies them too)"
            )
        if stored and self._missing(self.collection):
            return [*problems, f"Milvus collection {self.collection} is missing; run `rag repair`"]
        found = self.ids()
        if stored != found:
            problems.append(
                f"{len(stored - found)} chunks missing from Milvus, {len(found - stored)} Milvus ids with no chunk; "
                f"run `rag repair`"
            )
        newer = self._count(f"generation > {self.generation}")
        if newer:
            problems.append(
                f"{newer} Milvus rows come from a generation after the store's ({self.generation}), as when the "
                f"store is restored from an older backup; run `rag repair`"
            )
        return problems

    def describe(self) -> EngineStatus:
        if not self.dimension:
            return EngineStatus("milvus", f"{self.target.label}: empty", 0, "empty", 0)
        count = self._count()
        exact = " (exact)" if self.target.index_type == "FLAT" else ""
        detail = f"{self.target.label}, collection {self.collection}: {self.target.index_type} inner product{exact}"
        return EngineStatus("milvus", detail, count, f"Milvus BM25 ({LEXICAL}), hybrid by Milvus RRF", count)


_LITE_OPEN: set[str] = set()  # Milvus Lite folders this process serves (pymilvus keeps one server per folder)


def _check_lite_free(target: MilvusTarget) -> None:
    """Refuse clearly when another process holds a Milvus Lite folder (it serves one process at a time)."""
    import fcntl

    folder = Path(target.uri).absolute()
    if str(folder) in _LITE_OPEN or not (folder / "LOCK").exists():
        return
    with open(folder / "LOCK", "a") as lock:
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise BackendUnavailableError(
                f"{target.label}: another process has this Milvus Lite folder open (Milvus Lite serves one "
                f"process); to share it, serve it with `python -m milvus_lite server --data-dir {folder} "
                f"--port 19530` and use --engine milvus://127.0.0.1:19530"
            ) from None
        fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def _filter(allowed: Sequence[int] | None, doc_ids: Sequence[str] | None) -> str:
    """A Milvus filter: by doc ids when given, else by chunk ids, else none.

    >>> _filter([3, 4], ["d1"]), _filter([3, 4], None), _filter(None, None)
    ('doc_id in ["d1"]', 'id in [3, 4]', '')
    """
    if doc_ids:
        return f"doc_id in {json.dumps(list(doc_ids))}"
    if allowed is not None:
        return f"id in {json.dumps([int(i) for i in allowed])}"
    return ""


def _first_line(error: BaseException) -> str:
    """The gist of a pymilvus or gRPC error, one line."""
    text = str(getattr(error, "message", "") or error).strip()
    return text.splitlines()[0][:300] if text else type(error).__name__
