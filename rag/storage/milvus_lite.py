"""Milvus Lite's server for this process: the real Milvus engine on a ``.db`` file (``--engine milvus-lite:PATH.db``).

The ``milvus-lite`` package (2.5) bundles Milvus built as one program,
``milvus``, that serves one data file over a Unix socket. pymilvus would
start it itself for a ``.db`` URI; rag starts it the same way (the program,
the file, a socket, and a lock beside the file, ``.NAME.db.lock``, held by
this process: the server stops by itself once the lock is let go, also when
this process is killed) so that it can give the server a folder of its own:
its home (Milvus makes ``~/.cache`` there, not in the user's), its log (the
program's messages go there, not to the terminal; a failure quotes them)
and its socket. ``start`` is counted per file and ``stop`` ends the server
and removes its folder when the last index of this process using the file
closes. Another process holding the file is refused in one line: Milvus Lite
serves one process at a time.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from rag.errors import BackendUnavailableError

START_LIMIT_S = 60.0
POLL_S = 0.05
STOP_LIMIT_S = 10.0


@dataclass
class _Server:
    lock_path: Path
    lock: IO[str]
    folder: Path
    proc: subprocess.Popen
    users: int = 1

    @property
    def socket(self) -> Path:
        return self.folder / "milvus.sock"


_SERVERS: dict[str, _Server] = {}
_GUARD = threading.Lock()


def _program() -> Path:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # milvus_lite imports pkg_resources, which warns
        try:
            from milvus_lite.server import BIN_PATH
        except ImportError as e:
            raise BackendUnavailableError(
                "milvus-lite: needs the milvus-lite package (2.5); install it with pip install -e '.[shared]'"
            ) from e
    return Path(BIN_PATH) / "milvus"


def _log_tail(folder: Path) -> str:
    try:
        lines = [line.strip() for line in (folder / "log").read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return lines[-1][-300:] if lines else ""


def _take_lock(path: Path, label: str) -> tuple[Path, IO[str]]:
    lock_path = path.parent / f".{path.name}.lock"
    lock = open(lock_path, "a")  # noqa: SIM115 (held while the server runs)
    try:
        fcntl.lockf(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.close()
        raise BackendUnavailableError(
            f"{label}: another process has this Milvus Lite file open (Milvus Lite serves one process at a time); "
            f"for several processes or machines run a Milvus server and use --engine milvus://HOST:19530 "
            f"(docs/SCALING.md)"
        ) from None
    return lock_path, lock


def _launch(path: Path, label: str) -> _Server:
    program = _program()
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_path, lock = _take_lock(path, label)
    folder = Path(tempfile.mkdtemp(prefix="rag-milvus-lite-"))
    env = {**os.environ, "HOME": str(folder),
           "LD_LIBRARY_PATH": f"{program.parent}:{os.environ.get('LD_LIBRARY_PATH', '')}"}
    with open(folder / "log", "w") as log:
        proc = subprocess.Popen(
            [str(program), str(path), f"unix:{folder / 'milvus.sock'}", "ERROR", str(lock_path)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=path.parent, env=env,
        )
    server = _Server(lock_path, lock, folder, proc)
    deadline = time.monotonic() + START_LIMIT_S
    while not server.socket.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            detail = _log_tail(folder) or f"exit status {proc.poll()}"
            _end(server)
            raise BackendUnavailableError(
                f"{label}: Milvus Lite cannot open {path} ({detail}): it is not a Milvus Lite file, it is "
                f"damaged, or its folder cannot be written. The engine holds only what the store has: move the "
                f"file away and run `rag repair` to rebuild it"
            )
        time.sleep(POLL_S)
    return server


def _end(server: _Server) -> None:
    """Let go of the lock (the server then stops by itself), wait for it, remove its folder."""
    fcntl.lockf(server.lock.fileno(), fcntl.LOCK_UN)
    server.lock.close()
    try:
        server.proc.wait(timeout=STOP_LIMIT_S)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait()
    server.lock_path.unlink(missing_ok=True)
    shutil.rmtree(server.folder, ignore_errors=True)


def start(path: Path, label: str) -> str:
    """The URI of this process's Milvus Lite server for the file ``path`` (started on first use)."""
    key = str(path.absolute())
    with _GUARD:
        server = _SERVERS.get(key)
        if server is not None and server.proc.poll() is None:
            server.users += 1
        else:
            if server is not None:  # it died: start afresh
                _end(server)
            server = _SERVERS[key] = _launch(Path(key), label)
    return f"unix:{server.socket}"


def stop(path: Path) -> None:
    """One user of ``path`` is done; the last one stops the server."""
    key = str(path.absolute())
    with _GUARD:
        server = _SERVERS.get(key)
        if server is None:
            return
        server.users -= 1
        if server.users <= 0:
            del _SERVERS[key]
            _end(server)
