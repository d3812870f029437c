"""One server for the web UI and the JSON HTTP API: bind, guard, mount, run, say where.

``serve`` binds the address first (so a port in use or an address that is
not on this machine is one line, before any model loads), prepares the
embedder (announcing a one-time export), builds a FastAPI app with the API
under ``/api/v1`` (rag/web/api.py) and the Gradio UI at ``/``, behind
rag/web/guard.py, and runs it with uvicorn. Once it listens it connects to
itself: if that fails (the loopback interface is down, a firewall) it stops
with one line saying so instead of a traceback. Then it prints its address
once; there is no share link and no banner. Ctrl+C or SIGTERM stops it and
the private work folder is removed.
"""

from __future__ import annotations

import errno
import signal
import socket
import sys
import threading
import time
from typing import TYPE_CHECKING, Any, Iterable

from rag.errors import RagError
from rag.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

    from rag.web.actions import WebActions

STARTUP_TIMEOUT_S = 120.0
SELF_CHECK_TIMEOUT_S = 5.0


class ServeError(RagError):
    """The server could not start or cannot be reached (one line: why, and what to do)."""


def _family_and_address(host: str, port: int) -> tuple[socket.AddressFamily, tuple[Any, ...]]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        raise ServeError(f"cannot listen on {host!r}: no such address or host name ({e.strerror}); "
                         f"use 127.0.0.1 (this machine only) or one of this machine's addresses") from e
    family, _, _, _, address = infos[0]
    return family, address


def bind(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` (not yet listening), or ServeError saying why not."""
    family, address = _family_and_address(host, port)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(address)
    except OSError as e:
        sock.close()
        raise ServeError(_bind_problem(host, port, e)) from e
    sock.set_inheritable(True)
    return sock


def _bind_problem(host: str, port: int, e: OSError) -> str:
    if e.errno == errno.EADDRINUSE:
        return (f"port {port} on {host} is already in use (another rag serve, or another program); "
                f"stop it or choose another port with --port")
    if e.errno == errno.EADDRNOTAVAIL:
        return (f"cannot listen on {host}: the address is not on this machine; "
                f"use 127.0.0.1 (this machine only) or one of its addresses")
    if e.errno == errno.EACCES:
        return f"not allowed to listen on port {port} (ports below 1024 need root); choose another with --port"
    return f"cannot listen on {host}:{port} ({e.strerror or e})"


def url_of(host: str, port: int) -> str:
    """The address to print and to check: a wildcard listens on loopback too."""
    shown = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    return f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"


def check_reachable(host: str, port: int, timeout_s: float = SELF_CHECK_TIMEOUT_S) -> str | None:
    """None when a connection to the listening server works, else why not (one line)."""
    target = url_of(host, port).removeprefix("http://").rsplit(":", 1)[0].strip("[]")
    try:
        with socket.create_connection((target, port), timeout=timeout_s):
            return None
    except OSError as e:
        why = e.strerror or str(e) or type(e).__name__
        hint = ("; is the loopback interface down? Bring it up with `ip link set lo up`"
                if target in ("127.0.0.1", "::1") else "; check the firewall and the address given with --host")
        return f"the server started on {url_of(host, port)} but cannot be reached from this machine ({why}){hint}"


def build_server(settings: Settings, actions: WebActions, host: str, allowed_hosts: Iterable[str] = ()) -> FastAPI:
    """The FastAPI app: the guard, the JSON API under /api/v1, the Gradio UI at /."""
    import gradio as gr
    from fastapi import FastAPI

    from rag.web import api, build_app, mount_options
    from rag.web.guard import HostGuard, allowed_names

    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.add_middleware(HostGuard, allowed=allowed_names(host, allowed_hosts))
    app.mount(api.PREFIX, api.create_app(actions))
    return gr.mount_gradio_app(app, build_app(settings, actions), path="", **mount_options(settings, host))


def _stop_on_sigterm() -> None:
    """SIGTERM ends the server like Ctrl+C (cleanup runs), not by killing the process mid-write."""

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop)


def run(app: FastAPI, sock: socket.socket, host: str, port: int, index: str) -> None:
    """Serve ``app`` on the bound ``sock`` until interrupted; ServeError if it cannot start or be reached."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on",
                                          timeout_graceful_shutdown=5))
    failure: list[str] = []

    def announce() -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not server.started and not server.should_exit and time.monotonic() < deadline:
            time.sleep(0.05)
        if not server.started:
            return
        problem = check_reachable(host, port)
        if problem:
            failure.append(problem)
            server.should_exit = True
            return
        wildcard = " (all interfaces; other names need --allow-host)" if host in ("", "0.0.0.0", "::") else ""
        print(f"rag: serving {index} on {url_of(host, port)}{wildcard}; JSON API under /api/v1. "
              f"Press Ctrl+C to stop.", flush=True)

    _stop_on_sigterm()
    watcher = threading.Thread(target=announce, name="rag-announce", daemon=True)
    watcher.start()
    server.run(sockets=[sock])
    watcher.join(timeout=1)
    if failure:
        raise ServeError(failure[0])
    if not server.started:
        raise ServeError(f"the server on {url_of(host, port)} could not start; see the messages above")


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 7860, allowed_hosts: Iterable[str] = ()) -> None:
    """Start the UI and the API on ``host:port`` and block until interrupted."""
    import shutil
    import tempfile
    from pathlib import Path

    from rag.frontend import prepare_embedder
    from rag.storage import index_exists, index_place
    from rag.web import prepare_environment
    from rag.web.actions import WebActions

    sock = bind(host, port)
    work_dir = Path(tempfile.mkdtemp(prefix="rag-ui-"))
    actions: WebActions | None = None
    try:
        prepare_environment(work_dir)
        if not index_exists(settings):
            print(f"rag: no index {index_place(settings)[0]} yet; starting with an empty one "
                  f"(add articles in the Library tab)", file=sys.stderr, flush=True)
        actions = WebActions(settings, work_dir)
        with actions.rag() as rag:
            prepare_embedder(rag)
            where = rag.location
        actions.warm_up()
        run(build_server(settings, actions, host, allowed_hosts), sock, host, port, where)
    except KeyboardInterrupt:
        print("rag: stopped", file=sys.stderr, flush=True)
    finally:
        if actions is not None:
            actions.close()  # lets go of connections (and a Milvus Lite server this process started)
        sock.close()
        shutil.rmtree(work_dir, ignore_errors=True)
