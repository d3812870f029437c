"""Reaching Milvus, and the layout of a rag collection (for rag/storage/milvus.py).

``parse_target`` reads ``Settings.search_engine`` (``milvus://…`` or
``milvus-lite:PATH.db``), ``connect`` opens a client of its own (refusing in
one line a Milvus Lite file another process holds), ``release`` lets go of
it, ``create_collection`` makes one index's collection, and ``Changes`` is
one write's record in the store's outbox.

For ``milvus-lite:`` the server is the real Milvus engine that the
milvus-lite package bundles, started for this process by
rag/storage/milvus_lite.py; ``release`` stops it with the last client.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence
from urllib.parse import parse_qs, urlsplit

from rag.errors import BackendUnavailableError, RagError
from rag.storage.failures import write_error
from rag.tokens import STOPWORDS

LITE = "milvus-lite:"
TOPK_MAX = 16_384  # Milvus's largest limit per search
BATCH = 1_000  # rows per upsert and per read from the store
DOC_ID_MAX = 512
TEXT_MAX_BYTES = 65_535  # a VARCHAR's limit; only BM25 reads the text, chunks are far shorter
LEXICAL = "milvus-bm25"
ANALYZER = {"tokenizer": "standard", "filter": ["lowercase", {"type": "stop", "stop_words": sorted(STOPWORDS)}]}
LITE_NAME = re.compile(r"[a-zA-Z0-9.\-_]{1,36}")  # the file names Milvus Lite accepts


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
        path = Path(spec[len(LITE):]).expanduser()
        if path.suffix != ".db" or not LITE_NAME.fullmatch(path.name):
            raise BackendUnavailableError(
                f"{spec}: a Milvus Lite path must end in .db, in a name of at most 36 letters, digits, '.', '-' "
                f"or '_' (Milvus Lite's rule), e.g. milvus-lite:index/milvus.db"
            )
        return MilvusTarget(uri=str(path.absolute()), label=spec)
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


def connect(target: MilvusTarget) -> Any:
    """A client of its own for ``target`` (for Milvus Lite: its server for this process, started once)."""
    try:
        from pymilvus import MilvusClient
    except ImportError as e:
        raise BackendUnavailableError(
            f"{target.label} needs pymilvus (and milvus-lite for milvus-lite:); "
            f"install them with pip install -e '.[shared]'"
        ) from e
    uri = target.uri
    if target.lite:
        from rag.storage import milvus_lite

        try:
            uri = milvus_lite.start(Path(target.uri), target.label)
        except OSError as e:  # its folder cannot be made or written
            raise failure(target, e, f"cannot start Milvus Lite on {target.uri}") from e
    try:
        # A connection of its own (not pymilvus's shared one), so closing it after an error
        # and connecting again really starts afresh when the server comes back.
        return MilvusClient(uri=uri, token=target.token, db_name=target.db_name, timeout=30, dedicated=True)
    except Exception as e:  # pymilvus raises its own and gRPC's errors
        release(target)
        raise BackendUnavailableError(
            f"{target.label}: cannot reach Milvus ({first_line(e)}); check the URI and that Milvus runs"
        ) from e


def release(target: MilvusTarget) -> None:
    """A client of ``target`` closed: for Milvus Lite, the last one of this process stops its server."""
    if target.lite:
        from rag.storage import milvus_lite

        milvus_lite.stop(Path(target.uri))


def failure(target: MilvusTarget, e: Exception, doing: str) -> RagError:
    """The RagError for a failed write: a full disk or read-only folder of Milvus Lite's file, else unavailable."""
    if isinstance(e, RagError):
        return e
    local = write_error(e, Path(target.uri).parent) if target.lite else None
    return local or BackendUnavailableError(f"{target.label}: {doing} ({first_line(e)})")


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
