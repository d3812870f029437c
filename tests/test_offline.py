"""No network at run time: with every socket blocked, ingest, ask, brief and the other commands
work on local models, and only `rag pull` tries the network, failing with a clear message.

The guard replaces ``socket.socket.connect``/``connect_ex`` for internet sockets and
``socket.getaddrinfo``: each attempt is recorded and refused, so a library that swallows the
error and falls back is still caught. It runs in this process (through ``rag.cli.main``) and,
to be sure no offline flag set earlier helps, in a fresh Python with ``HF_HUB_OFFLINE`` and
``TRANSFORMERS_OFFLINE`` unset and an empty Hugging Face home, where the package API runs
both generators (seq2seq on a tiny local checkpoint).
"""

from __future__ import annotations

import errno
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import DATA, ROOT
from rag.cli import main
from rag.core import Rag
from rag.settings import Settings

pytestmark = pytest.mark.slow  # runs rag in fresh Python processes

QUESTION = "When did the Kessel Bridge reopen?"
ANSWER = "reopened to traffic on March 3"
ARTICLES = ["bridge_reopens.txt", "lynx_kittens.txt", "ferry_strike.txt", "two_pages.pdf"]
OFFLINE_FLAGS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE")

GUARD = '''
import errno, json, socket, sys

attempts = []
_connect, _connect_ex = socket.socket.connect, socket.socket.connect_ex


def _refuse(what):
    attempts.append(what)
    return OSError(errno.ENETUNREACH, f"network blocked by the test ({what})")


def connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        raise _refuse(f"connect {address}")
    return _connect(self, address)


def connect_ex(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        raise _refuse(f"connect {address}")
    return _connect_ex(self, address)


def getaddrinfo(host, *args, **kwargs):
    raise _refuse(f"resolve {host}")


socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo = connect, connect_ex, getaddrinfo
'''

LIBRARY_RUN = '''
from pathlib import Path
from rag import Rag, Settings
from rag.ingest import load_paths

index_dir, tiny, *paths = sys.argv[1:]
rag = Rag(Settings(index_dir=Path(index_dir)))
rag.ingest(load_paths(paths).documents)
out = {}
# The tiny checkpoint writes noise: a few greedy tokens are enough to prove it runs offline.
tiny_settings = {"seq2seq_model": tiny, "max_new_tokens": 12, "num_beams": 1}
for name, changes in (("extractive", {}), ("seq2seq", tiny_settings)):
    opened = Rag(Settings(index_dir=Path(index_dir), generator=name, **changes))
    answers = {"ask": opened.ask("%s"), "brief": opened.brief()}
    out[name] = {
        kind: {"generator": a.generator, "abstained": a.abstained, "sentences": len(a.sentences),
               "citations": [[c.doc_id, c.start, c.end, c.quote] for c in a.citations]}
        for kind, a in answers.items()
    }
print(json.dumps({"attempts": attempts, "results": out}))
''' % QUESTION

CLI_RUN = '''
from rag.cli import main
code = main(sys.argv[1:])
print(json.dumps({"attempts": attempts, "code": code}))
'''


