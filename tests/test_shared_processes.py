"""The shared deployment (PostgreSQL + Milvus) with real processes: `rag ingest` killed at each phase,
two writers at once beside a reader, and two `rag serve` processes seeing each other's writes.

Kill points are signs seen from outside, as in tests/test_crash.py: the process exists; the
embedding model is mapped into it; PostgreSQL shows it holding the writers' advisory lock; the
store's manifest records the next generation while its change still waits in the outbox (the
moment between the store's commit and Milvus's); the outbox is empty again (Milvus applied it).
The moment between the two commits is caught by stopping the process (SIGSTOP) the instant the
sign is seen, checking the outbox while it is frozen, then killing it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import psycopg
import pytest
from conftest import DATA, engine_ids
from servers import free_port
from test_crash import POLL_S, RUN_LIMIT_S, _model_mapped, write_articles

from rag.chunking import chunk_document
from rag.cli import main
from rag.core import Rag
from rag.ingest import load_paths
from rag.ingest.identity import document_id, file_source
from rag.settings import Settings
from rag.storage.postgres import lock_key

pytestmark = pytest.mark.slow  # starts, stops and kills rag processes

RAG = str(Path(sys.executable).with_name("rag"))
QUESTION = "When did the Kessel Bridge reopen?"
CATCH_TRIES = 4


@dataclass
class Deployment:
    store: str
    engine: str

    @property
    def flags(self) -> list[str]:
        return ["--store", self.store, "--engine", self.engine]

    def settings(self, **changes) -> Settings:
        return Settings(store=self.store, search_engine=self.engine, generator="extractive").with_(**changes)


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
                        "HF_HUB_DISABLE_PROGRESS_BARS": "1"}.items():
        monkeypatch.setenv(name, value)


def fresh(postgres, milvus) -> Deployment:
    return Deployment(postgres.new_database(), milvus.uri)


class Probe:
    """Looks at a shared index from outside, on a connection of its own (one query a look)."""

    def __init__(self, deployment: Deployment) -> None:
        self.db = psycopg.connect(deployment.store, autocommit=True)

    def __call__(self) -> tuple[int, int, bool]:
        """(committed generation, outbox records, whether a writer holds the advisory lock)."""
        key = lock_key("public")
        row = self.db.execute(
            "SELECT (SELECT coalesce(max(value::int), 0) FROM manifest WHERE key = 'generation'), "
            "(SELECT count(*) FROM engine_changes), "
            "(SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1 "
            " AND classid::bigint = %s AND objid::bigint = %s)",
            ((key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF),
        ).fetchone()
        assert row is not None
        return int(row[0]), int(row[1]), bool(row[2])

    def close(self) -> None:
        self.db.close()


# -- SIGKILL at each phase ------------------------------------------------------------------
@dataclass
class Base:
    articles: Path
    before: set[str]
    after: set[str]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Base:
    root = tmp_path_factory.mktemp("shared-crash")
    first = (DATA / "bridge_reopens.txt", DATA / "lynx_kittens.txt")
    before = {document_id(file_source(p), p.read_text(encoding="utf-8")) for p in first}
    return Base(root / "articles", before, before | set(write_articles(root / "articles", 40)))


def seeded(postgres, milvus, minilm) -> tuple[Deployment, int]:
    """A fresh shared index holding the two first articles; its generation."""
    deployment = fresh(postgres, milvus)
    with Rag(deployment.settings(), embedder=minilm) as rag:
        rag.ingest(load_paths([str(DATA / "bridge_reopens.txt"), str(DATA / "lynx_kittens.txt")]).documents)
        return deployment, rag.index.generation


def _between_commits(generation: int, outbox: int, locked: bool, base_generation: int) -> bool:
    return generation > base_generation and outbox > 0


# name -> sign of the phase: (process id, (generation, outbox, locked), base generation) -> bool
Sign = Callable[[int, tuple[int, int, bool], int], bool]
SIGNS: dict[str, Sign] = {
    "at_start": lambda pid, now, g: True,
    "model_loaded": lambda pid, now, g: _model_mapped(pid),
    "lock_held": lambda pid, now, g: now[2],
    "between_commits": lambda pid, now, g: _between_commits(*now, g),
    "between_commits_healed_by_next_write": lambda pid, now, g: _between_commits(*now, g),
    "applied": lambda pid, now, g: now[0] > g and now[1] == 0,
    "never": lambda pid, now, g: False,
}


def ingest_until(sign: Sign, deployment: Deployment, generation: int, base: Base, logs: Path) -> tuple[bool, int]:
    """Run `rag ingest`; at the sign stop its process group, note the outbox, kill it. (killed, outbox)."""
    with open(logs / "out.txt", "w") as out, open(logs / "err.txt", "w") as err:
        proc = subprocess.Popen([RAG, *deployment.flags, "ingest", str(base.articles)], stdout=out, stderr=err,
                                start_new_session=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
        deadline = time.monotonic() + RUN_LIMIT_S
        killed, outbox, probe = False, 0, Probe(deployment)
        while proc.poll() is None and time.monotonic() < deadline:
            if sign(proc.pid, probe(), generation):
                os.killpg(proc.pid, signal.SIGSTOP)
                outbox = probe()[1]  # as the frozen process left it
                os.killpg(proc.pid, signal.SIGKILL)
                killed = True
                break
            time.sleep(POLL_S)
        proc.wait(timeout=60)
        probe.close()
    return killed, outbox


def stored_ids(deployment: Deployment) -> set[str]:
    """The store's documents (each with the offset property on every chunk), read as a fresh reader."""
    with Rag(deployment.settings()) as rag:
        ids = {info.doc_id for info in rag.documents()}
        for doc_id in ids:
            text = rag.document(doc_id).text
            assert all(text[c.start : c.end] == c.text for c in rag.chunks(doc_id))
    return ids


