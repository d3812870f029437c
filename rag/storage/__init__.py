"""Storage: where documents, chunks and vectors live, and the indexes that search them.

``open_index(settings)`` opens the store named by ``Settings.store`` and the
search engine named by ``Settings.search_engine`` and keeps them in step
(rag/storage/index.py). One backend per file:

- stores (rag/storage/base.py ``Store``): ``sqlite`` (the index folder,
  ``Settings.index_dir``) or ``sqlite:PATH`` (rag/storage/sqlite.py), and
  ``postgresql://USER@HOST:PORT/DATABASE`` (rag/storage/postgres.py);
- search engines (``SearchEngine``): ``local``, FAISS + BM25 files in the
  index folder (rag/storage/local.py), and ``milvus://HOST:PORT`` or
  ``milvus-lite:PATH.db`` (rag/storage/milvus.py).

The index folder is the ``sqlite:`` path when there is one, else
``Settings.index_dir``. An unknown name raises UnknownBackendError listing
the known forms. Nothing here chooses an embedder or a chunker: rag/core.py does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from rag.errors import BackendUnavailableError, UnknownBackendError
from rag.settings import Settings
from rag.storage.base import SearchEngine, Store
from rag.storage.index import Index

STORE_FORMS = "sqlite, sqlite:PATH or postgresql://USER@HOST:PORT/DATABASE"
ENGINE_FORMS = "local, milvus://HOST:PORT or milvus-lite:PATH.db"


def backend_name(spec: str) -> str:
    """The backend a store or engine setting names.

    >>> [backend_name(s) for s in ("sqlite", "sqlite:/srv/news", "postgresql://db/news", "milvus-lite:x.db")]
    ['sqlite', 'sqlite', 'postgresql', 'milvus-lite']
    """
    return spec.split(":", 1)[0].strip().lower()


def index_folder(settings: Settings) -> Path:
    """The index folder: the ``sqlite:PATH`` when the store names one, else ``Settings.index_dir``."""
    if backend_name(settings.store) == "sqlite" and ":" in settings.store:
        return Path(settings.store.split(":", 1)[1]).expanduser()
    return Path(settings.index_dir)


def _sqlite(settings: Settings) -> Store:
    from rag.storage.sqlite import SqliteStore

    return SqliteStore(index_folder(settings))


def _need_psycopg() -> None:
    try:
        import psycopg  # noqa: F401
    except ImportError as e:
        raise BackendUnavailableError(
            "a postgresql:// store needs psycopg; install it with pip install -e '.[shared]'"
        ) from e


def _postgres(settings: Settings) -> Store:
    from rag.storage.postgres import PostgresStore

    _need_psycopg()
    return PostgresStore(settings.store)


def _local(settings: Settings, store: Store) -> SearchEngine:
    from rag.storage.local import LocalEngine

    return LocalEngine(index_folder(settings), store, settings.ann_threshold, settings.ann_nprobe)


def _milvus(settings: Settings, store: Store) -> SearchEngine:
    from rag.storage.milvus import MilvusEngine, parse_target

    return MilvusEngine(parse_target(settings.search_engine), store)


def _sqlite_exists(settings: Settings) -> bool:
    from rag.storage.sqlite import DB_NAME

    return (index_folder(settings) / DB_NAME).is_file()


def _postgres_exists(settings: Settings) -> bool:
    from rag.storage.postgres import holds_index

    _need_psycopg()
    return holds_index(settings.store)


STORES: dict[str, Callable[[Settings], Store]] = {"sqlite": _sqlite, "postgresql": _postgres, "postgres": _postgres}
# Whether the index a store would open is already there (checked without creating anything).
EXISTS: dict[str, Callable[[Settings], bool]] = {
    "sqlite": _sqlite_exists, "postgresql": _postgres_exists, "postgres": _postgres_exists,
}
ENGINES: dict[str, Callable[[Settings, Store], SearchEngine]] = {
    "local": _local, "milvus": _milvus, "milvus-lite": _milvus,
}


def labels(settings: Settings) -> tuple[str, str]:
    """How ``rag status`` names the store and the engine (never with a password).

    >>> labels(Settings(index_dir=Path("/srv/news")))
    ('sqlite:/srv/news', 'local:/srv/news')
    >>> labels(Settings(store="postgresql://rag:pw@db:5432/news", search_engine="milvus://m:19530"))
    ('postgresql://rag@db:5432/news', 'milvus://m:19530')
    """
    folder = index_folder(settings).expanduser().absolute()
    if backend_name(settings.store) == "sqlite":
        store = f"sqlite:{folder}"
    else:
        from rag.storage.postgres import public_url

        store = public_url(settings.store)
    if backend_name(settings.search_engine) == "local":
        return store, f"local:{folder}"
    from rag.storage.milvus import parse_target

    return store, parse_target(settings.search_engine).label


def check_names(settings: Settings) -> None:
    """Raise UnknownBackendError unless both settings name known backends."""
    if backend_name(settings.store) not in STORES:
        raise UnknownBackendError(f"unknown store {settings.store!r}; use {STORE_FORMS}")
    if backend_name(settings.search_engine) not in ENGINES:
        raise UnknownBackendError(f"unknown search engine {settings.search_engine!r}; use {ENGINE_FORMS}")


def index_exists(settings: Settings) -> bool:
    """Whether ``settings`` name an index that is already there; creates nothing.

    A store without an entry in ``EXISTS`` counts as present. Malformed settings raise here too.
    """
    check_names(settings)
    labels(settings)  # parses both
    check = EXISTS.get(backend_name(settings.store))
    return True if check is None else check(settings)


def index_place(settings: Settings) -> tuple[str, str]:
    """Where ``settings`` look for an index, and the option that says so (for "no index" messages).

    >>> index_place(Settings(index_dir=Path("typo")))
    ('at typo', '--index-dir (or $RAG_INDEX_DIR)')
    >>> index_place(Settings(store="postgresql://rag:pw@db/news"))
    ('in postgresql://rag@db/news', '--store (or $RAG_STORE)')
    """
    if backend_name(settings.store) != "sqlite":
        return f"in {labels(settings)[0]}", "--store (or $RAG_STORE)"
    if ":" in settings.store:
        return f"at {index_folder(settings)}", "--store (or $RAG_STORE)"
    return f"at {settings.index_dir}", "--index-dir (or $RAG_INDEX_DIR)"


def open_index(settings: Settings) -> Index:
    """Open (or create) the index that ``settings`` names."""
    check_names(settings)
    names = labels(settings)
    store = STORES[backend_name(settings.store)](settings)
    try:
        engine = ENGINES[backend_name(settings.search_engine)](settings, store)
        return Index(store, engine, settings.lock_timeout_s, names)
    except BaseException:
        store.close()
        raise


__all__ = [
    "ENGINES", "EXISTS", "STORES", "Index", "backend_name", "index_exists", "index_folder", "labels", "index_place",
    "open_index",
]
