"""SIGKILL during `rag ingest`: the index must open, answer, pass `rag status --check`, and hold
exactly the documents of before the ingest or of after it, never a mix.

Kill points are picked by watching the ingest from outside, not by timers or hooks in rag:
each case waits for a sign that the run reached a phase (the process exists; it opened the
database; the embedding model is mapped into its memory; it created the write lock; a file of
the next generation appeared; the manifest records the next generation), then kills the whole
process group at once. The signs are things that stay once they happen, so polling cannot miss
them. A run killed before it created the write lock cannot have started its commit, so its index
must be in the "before" state; one killed after its commit was seen must be in the "after" state.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from conftest import DATA
from rag.cli import main
from rag.core import Rag
from rag.ingest import load_paths
from rag.ingest.identity import document_id, file_source
from rag.sentences import split_sentences
from rag.settings import Settings

pytestmark = pytest.mark.slow  # kills `rag ingest` processes at each phase

RAG = str(Path(sys.executable).with_name("rag"))
ARTICLES = 40
LOCK = ".write.lock"
SQLITE_SIDE_FILES = {"rag.sqlite-wal", "rag.sqlite-shm", "rag.sqlite-journal", LOCK}
QUESTION = "When did the Kessel Bridge reopen?"
POLL_S = 0.002
RUN_LIMIT_S = 600


def write_articles(folder: Path, count: int) -> list[str]:
    """``count`` distinct short articles made of fixture sentences; returns their document ids."""
    folder.mkdir(parents=True)
    sentences = []
    for path in sorted(DATA.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        sentences += [text[s:e] for s, e in split_sentences(text) if e - s > 40]
    for i in range(count):
        body = " ".join(sentences[(i * 5 + j) % len(sentences)] for j in range(4))
        (folder / f"dispatch_{i:03d}.txt").write_text(f"Dispatch {i}\n\n{body} This was dispatch {i}.\n")
    return [d.id for d in load_paths([str(folder)]).documents]


@dataclass
class Base:
    index_dir: Path
    articles: Path
    before: set[str]
    after: set[str]
    files: set[str]
    generation: int


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory, minilm) -> Base:
    root = tmp_path_factory.mktemp("crash")
    index_dir = root / "base"
    rag = Rag(Settings(index_dir=index_dir), embedder=minilm)
    rag.ingest(load_paths([str(DATA / "bridge_reopens.txt"), str(DATA / "lynx_kittens.txt")]).documents)
    generation = rag.index.generation
    rag.close()
    first = (DATA / "bridge_reopens.txt", DATA / "lynx_kittens.txt")
    before = {document_id(file_source(p), p.read_text(encoding="utf-8")) for p in first}
    after = before | set(write_articles(root / "articles", ARTICLES))
    files = {p.name for p in index_dir.iterdir()} - SQLITE_SIDE_FILES
    return Base(index_dir, root / "articles", before, after, files, generation)


def _model_mapped(pid: int) -> bool:
    """The embedding model is being loaded: PyTorch weights mapped, or onnxruntime's library."""
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False
    return "model.safetensors" in maps or "onnxruntime_pybind11_state" in maps


def _next_generation_file(index_dir: Path, base: Base) -> bool:
    return any(p.name not in base.files | SQLITE_SIDE_FILES for p in index_dir.iterdir())


def _committed(index_dir: Path, base: Base) -> bool:
    """Whether the manifest records a newer generation than the base (a read-only look, no lock)."""
    db = sqlite3.connect(f"file:{index_dir / 'rag.sqlite'}?mode=ro", uri=True, timeout=1.0)
    try:
        row = db.execute("SELECT value FROM manifest WHERE key = 'generation'").fetchone()
    finally:
        db.close()
    return row is not None and int(row[0]) > base.generation


# name -> sign that the run reached the phase: (process id, index folder, base) -> bool
SIGNS: dict[str, Callable[[int, Path, Base], bool]] = {
    "at_start": lambda pid, d, b: True,
    "database_opened": lambda pid, d, b: (d / "rag.sqlite-shm").exists() or (d / "rag.sqlite-wal").exists(),
    "model_loaded": lambda pid, d, b: _model_mapped(pid),
    "commit_started": lambda pid, d, b: (d / LOCK).exists(),
    "next_generation_written": lambda pid, d, b: _next_generation_file(d, b),
    "committed": lambda pid, d, b: (d / LOCK).exists() and _committed(d, b),
    "never": lambda pid, d, b: False,
}


