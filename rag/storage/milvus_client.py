"""Reaching Milvus, and the layout of a rag collection (for rag/storage/milvus.py).

``parse_target`` reads ``Settings.search_engine`` (``milvus://…`` or
``milvus-lite:PATH.db``), ``connect`` opens a client of its own (refusing in
one line a Milvus Lite folder another process holds), ``create_collection``
makes one index's collection, and ``Changes`` is one write's record in the
store's outbox.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence
from urllib.parse import parse_qs, urlsplit

from rag.errors import BackendUnavailableError
from rag.tokens import STOPWORDS

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


def clip(text: str) -> str:
    """``text`` cut to fit a VARCHAR (bytes of UTF-8), at a character boundary."""
    raw = text.encode("utf-8")
    return text if len(raw) <= TEXT_MAX_BYTES else raw[:TEXT_MAX_BYTES].decode("utf-8", "ignore")


def batches(items: Sequence[Any], size: int = BATCH) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def connect(target: MilvusTarget) -> tuple[Any, bool]:
    """A client of its own for ``target``, and whether the server is Milvus Lite's."""
    try:
        from pymilvus import MilvusClient
    except ImportError as e:
        raise BackendUnavailableError(
            f"{target.label} needs pymilvus (and milvus-lite for milvus-lite:); "
            f"install them with pip install -e '.[shared]'"
        ) from e
    if target.lite:
        _check_lite_free(target)
    try:
        # A connection of its own (not pymilvus's shared one), so closing it after an error
        # and connecting again really starts afresh when the server comes back.
        client = MilvusClient(uri=target.uri, token=target.token, db_name=target.db_name,
                              timeout=30, dedicated=True)
    except Exception as e:  # pymilvus raises its own and gRPC's errors
        raise BackendUnavailableError(
            f"{target.label}: cannot reach Milvus ({first_line(e)}); check the URI and that Milvus runs"
        ) from e
    if target.lite:
        _LITE_OPEN.add(str(Path(target.uri).absolute()))
    try:
        lite = str(client.get_server_version()).startswith("milvus_lite")
    except Exception:  # an older server without the call: a real Milvus
        lite = False
    return client, lite


def create_collection(client: Any, name: str, dimension: int, index_type: str) -> None:
    """One index's collection: id, doc id, generation, text, vector, and BM25 made from the text."""
    from pymilvus import DataType, Function, FunctionType

    schema = client.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("doc_id", DataType.VARCHAR, max_length=DOC_ID_MAX)
    schema.add_field("generation", DataType.INT64)
    schema.add_field("text", DataType.VARCHAR, max_length=TEXT_MAX_BYTES, enable_analyzer=True,
                     analyzer_params=ANALYZER)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["text"],
                                 output_field_names=["sparse"]))
    index = client.prepare_index_params()
    index.add_index("vector", index_type=index_type, metric_type="IP")
    index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
    client.create_collection(name, schema=schema, index_params=index, consistency_level="Strong")


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


def filter_expression(allowed: Sequence[int] | None, doc_ids: Sequence[str] | None) -> str:
    """A Milvus filter: by doc ids when given, else by chunk ids, else none.

    >>> filter_expression([3, 4], ["d1"]), filter_expression([3, 4], None), filter_expression(None, None)
    ('doc_id in ["d1"]', 'id in [3, 4]', '')
    """
    if doc_ids:
        return f"doc_id in {json.dumps(list(doc_ids))}"
    if allowed is not None:
        return f"id in {json.dumps([int(i) for i in allowed])}"
    return ""


def first_line(error: BaseException) -> str:
    """The gist of a pymilvus or gRPC error, one line."""
    text = str(getattr(error, "message", "") or error).strip()
    return text.splitlines()[0][:300] if text else type(error).__name__
