"""``rag serve`` as a server on the network: who it answers, what it prints, how it fails.

Issue 14 #13 (DNS rebinding): a request naming another host is refused, on
the web UI's Gradio routes and on the JSON API alike, and a page of another
site cannot post to either; no response carries a permissive CORS header.
Issue 13: the address is printed once, with no share banner. Issue 14 #17:
a port in use, an address not on this machine and a loopback interface that
is down are each one line and exit code 1, never a traceback. All over real
HTTP against the real server (httpx).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import httpx
import pytest
from conftest import DATA, ROOT
from serving import RAG, free_port, rag_server

from rag.core import Rag
from rag.ingest import load_paths
from rag.settings import Settings

pytestmark = pytest.mark.slow  # starts servers in subprocesses

ALLOWED_EXTRA = "reader.test"
FOREIGN = "evil.example"


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory, minilm) -> Path:
    folder = tmp_path_factory.mktemp("serve") / "index"
    with Rag(Settings(index_dir=folder), embedder=minilm) as rag:
        rag.ingest(load_paths([str(DATA / "bridge_reopens.txt")]).documents)
    return folder


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("serve-log") / "server.log"


@pytest.fixture(scope="module")
def base(index_dir: Path, log: Path) -> Iterator[str]:
    with rag_server(index_dir, log, ["--allow-host", ALLOWED_EXTRA]) as url:
        yield url


def port_of(base: str) -> int:
    return int(base.rsplit(":", 1)[1])


def documents(base: str) -> int:
    return len(httpx.get(f"{base}/api/v1/docs").json())


# Requests a rebinding page could make: read the library, add a document, read the UI's config.
ROUTES = [
    ("GET", "/", None),
    ("GET", "/config", None),
    ("POST", "/gradio_api/call/library", {"data": []}),
    ("POST", "/gradio_api/call/paste", {"data": ["Rebinding wrote this article into the library.", "pwned"]}),
    ("POST", "/gradio_api/queue/join", {"data": [], "fn_index": 0, "session_hash": "x"}),
    ("GET", "/api/v1/docs", None),
    ("POST", "/api/v1/docs", {"text": "Rebinding wrote this article into the library.", "title": "pwned"}),
]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_a_foreign_host_is_refused(base: str, method: str, path: str, body: dict | None) -> None:
    port = port_of(base)
    before = documents(base)
    headers = {"Host": f"{FOREIGN}:{port}", "Origin": f"http://{FOREIGN}:{port}"}
    response = httpx.request(method, f"{base}{path}", json=body, headers=headers)
    assert response.status_code == 400, response.text
    assert "access-control-allow-origin" not in response.headers
    assert f"does not answer to the host '{FOREIGN}'" in response.json()["error"]
    assert "--allow-host" in response.json()["error"]
    assert documents(base) == before


@pytest.mark.parametrize(("method", "path", "body"), [r for r in ROUTES if r[0] == "POST"])
def test_another_site_cannot_post_to_this_one(base: str, method: str, path: str, body: dict | None) -> None:
    """The Host is right (the page talks to 127.0.0.1), the Origin is another site's: 403, nothing added."""
    before = documents(base)
    response = httpx.request(method, f"{base}{path}", json=body, headers={"Origin": f"http://{FOREIGN}"})
    assert response.status_code == 403, response.text
    assert "access-control-allow-origin" not in response.headers
    assert documents(base) == before


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost", "[::1]", ALLOWED_EXTRA])
def test_this_machines_names_are_served(base: str, name: str) -> None:
    port = port_of(base)
    page = httpx.get(f"{base}/", headers={"Host": f"{name}:{port}"})
    assert page.status_code == 200 and "<html" in page.text.lower()
    api = httpx.get(f"{base}/api/v1/status", headers={"Host": f"{name}:{port}", "Origin": f"http://{name}:{port}"})
    assert api.status_code == 200 and api.json()["documents"] >= 1
    assert api.headers.get("access-control-allow-origin") in (None, f"http://{name}:{port}")


def test_the_address_is_printed_once_without_a_share_banner(base: str, log: Path) -> None:
    text = log.read_text()
    assert text.count(f"http://127.0.0.1:{port_of(base)}") == 1, text
    assert "share" not in text.lower() and "Running on local URL" not in text
    assert "Traceback" not in text


# -- failures to serve: one line each ----------------------------------------------
def one_line_failure(done: subprocess.CompletedProcess) -> str:
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and len(lines) == 1, lines
    return lines[0]


def serve(index_dir: Path, *args: str, wrapper: tuple[str, ...] = (), program: str = "rag") -> subprocess.CompletedProcess:
    command = [RAG, "serve"] if program == "rag" else [sys.executable, str(ROOT / "ui.py")]
    return subprocess.run([*wrapper, *command, "--index-dir", str(index_dir), *args], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONUNBUFFERED": "1"})


@pytest.mark.parametrize("program", ["rag", "ui.py"])
def test_a_port_in_use_is_one_line(index_dir: Path, program: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = one_line_failure(serve(index_dir, "--port", str(port), program=program))
    assert line == (f"rag: port {port} on 127.0.0.1 is already in use (another rag serve, or another program); "
                    f"stop it or choose another port with --port")


def test_an_address_not_on_this_machine_is_one_line(index_dir: Path) -> None:
    line = one_line_failure(serve(index_dir, "--host", "192.0.2.1", "--port", str(free_port())))
    assert "cannot listen on 192.0.2.1: the address is not on this machine" in line


# Runs `rag serve` with every connection to this machine failing as it does when the loopback
# interface is down (ENETUNREACH); used where `unshare -rn` (a network namespace whose loopback
# is down) is not available.
LOOPBACK_DOWN = r"""
import errno, socket, sys
_connect = socket.socket.connect
def connect(sock, address):
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        raise OSError(errno.ENETUNREACH, "Network is unreachable")
    return _connect(sock, address)
socket.socket.connect = connect
from rag.cli import main
sys.exit(main(sys.argv[1:]))
"""


def loopback_down_wrapper() -> tuple[str, ...]:
    works = subprocess.run(["unshare", "-rn", "true"], capture_output=True).returncode == 0 if os.path.exists(
        "/usr/bin/unshare") else False
    return ("unshare", "-rn") if works else ()


def test_a_loopback_that_is_down_is_one_line(index_dir: Path) -> None:
    wrapper = loopback_down_wrapper()
    port = str(free_port())
    if wrapper:
        done = serve(index_dir, "--port", port, wrapper=wrapper)
    else:
        done = subprocess.run([sys.executable, "-c", LOOPBACK_DOWN, "serve", "--index-dir", str(index_dir), "--port",
                               port], capture_output=True, text=True, timeout=300)
    line = one_line_failure(done)
    assert line.startswith(f"rag: the server started on http://127.0.0.1:{port} but cannot be reached")
    assert "ip link set lo up" in line
