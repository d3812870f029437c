"""Start a real ``rag serve`` (the web UI and the JSON API) for a test module, and stop it after.

Shared by tests/test_api.py and tests/test_serve.py. The server is the
console script in a subprocess on a free port, with its output in a log
file that a failure shows.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

import pytest

RAG = shutil.which("rag") or str(Path(sys.executable).with_name("rag"))
STARTUP_TIMEOUT_S = 240


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the server exited with {proc.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"the server did not answer on {url} within {STARTUP_TIMEOUT_S}s:\n{log.read_text()}")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def rag_server(index_dir: Path, log: Path, extra: Sequence[str] = ()) -> Iterator[str]:
    """``rag serve`` on a free port with ``index_dir``; yields its base URL (no trailing slash)."""
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [RAG, "serve", "--index-dir", str(index_dir), "--port", str(port), *extra]
    with log.open("w") as out:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base}/api/v1/status", proc, log)
        yield base
    finally:
        stop(proc)
