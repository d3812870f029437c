"""Storage: where documents, chunks and vectors live, and the indexes that search them.

``open_index(settings)`` opens the store named by ``Settings.store`` and the
search engine named by ``Settings.search_engine`` in ``Settings.index_dir``
and keeps them in step (rag/storage/index.py). One backend per file:

- stores (rag/storage/base.py ``Store``): ``sqlite`` (rag/storage/sqlite.py);
- search engines (``SearchEngine``): ``local``, FAISS + BM25 files
  (rag/storage/local.py).

An unknown name raises UnknownBackendError listing the known ones. Nothing
here chooses an embedder or a chunker: rag/core.py does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from rag.errors import UnknownBackendError
from rag.settings import Settings
from rag.storage.base import SearchEngine, Store
from rag.storage.index import Index


def _sqlite(settings: Settings) -> Store:
    from rag.storage.sqlite import SqliteStore

    return SqliteStore(Path(settings.index_dir))


def _local(settings: Settings, store: Store) -> SearchEngine:
    from rag.storage.local import LocalEngine

    return LocalEngine(Path(settings.index_dir), store, settings.ann_threshold, settings.ann_nprobe)


def _sqlite_exists(settings: Settings) -> bool:
    from rag.storage.sqlite import DB_NAME

    return (Path(settings.index_dir) / DB_NAME).is_file()


STORES: dict[str, Callable[[Settings], Store]] = {"sqlite": _sqlite}
# Whether the index a store would open is already there (checked without creating anything).
EXISTS: dict[str, Callable[[Settings], bool]] = {"sqlite": _sqlite_exists}
ENGINES: dict[str, Callable[[Settings, Store], SearchEngine]] = {"local": _local}


def _pick(kind: str, name: str, known: dict) -> None:
    if name not in known:
        raise UnknownBackendError(f"unknown {kind} {name!r}; choose one of: {', '.join(known)}")


def index_exists(settings: Settings) -> bool:
    """Whether ``settings`` name an index that is already there; creates nothing.

    A store without an entry in ``EXISTS`` (a server that creates on connect) counts as present.
    """
    _pick("store", settings.store, STORES)
    check = EXISTS.get(settings.store)
    return True if check is None else check(settings)


def open_index(settings: Settings) -> Index:
    """Open (or create) the index that ``settings`` names."""
    _pick("store", settings.store, STORES)
    _pick("search engine", settings.search_engine, ENGINES)
    store = STORES[settings.store](settings)
    try:
        return Index(store, ENGINES[settings.search_engine](settings, store), settings.lock_timeout_s)
    except BaseException:
        store.close()
        raise


__all__ = ["ENGINES", "EXISTS", "STORES", "Index", "index_exists", "open_index"]