class Guard:
    """Records and refuses every internet connection and name lookup made in this process."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.attempts: list[str] = []
        connect, connect_ex = socket.socket.connect, socket.socket.connect_ex

        def refuse(what: str) -> OSError:
            self.attempts.append(what)
            return OSError(errno.ENETUNREACH, f"network blocked by the test ({what})")

        def guarded(original):
            def call(sock: socket.socket, address) -> object:
                if sock.family in (socket.AF_INET, socket.AF_INET6):
                    raise refuse(f"connect {address}")
                return original(sock, address)

            return call

        def getaddrinfo(host, *args, **kwargs):
            raise refuse(f"resolve {host}")

        monkeypatch.setattr(socket.socket, "connect", guarded(connect))
        monkeypatch.setattr(socket.socket, "connect_ex", guarded(connect_ex))
        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def guard(monkeypatch: pytest.MonkeyPatch) -> Guard:
    for name in OFFLINE_FLAGS:  # setenv first, so the value from before is put back afterwards
        monkeypatch.setenv(name, "unset-by-test")
        monkeypatch.delenv(name)
    for name, value in {"TOKENIZERS_PARALLELISM": "false", "HF_HUB_DISABLE_PROGRESS_BARS": "1"}.items():
        monkeypatch.setenv(name, value)
    return Guard(monkeypatch)


def test_the_guard_blocks_the_network(guard: Guard) -> None:
    with pytest.raises(OSError, match="network blocked"):
        socket.create_connection(("huggingface.co", 443), timeout=5)
    with pytest.raises(OSError, match="network blocked"):
        socket.socket(socket.AF_INET).connect(("1.1.1.1", 443))
    assert guard.attempts == ["resolve huggingface.co", "connect ('1.1.1.1', 443)"]


def cli(index_dir: Path, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    capsys.readouterr()
    code = main(["--index-dir", str(index_dir), *args])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def test_every_command_works_with_sockets_blocked(
    guard: Guard, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index_dir = tmp_path / "index"
    out = cli(index_dir, capsys, "ingest", *(str(DATA / name) for name in ARTICLES))
    assert f"Added {len(ARTICLES)} document(s)" in out
    hits = json.loads(cli(index_dir, capsys, "search", QUESTION, "--json"))
    assert ANSWER in hits[0]["text"]
    assert len(json.loads(cli(index_dir, capsys, "docs", "--json"))) == len(ARTICLES)
    assert json.loads(cli(index_dir, capsys, "status", "--check", "--json"))["check"] == "ok"
    answer = json.loads(cli(index_dir, capsys, "ask", QUESTION, "--json"))
    assert not answer["abstained"] and any(ANSWER in c["quote"] for c in answer["citations"])
    briefing = json.loads(cli(index_dir, capsys, "brief", "--json"))
    assert briefing["citations"] and len(briefing["coverage"]) == len(ARTICLES)
    cli(index_dir, capsys, "models")
    cli(index_dir, capsys, "repair")
    with Rag(Settings(index_dir=index_dir)) as rag:
        for citation in answer["citations"] + briefing["citations"]:
            assert rag.document(citation["doc_id"]).text[citation["start"] : citation["end"]] == citation["quote"]
    assert guard.attempts == []


def fresh_python(tmp_path: Path, script: str, *args: str) -> subprocess.CompletedProcess:
    """Run ``GUARD + script`` in a new Python with no offline flags and an empty HF home."""
    env = {k: v for k, v in os.environ.items() if k not in OFFLINE_FLAGS and not k.startswith("HF_HUB_CACHE")}
    env.update(HF_HOME=str(tmp_path / "hf-home"), PYTHONPATH=str(ROOT), TOKENIZERS_PARALLELISM="false")
    return subprocess.run(
        [sys.executable, "-c", GUARD + script, *args], capture_output=True, text=True, env=env, timeout=900
    )


def test_the_package_needs_no_network_even_without_offline_flags(tmp_path: Path, tiny_t5_dir: Path) -> None:
    index_dir = tmp_path / "index"
    articles = [str(DATA / "bridge_reopens.txt"), str(DATA / "two_pages.pdf")]
    run = fresh_python(tmp_path, LIBRARY_RUN, str(index_dir), str(tiny_t5_dir), *articles)
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["attempts"] == []
    extractive, seq2seq = report["results"]["extractive"], report["results"]["seq2seq"]
    assert extractive["ask"]["generator"] == "extractive" and not extractive["ask"]["abstained"]
    assert any(ANSWER in quote for _, _, _, quote in extractive["ask"]["citations"])
    assert seq2seq["ask"]["generator"] == seq2seq["brief"]["generator"] == "seq2seq"
    assert seq2seq["ask"]["sentences"] and seq2seq["brief"]["sentences"]
    with Rag(Settings(index_dir=index_dir)) as rag:
        for result in (*extractive.values(), *seq2seq.values()):
            for doc_id, start, end, quote in result["citations"]:
                assert rag.document(doc_id).text[start:end] == quote


def test_pull_is_the_one_command_that_tries_the_network_and_says_so(tmp_path: Path) -> None:
    run = fresh_python(tmp_path, CLI_RUN, "pull", "google/flan-t5-base")
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["code"] == 1 and report["attempts"]
    assert all("huggingface.co" in attempt for attempt in report["attempts"])
    assert run.stderr.startswith("rag: Cannot download google/flan-t5-base: no network is reachable")
    assert "rag pull google/flan-t5-base` on a connected machine" in run.stderr and "Traceback" not in run.stderr
