"""Throwaway real servers for the shared-deployment tests: a PostgreSQL cluster and a Milvus Lite server.

``PostgresCluster`` runs Debian's PostgreSQL binaries (``initdb``, ``pg_ctl``;
found on PATH or under /usr/lib/postgresql/*/bin) on a free port in a
temporary folder. The server refuses to run as root, so as root every
command runs as the ``postgres`` user (``runuser``), which owns the folder;
as anyone else it runs as that user. It does not touch a cluster the
package may have started on 5432. ``fsync`` is off: the tests kill clients,
never the server. ``new_database()`` gives each test an empty database.

``MilvusServer`` runs the real Milvus engine that the ``milvus-lite``
package bundles (its ``milvus`` program, the one pymilvus starts for a
``.db`` file) listening on a free TCP port instead of a private socket, the
way a Milvus standalone is reached in production: by URI, from any number
of processes (a ``milvus-lite:`` file serves one process only).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

START_LIMIT_S = 120


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, limit_s: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {limit_s} s")


def postgres_binary(name: str) -> str:
    """``initdb`` or ``pg_ctl``: on PATH, else Debian's /usr/lib/postgresql/<version>/bin."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(Path(p).parts[4]))
    if not candidates:
        raise RuntimeError(f"{name} not found: install Debian's postgresql package (apt-get install -y postgresql)")
    return candidates[-1]


class PostgresCluster:
    """A PostgreSQL cluster of its own, in a temporary folder, on a free port."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="rag-pg-"))
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.folder, user="postgres")
        self.port = free_port()
        self.databases = 0
        self._run([postgres_binary("initdb"), "-D", str(self.folder / "data"), "-A", "trust", "-U", "postgres",
                   "-E", "UTF8", "--locale=C", "-N"])
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        self._run([postgres_binary("pg_ctl"), "-D", str(self.folder / "data"), "-o", options,
                   "-l", str(self.folder / "log"), "start", "-w", "-t", str(START_LIMIT_S)])

    def _run(self, command: list[str]) -> None:
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, cwd=self.folder)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr or done.stdout}")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """An empty database; its URL."""
        import psycopg

        self.databases += 1
        name = f"rag_test_{self.databases}"
        with psycopg.connect(self.url(), autocommit=True) as db:
            db.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run([postgres_binary("pg_ctl"), "-D", str(self.folder / "data"), "stop", "-m", "fast"])
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


class MilvusServer:
    """The Milvus engine of milvus-lite in a process of its own, reached as ``milvus://127.0.0.1:<port>``."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="rag-milvus-"))
        self.port = free_port()
        self.log = open(self.folder / "log", "w")  # noqa: SIM115 (open while the server runs)
        self.proc = self._start()

    def _start(self) -> subprocess.Popen:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # milvus_lite imports pkg_resources, which warns
            from milvus_lite.server import BIN_PATH
        program = Path(BIN_PATH) / "milvus"  # arguments: data file, address, log level (as milvus_lite's Server)
        env = {**os.environ, "OMP_NUM_THREADS": "1", "HOME": str(self.folder),  # Milvus makes ~/.cache there
               "LD_LIBRARY_PATH": f"{BIN_PATH}:{os.environ.get('LD_LIBRARY_PATH', '')}"}
        proc = subprocess.Popen([str(program), str(self.folder / "milvus.db"), f"127.0.0.1:{self.port}", "ERROR"],
                                stdout=self.log, stderr=subprocess.STDOUT, cwd=self.folder, env=env)
        wait_for_port(self.port, START_LIMIT_S, proc)
        return proc

    @property
    def uri(self) -> str:
        return f"milvus://127.0.0.1:{self.port}"

    def pause(self) -> None:
        """An outage: the server process goes away (its data stays)."""
        self._end()

    def resume(self) -> None:
        """The server comes back on the same port with the same data."""
        self.proc = self._start()

    def _end(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def stop(self) -> None:
        self._end()
        self.log.close()
        shutil.rmtree(self.folder, ignore_errors=True)
