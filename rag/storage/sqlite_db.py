"""One SQLite connection for the store: opened read-write when it can be, read-only when not, never raw errors.

``open_database`` opens ``rag.sqlite`` read-write; when the folder is
read-only or the disk is full (SQLite then cannot create its ``-shm`` file),
it opens it read-only instead (``mode=ro``, and ``immutable=1`` when even
that needs a file it cannot create), so searching and asking keep working;
a write then raises the reason it cannot be done. A read-only open refuses
a database whose ``-wal`` file holds changes it could not see.

``Database`` wraps the connection: every ``sqlite3.Error``, when a statement
runs or while its rows are read, becomes a one-line RagError (``translate``):
a full disk, a read-only file, a damaged file (with the ``.recover`` route),
a missing table (with ``rag repair``), a busy database. No raw traceback
reaches a user, and no message advises moving away an intact database.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any, Iterator, Sequence
from urllib.parse import quote

from rag.errors import IndexCorruptError, IndexLockedError, RagError
from rag.storage.failures import disk_full, not_writable, read_only, store_damaged

BUSY_TIMEOUT_S = 30.0
_DAMAGED = ("SQLITE_CORRUPT", "SQLITE_NOTADB")
# The tables without which the store holds nothing usable: their loss cannot be repaired.
_TEXT_TABLES = ("documents",)


def is_damage(e: sqlite3.Error) -> bool:
    """Whether SQLite says the file itself is damaged (not busy, full or read-only)."""
    name = getattr(e, "sqlite_errorname", "") or ""
    return name.startswith(_DAMAGED) or "malformed" in str(e) or "not a database" in str(e)


def translate(e: sqlite3.Error, path: Path, write_refusal: RagError | None = None) -> RagError:
    """The RagError for a failed SQLite call on the database at ``path``."""
    name = getattr(e, "sqlite_errorname", "") or ""
    text = str(e)
    if name == "SQLITE_FULL" or "database or disk is full" in text:
        return disk_full(path.parent)
    if name.startswith("SQLITE_READONLY") or "readonly database" in text:
        return write_refusal or not_writable(path.parent)
    if is_damage(e):
        return store_damaged(path, text)
    missing = re.match(r"no such table: (?:main\.)?(\w+)", text)
    if missing:
        table = missing.group(1)
        if table in _TEXT_TABLES:
            return store_damaged(path, f"the {table} table is missing: the documents' text is gone")
        return IndexCorruptError(f"{path}: the {table} table is missing; run `rag repair` to restore it")
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return IndexLockedError(f"{path} is busy ({text}); wait for the other rag process and run the command again")
    if name.startswith("SQLITE_IOERR") or name.startswith("SQLITE_CANTOPEN"):
        refusal = not_writable(path.parent)
        if "no space left" in str(refusal):
            return refusal
        return IndexCorruptError(
            f"{path}: cannot read or write the database ({text}); check the disk and its permissions"
        )
    return IndexCorruptError(f"{path}: SQLite failed ({text}); run `rag status --check` to see what is wrong")


class Cursor:
    """A cursor whose row reads raise RagErrors."""

    def __init__(self, cursor: sqlite3.Cursor, db: Database) -> None:
        self._cursor = cursor
        self._db = db

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    def __iter__(self) -> Iterator[Any]:
        while True:
            row = self.fetchone()
            if row is None:
                return
            yield row

    def fetchone(self) -> Any:
        with self._db.guard():
            return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        with self._db.guard():
            return self._cursor.fetchall()

    def fetchmany(self, size: int) -> list[Any]:
        with self._db.guard():
            return self._cursor.fetchmany(size)


class Database:
    """A guarded connection to the store's database (see the module docstring)."""

    def __init__(self, connection: sqlite3.Connection, path: Path, write_refusal: RagError | None) -> None:
        self.connection = connection
        self.path = path
        # Why this connection cannot write (it was opened read-only), or None.
        self.write_refusal = write_refusal

    def guard(self) -> _Guard:
        return _Guard(self)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        with self.guard():
            return Cursor(self.connection.execute(sql, params), self)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self.guard():
            self.connection.executemany(sql, rows)

    def executescript(self, script: str) -> None:
        with self.guard():
            self.connection.executescript(script)

    @property
    def in_transaction(self) -> bool:
        return self.connection.in_transaction

    def close(self) -> None:
        self.connection.close()


class _Guard:
    def __init__(self, db: Database) -> None:
        self.db = db

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: Any) -> None:
        if isinstance(error, sqlite3.Error):
            raise translate(error, self.db.path, self.db.write_refusal) from error


def _connect(uri: str) -> sqlite3.Connection:
    db = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
    try:
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()  # opens the file (and its -shm) for real
    except BaseException:
        db.close()
        raise
    return db


def _uri(path: Path, query: str) -> str:
    return f"file:{quote(str(path.resolve()))}{query}"


def open_database(path: Path) -> Database:
    """Open ``path`` read-write, else read-only (see the module docstring); RagError when neither works."""
    try:
        connection = _connect(_uri(path, ""))
        with_wal = connection.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal"
        if with_wal or not path.exists():
            return Database(connection, path, None)
        connection.close()
    except sqlite3.Error as e:
        if is_damage(e) or not path.exists():
            raise translate(e, path) from e
    refusal = not_writable(path.parent)
    last: sqlite3.Error | None = None
    for query in ("?mode=ro", "?mode=ro&immutable=1"):
        try:
            connection = _connect(_uri(path, query))
        except sqlite3.Error as e:
            if is_damage(e):
                raise translate(e, path, refusal) from e
            last = e
            continue
        if "immutable" in query and _wal_bytes(path):
            connection.close()
            unseen = f"{path.name}-wal holds changes SQLite can only read with write access"
            raise read_only(path.parent, unseen) from None
        return Database(connection, path, refusal)
    raise translate(last, path, refusal) if last is not None else refusal


def _wal_bytes(path: Path) -> int:
    wal = path.with_name(path.name + "-wal")
    try:
        return wal.stat().st_size
    except OSError:
        return 0
