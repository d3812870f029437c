"""A PostgreSQL connection for rag/storage/postgres.py: comes back after a restart, never raises raw errors.

Autocommit, named in ``pg_stat_activity`` (``rag pid N on HOST``, which the
writers' lock message quotes), with a 10 s connect timeout unless the URL
sets one. Server-side pooling (PgBouncer in session mode: the advisory lock
is per session) is the operator's choice.

Every psycopg error becomes a one-line RagError (``translate``), as
rag/storage/sqlite_db.py does for SQLite: a full disk on the server
(DiskFullError), a read-only server or user (IndexReadOnlyError: a
hot-standby replica, ``default_transaction_read_only``, no write grant),
damaged pages or indexes (IndexCorruptError naming the server's own
recovery: a backup, a replica, ``REINDEX``), a missing table (``rag repair``,
or that recovery when the documents are gone), a lost connection.
"""

from __future__ import annotations

import os
import socket
from contextlib import contextmanager
from typing import Any, Iterator

from rag.errors import (
    BackendUnavailableError,
    DiskFullError,
    IndexCorruptError,
    IndexReadOnlyError,
    RagError,
)

# Tables whose loss ``rag repair`` cannot mend: the documents' text lives there.
TEXT_TABLES = ("documents",)


def first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def server_damaged(location: str, detail: str) -> IndexCorruptError:
    """The database itself is damaged: the way out, in one line (``rag repair`` cannot help)."""
    return IndexCorruptError(
        f"{location} is damaged ({detail}) and `rag repair` cannot mend the database itself: restore it from "
        f"a backup or promote a replica (pg_restore, point-in-time recovery), REINDEX a damaged index, or "
        f"re-ingest your sources into a new database"
    )


def read_only(location: str, reason: str) -> IndexReadOnlyError:
    return IndexReadOnlyError(
        f"{location} cannot be written ({reason}): searching and asking work, but adding or removing documents "
        f"needs a writable primary and a user with INSERT, UPDATE and DELETE on rag's tables"
    )


def missing_table(location: str, table: str) -> IndexCorruptError:
    if table in TEXT_TABLES:
        return server_damaged(location, f"the {table} table is missing: the documents' text is gone")
    return IndexCorruptError(f"{location}: the {table} table is missing; run `rag repair` to restore it")


def translate(e: Exception, location: str) -> RagError:
    """The RagError for a failed PostgreSQL call (``e``: a psycopg.Error)."""
    from psycopg import errors

    detail = first_line(e)
    if isinstance(e, errors.DiskFull):
        return DiskFullError(
            f"no space left on the PostgreSQL server of {location} ({detail}); nothing was changed "
            f"(free space on the server and run the command again)"
        )
    if isinstance(e, errors.ReadOnlySqlTransaction):
        return read_only(location, "the server is read-only, a hot-standby replica or read-only by default")
    if isinstance(e, errors.InsufficientPrivilege):
        return read_only(location, detail)
    if isinstance(e, errors.DataCorrupted | errors.IndexCorrupted):
        return server_damaged(location, detail)
    if isinstance(e, errors.UndefinedTable):
        table = (detail.split('"')[1:2] or ["a rag"])[0]
        return missing_table(location, table)
    return BackendUnavailableError(f"{location}: PostgreSQL failed ({detail}); run `rag status --check`")


class Session:
    """One autocommit connection that comes back after PostgreSQL restarts or fails over, when it safely can.

    Between writes, a statement that finds the connection lost opens it again
    and runs once more; during a write (a transaction, or while holding the
    writers' lock, which went with the connection) the loss is a
    BackendUnavailableError, and the transaction rolled back unless it had
    already committed.
    """

    def __init__(self, url: str, location: str) -> None:
        self.url, self.location = url, location
        self.busy = 0  # transactions and locks held: no quiet reconnect
        self.conn = self._connect()

    def _connect(self) -> Any:
        import psycopg

        options: dict[str, Any] = {"autocommit": True}
        options["application_name"] = f"rag pid {os.getpid()} on {socket.gethostname()}"[:63]
        if "connect_timeout" not in psycopg.conninfo.conninfo_to_dict(self.url):
            options["connect_timeout"] = 10
        try:
            return psycopg.connect(self.url, **options)
        except psycopg.Error as e:
            raise BackendUnavailableError(
                f"{self.location}: cannot connect to PostgreSQL ({first_line(e)}); check the URL and that the "
                f"server runs (a password goes in $PGPASSWORD or ~/.pgpass)"
            ) from e

    def _lost(self, error: BaseException) -> BackendUnavailableError:
        return BackendUnavailableError(
            f"{self.location}: lost the connection to PostgreSQL during a write ({first_line(error)}); it was "
            f"rolled back unless it had committed: run `rag status --check` and the command again"
        )

    def _failed(self, e: Exception) -> RagError:
        import psycopg

        if isinstance(e, psycopg.OperationalError) and self.conn.broken:
            return self._lost(e)
        return translate(e, self.location)

    def execute(self, query: Any, params: Any = None) -> Any:
        import psycopg

        try:
            return self.conn.execute(query, params)
        except psycopg.Error as e:
            if self.busy or not self.conn.broken:
                raise self._failed(e) from e
        self.conn.close()  # lost between writes: connect again and run it once more
        self.conn = self._connect()
        try:
            return self.conn.execute(query, params)
        except psycopg.Error as e:
            raise self._failed(e) from e

    @contextmanager
    def copy(self, statement: str) -> Iterator[Any]:
        """A ``COPY ... FROM STDIN`` whose failures are RagErrors."""
        import psycopg

        try:
            with self.conn.cursor() as cur, cur.copy(statement) as copy:
                yield copy
        except psycopg.Error as e:
            raise self._failed(e) from e

    def executemany(self, query: str, rows: list[Any]) -> None:
        import psycopg

        try:
            with self.conn.cursor() as cur:
                cur.executemany(query, rows)
        except psycopg.Error as e:
            raise self._failed(e) from e

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All statements inside commit together; any failure, the COMMIT's too, rolls them all back."""
        import psycopg

        self.busy += 1
        try:
            with self.conn.transaction():
                yield
        except psycopg.Error as e:
            raise self._failed(e) from e
        finally:
            self.busy -= 1

    @property
    def closed(self) -> bool:
        return bool(self.conn.closed)

    def close(self) -> None:
        self.conn.close()