def cli_json(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    capsys.readouterr()
    code = main(args)
    return code, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("phase", list(SIGNS))
def test_sigkill_leaves_a_consistent_store_and_repair_resyncs_milvus(
    phase, base, postgres, milvus, tmp_path, cli_env, capsys, minilm
):
    for _ in range(CATCH_TRIES):  # the moment between the commits is short: catch it, or try again
        deployment, generation = seeded(postgres, milvus, minilm)
        killed, outbox = ingest_until(SIGNS[phase], deployment, generation, base, tmp_path)
        if not phase.startswith("between_commits") or outbox:
            break
    assert killed == (phase != "never"), (tmp_path / "err.txt").read_text()
    ids = stored_ids(deployment)
    assert ids in (base.before, base.after), f"{phase}: {len(ids)} documents, a mix of before and after"
    if phase in ("at_start", "model_loaded"):
        assert ids == base.before  # killed before it could commit
    if phase.startswith("between_commits") or phase in ("applied", "never"):
        assert ids == base.after  # the store committed: nothing committed is lost
    code, status = cli_json([*deployment.flags, "status", "--check", "--json"], capsys)
    if phase.startswith("between_commits"):
        assert outbox > 0, "never caught the moment between the two commits"
        assert code == 1 and any("not yet in Milvus" in p for p in status["check"]), status["check"]
        # A reader meanwhile gets answers, every one a chunk the store has, at its exact offsets.
        hits = cli_json([*deployment.flags, "search", QUESTION, "-k", "20", "--json"], capsys)[1]
        with Rag(deployment.settings()) as rag:
            assert hits and {h["doc_id"] for h in hits} <= ids
            assert all(rag.document(h["doc_id"]).text[h["start"] : h["end"]] == h["text"] for h in hits)
    if phase == "between_commits_healed_by_next_write":
        with Rag(deployment.settings(), embedder=minilm) as rag:
            rag.ingest(load_paths([str(DATA / "ferry_strike.txt")]).documents)
        ferry = DATA / "ferry_strike.txt"
        healed = base.after | {document_id(file_source(ferry), ferry.read_text(encoding="utf-8"))}
    else:
        capsys.readouterr()
        assert main([*deployment.flags, "repair"]) == 0
        assert "Check: ok" in capsys.readouterr().out
        healed = ids
    code, status = cli_json([*deployment.flags, "status", "--check", "--json"], capsys)
    assert code == 0 and status["check"] == "ok" and status["chunks"] == status["vectors"]
    assert status["documents"] == len(healed) and stored_ids(deployment) == healed
    hits = cli_json([*deployment.flags, "search", QUESTION, "--json"], capsys)[1]
    assert hits and "Kessel" in hits[0]["text"]  # the bridge article, or a dispatch quoting it


# -- two writers and a reader -----------------------------------------------------------------
def notices(folder: Path, numbers: range, town: str) -> None:
    folder.mkdir(parents=True)
    for n in numbers:
        (folder / f"{town}_{n:03d}.txt").write_text(
            f"{town.title()} notice {n}\n\nThe {town} council met on day {n} and approved plan number {n} for the "
            f"harbour district. Residents asked for {n} more parking spaces near the {town} ferry terminal, and the "
            f"council promised a reply within {n + 2} weeks.\n"
        )


def test_two_writers_and_a_reader_on_one_shared_deployment(postgres, milvus, tmp_path, minilm):
    deployment, _ = seeded(postgres, milvus, minilm)
    notices(tmp_path / "a", range(10), "northport")
    notices(tmp_path / "b", range(10), "southby")
    writers = [
        subprocess.Popen([RAG, *deployment.flags, "ingest", str(tmp_path / name)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
        for name in ("a", "b")
    ]
    reader = Rag(deployment.settings(), embedder=minilm)
    searches = 0
    while any(w.poll() is None for w in writers) or searches == 0:
        hits = reader.search(QUESTION, k=5)
        assert hits and hits[0].chunk.doc_id in reader.index.stored_ids([hits[0].chunk.doc_id])
        for hit in reader.search("parking spaces near the ferry terminal", k=10):
            assert reader.document(hit.chunk.doc_id).text[hit.chunk.start : hit.chunk.end] == hit.chunk.text
        searches += 1
    for writer in writers:
        out, err = writer.communicate()
        assert writer.returncode == 0 and "Added 10 document(s)" in out, err
    assert reader.check() == []
    infos = reader.documents()
    names = sorted(Path(i.source).name for i in infos)
    expected = sorted(["bridge_reopens.txt", "lynx_kittens.txt"] + [f"northport_{n:03d}.txt" for n in range(10)]
                      + [f"southby_{n:03d}.txt" for n in range(10)])
    assert names == expected  # every document exactly once
    status = reader.status()
    for info in infos:
        doc = reader.document(info.doc_id)
        assert [(c.start, c.end) for c in reader.chunks(info.doc_id)] == [
            (c.start, c.end) for c in chunk_document(doc, status.max_chars, status.overlap_chars)]
    assert engine_ids(reader) == set(reader.index.chunk_ids()) and status.vectors == status.chunks
    reader.close()


# -- two web servers -------------------------------------------------------------------------------
class Server:
    """`rag serve` on a free port, driven through its JSON HTTP API (/api/v1)."""

    def __init__(self, deployment: Deployment, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/api/v1"
        self.log = log
        with log.open("w") as out:
            self.proc = subprocess.Popen([RAG, *deployment.flags, "serve", "--port", str(self.port)],
                                         stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})

    def wait(self, limit_s: float = 300) -> None:
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()
            try:
                with urllib.request.urlopen(f"{self.url}/status", timeout=2):
                    return
            except OSError:
                time.sleep(0.5)
        pytest.fail(f"rag serve did not answer on {self.url}:\n{self.log.read_text()}")

    def call(self, method: str, path: str, body: dict | None = None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=300) as response:
            return json.loads(response.read())

    def titles(self) -> list[str]:
        return [d["title"] for d in self.call("GET", "/docs")]

    def ask(self, question: str) -> str:
        return self.call("POST", "/ask", {"question": question, "generator": "extractive"})["text"]

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)  # as Ctrl-C: the server removes its upload folder
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def test_two_servers_see_each_others_ingests_and_removals(postgres, milvus, tmp_path, minilm):
    deployment, _ = seeded(postgres, milvus, minilm)
    servers = [Server(deployment, tmp_path / f"serve-{n}.log") for n in (1, 2)]
    try:
        threads = [threading.Thread(target=s.wait) for s in servers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        first, second = servers
        assert "Kessel Bridge Reopens" in " ".join(second.titles())
        text = ("The Morrow Lake ferry will run a night service from March 3. The harbour office said the last "
                "boat leaves at 23:50 and tickets cost 4 euros.")
        added = first.call("POST", "/docs", {"text": text, "title": "Morrow Lake night ferry"})
        assert "Morrow Lake night ferry" in second.titles()  # no restart
        assert "23:50" in second.ask("When does the last Morrow Lake boat leave?")
        doc_id = added["added"][0]["doc_id"]
        second.call("DELETE", f"/docs/{doc_id}")
        assert "Morrow Lake night ferry" not in first.titles()
        assert "23:50" not in first.ask("When does the last Morrow Lake boat leave?")
    finally:
        for s in servers:
            s.stop()
    with Rag(deployment.settings()) as rag:
        assert rag.check() == []


# -- Milvus Lite's server leaves with its process ---------------------------------------------------
def test_milvus_lite_servers_never_outlive_rag(tmp_path, cli_env):
    from test_shared_checks import gone, milvus_processes

    data_file = tmp_path / "milvus.db"
    flags = ["--index-dir", str(tmp_path / "index"), "--engine", f"milvus-lite:{data_file}"]
    done = subprocess.run([RAG, *flags, "ingest", str(DATA / "bridge_reopens.txt")], capture_output=True, text=True)
    assert done.returncode == 0 and "Added 1 document(s)" in done.stdout, done.stderr
    assert gone(data_file, limit_s=1)  # a command that ends stops its server
    # Killed mid-ingest: the server notices its lock let go and stops by itself.
    proc = subprocess.Popen([RAG, *flags, "ingest", str(DATA)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + RUN_LIMIT_S
    while not milvus_processes(data_file) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(POLL_S)
    assert milvus_processes(data_file), proc.stderr.read() if proc.stderr else ""
    proc.kill()
    proc.wait()
    assert gone(data_file)
    # `rag serve` stopped as Ctrl-C or a service manager would: it stops the server on its way out.
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        port = free_port()
        log = tmp_path / f"serve-{stop_signal}.log"
        with log.open("w") as out:
            serve = subprocess.Popen([RAG, *flags, "serve", "--port", str(port)], stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + RUN_LIMIT_S
        while time.monotonic() < deadline:
            assert serve.poll() is None, log.read_text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/status", timeout=2):
                    break
            except OSError:
                time.sleep(0.5)
        assert milvus_processes(data_file)
        serve.send_signal(stop_signal)
        assert serve.wait(timeout=60) == 0, log.read_text()
        assert gone(data_file, limit_s=1), log.read_text()
