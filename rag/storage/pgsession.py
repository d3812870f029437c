"""A PostgreSQL connection for rag/storage/postgres.py that comes back after a restart or failover.

Autocommit, named in ``pg_stat_activity`` (``rag pid N on HOST``, which the
writers' lock message quotes), with a 10 s connect timeout unless the URL
sets one. Server-side pooling (PgBouncer in session mode: the advisory lock
is per session) is the operator's choice.
"""

from __future__ import annotations

import os
import socket
from contextlib import contextmanager
from typing import Any, Iterator

from rag.errors import BackendUnavailableError


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


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
                f"{self.location}: cannot connect to PostgreSQL ({_first_line(e)}); check the URL and that the "
                f"server runs (a password goes in $PGPASSWORD or ~/.pgpass)"
            ) from e

    def _lost(self, error: BaseException) -> BackendUnavailableError:
        return BackendUnavailableError(
            f"{self.location}: lost the connection to PostgreSQL during a write ({_first_line(error)}); it was "
            f"rolled back unless it had committed: run `rag status --check` and the command again"
        )

    def execute(self, query: Any, params: Any = None) -> Any:
        import psycopg

        try:
            return self.conn.execute(query, params)
        except psycopg.OperationalError as e:
            if self.busy:
                raise self._lost(e) from e
            if not self.conn.broken:
                raise BackendUnavailableError(f"{self.location}: PostgreSQL refused ({_first_line(e)})") from e
            self.conn.close()
            self.conn = self._connect()
            return self.conn.execute(query, params)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        import psycopg

        self.busy += 1
        try:
            with self.conn.transaction():
                yield
        except psycopg.OperationalError as e:
            raise self._lost(e) from e
        finally:
            self.busy -= 1

    def cursor(self) -> Any:
        return self.conn.cursor()

    @property
    def closed(self) -> bool:
        return bool(self.conn.closed)

    def close(self) -> None:
        self.conn.close()