@dataclass
class Run:
    killed: bool
    lock_existed: bool
    returncode: int
    stderr: str


def ingest_until(sign: Callable[[int, Path, Base], bool], index_dir: Path, base: Base, logs: Path) -> Run:
    """Start `rag ingest` on the articles; SIGKILL its process group once ``sign`` holds."""
    with open(logs / "out.txt", "w") as out, open(logs / "err.txt", "w") as err:
        proc = subprocess.Popen(
            [RAG, "--index-dir", str(index_dir), "ingest", str(base.articles)],
            stdout=out, stderr=err, start_new_session=True, env={**os.environ, "HF_HUB_OFFLINE": "1"},
        )
        deadline = time.monotonic() + RUN_LIMIT_S
        killed = lock_existed = False
        while proc.poll() is None and time.monotonic() < deadline:
            if sign(proc.pid, index_dir, base):
                lock_existed = (index_dir / LOCK).exists()
                os.killpg(proc.pid, signal.SIGKILL)
                killed = True
                break
            time.sleep(POLL_S)
        returncode = proc.wait(timeout=60)
    return Run(killed, lock_existed, returncode, (logs / "err.txt").read_text())


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let rag.cli.main set its environment defaults only for the length of a test."""
    for name, value in {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
                        "HF_HUB_DISABLE_PROGRESS_BARS": "1"}.items():
        monkeypatch.setenv(name, value)


def assert_index_answers(index_dir: Path, capsys: pytest.CaptureFixture[str]) -> set[str]:
    """`rag status --check` and `rag search` succeed; returns the document ids held."""
    capsys.readouterr()
    assert main(["--index-dir", str(index_dir), "status", "--check", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["check"] == "ok" and status["chunks"] == status["vectors"]
    assert main(["--index-dir", str(index_dir), "search", QUESTION, "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert hits and any(h["source"].endswith("bridge_reopens.txt") for h in hits)
    with Rag(Settings(index_dir=index_dir)) as rag:
        assert rag.check() == []
        ids = {info.doc_id for info in rag.documents()}
        for doc_id in ids:
            text = rag.document(doc_id).text
            assert all(text[c.start : c.end] == c.text for c in rag.chunks(doc_id))
    assert status["documents"] == len(ids)
    return ids


@pytest.mark.parametrize("phase", list(SIGNS))
def test_sigkill_leaves_the_before_or_after_state(
    phase: str, base: Base, tmp_path: Path, cli_env: None, capsys: pytest.CaptureFixture[str], minilm
) -> None:
    index_dir = tmp_path / "index"
    shutil.copytree(base.index_dir, index_dir)
    (index_dir / LOCK).unlink(missing_ok=True)  # so its creation marks the start of the commit
    run = ingest_until(SIGNS[phase], index_dir, base, tmp_path)
    if phase == "never":
        assert not run.killed and run.returncode == 0, run.stderr
    else:
        # Every other phase must really have been killed: a run that finished before its sign
        # was seen would test nothing. The commit phases still have an exit ahead of them.
        assert run.killed and run.returncode == -signal.SIGKILL, f"{phase}: never killed ({run.returncode})"
    if phase not in ("never", "commit_started", "next_generation_written", "committed"):
        assert not run.lock_existed  # these phases come before the commit
    ids = assert_index_answers(index_dir, capsys)
    assert ids in (base.before, base.after), f"{phase}: {len(ids)} documents, a mix of before and after"
    if run.killed and not run.lock_existed:
        assert ids == base.before  # killed before its commit began
    if phase in ("never", "committed"):
        assert ids == base.after  # the commit was seen (or the run finished) before the kill
    if phase == "next_generation_written":
        # The interrupted ingest can simply be run again, over whatever files the kill left.
        with Rag(Settings(index_dir=index_dir), embedder=minilm) as rag:
            rag.ingest(load_paths([str(base.articles)]).documents)
        assert assert_index_answers(index_dir, capsys) == base.after
        assert not [p.name for p in index_dir.iterdir() if p.name.endswith(".tmp")]  # the next write tidies up
