"""Two writers on one index: the second waits for the lock (or refuses clearly), readers keep
working meanwhile, and the result is consistent.

The writers are real `rag ingest` processes. To catch one of them *waiting*, the test itself
holds the write lock the way a writer in the middle of its commit does, and watches the
process open the lock file (in /proc), so nothing depends on timing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import DATA
from rag.chunking import chunk_document
from rag.cli import main
from rag.core import Rag
from rag.errors import IndexLockedError
from rag.ingest import load_paths
from rag.settings import Settings
from rag.storage.locking import LOCK_NAME, write_lock

pytestmark = pytest.mark.slow  # runs concurrent `rag ingest` processes

RAG = str(Path(sys.executable).with_name("rag"))
QUESTION = "When did the Kessel Bridge reopen?"
LIMIT_S = 600


def write_articles(folder: Path, numbers: range) -> None:
    """Short distinct articles, one per number; the same number gives the same text."""
    folder.mkdir(parents=True)
    for n in numbers:
        (folder / f"notice_{n:03d}.txt").write_text(
            f"Notice {n}\n\nThe town council met on day {n} of the session and approved plan number {n} "
            f"for the harbour district. Residents asked for {n} more parking spaces near the ferry terminal, "
            f"and the council promised a reply within {n + 2} weeks.\n"
        )


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let rag.cli.main set its environment defaults only for the length of a test."""
    for name, value in {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
                        "HF_HUB_DISABLE_PROGRESS_BARS": "1"}.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def index_dir(tmp_path: Path, minilm) -> Path:
    """An index holding one article, the state the writers start from."""
    folder = tmp_path / "index"
    with Rag(Settings(index_dir=folder), embedder=minilm) as rag:
        rag.ingest(load_paths([str(DATA / "bridge_reopens.txt")]).documents)
    return folder


def start_ingest(index_dir: Path, folder: Path, logs: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [RAG, "--index-dir", str(index_dir), "ingest", str(folder)],
        stdout=open(logs.with_suffix(".out"), "w"), stderr=open(logs.with_suffix(".err"), "w"),
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )


def has_open(pid: int, path: Path) -> bool:
    """Whether process ``pid`` holds ``path`` open."""
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(fd) == str(path):
                return True
        except OSError:
            continue
    return False


def search_ok(index_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["--index-dir", str(index_dir), "search", QUESTION, "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert hits and hits[0]["source"].endswith("bridge_reopens.txt")


def status(index_dir: Path, capsys: pytest.CaptureFixture[str]) -> dict:
    capsys.readouterr()
    code = main(["--index-dir", str(index_dir), "status", "--check", "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0 and result["check"] == "ok", result
    return result


def assert_consistent(index_dir: Path, expected_sources: set[str]) -> None:
    """Each document once, each with exactly its own chunks, FAISS and SQLite agreeing."""
    with Rag(Settings(index_dir=index_dir)) as rag:
        assert rag.check() == []
        infos = rag.documents()
        assert {Path(i.source).name for i in infos} == expected_sources
        assert len({i.doc_id for i in infos}) == len(infos) == len({i.source for i in infos})
        status = rag.status()
        for info in infos:
            doc = rag.document(info.doc_id)
            chunks = rag.chunks(info.doc_id)
            assert [(c.start, c.end) for c in chunks] == [
                (c.start, c.end) for c in chunk_document(doc, status.max_chars, status.overlap_chars)
            ]
            assert all(doc.text[c.start : c.end] == c.text for c in chunks)
        assert status.vectors == sum(i.chunks for i in infos)


def test_second_writer_waits_for_the_lock_while_readers_work(
    index_dir: Path, tmp_path: Path, cli_env: None, capsys: pytest.CaptureFixture[str], minilm
) -> None:
    write_articles(tmp_path / "a", range(6))
    with write_lock(index_dir, timeout_s=5):  # as a writer in the middle of its commit
        writer = start_ingest(index_dir, tmp_path / "a", tmp_path / "writer")
        deadline = time.monotonic() + LIMIT_S
        while not has_open(writer.pid, index_dir / LOCK_NAME):
            assert writer.poll() is None, (tmp_path / "writer.err").read_text()
            assert time.monotonic() < deadline
            time.sleep(0.01)
        # The writer has embedded its articles and now waits for the lock; readers still work.
        search_ok(index_dir, capsys)
        assert status(index_dir, capsys)["documents"] == 1
        impatient = Rag(Settings(index_dir=index_dir, lock_timeout_s=0), embedder=minilm)
        with pytest.raises(IndexLockedError) as refused:
            impatient.ingest(load_paths([str(DATA / "ferry_strike.txt")]).documents)
        impatient.close()
        message = str(refused.value)
        assert message.startswith(f"{index_dir}: another rag process (pid {os.getpid()}) is writing to this index")
        assert message.endswith("wait for it to finish and run the command again")
        assert writer.poll() is None  # still waiting
    assert writer.wait(timeout=LIMIT_S) == 0, (tmp_path / "writer.err").read_text()
    assert "Added 6 document(s)" in (tmp_path / "writer.out").read_text()
    assert status(index_dir, capsys)["documents"] == 7
    assert_consistent(index_dir, {"bridge_reopens.txt"} | {f"notice_{n:03d}.txt" for n in range(6)})


def test_two_ingests_at_once_finish_or_refuse_clearly_and_agree(
    index_dir: Path, tmp_path: Path, cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    write_articles(tmp_path / "a", range(0, 8))
    write_articles(tmp_path / "b", range(5, 13))  # notices 5-7 are in both folders
    writers = [start_ingest(index_dir, tmp_path / name, tmp_path / name) for name in ("a", "b")]
    searches = 0
    while any(w.poll() is None for w in writers) or searches == 0:
        search_ok(index_dir, capsys)  # a reader during the ingests
        searches += 1
    added: set[str] = set()
    finished = 0
    for name, writer in zip(("a", "b"), writers, strict=True):
        err = (tmp_path / f"{name}.err").read_text()
        if writer.returncode == 0:
            added |= {f"notice_{n:03d}.txt" for n in (range(0, 8) if name == "a" else range(5, 13))}
            finished += 8
        else:
            assert writer.returncode == 1 and "another rag process" in err, err
    assert added, "at least one of two writers must finish"
    # Notices 5-7 have the same text in both folders but are other files: two documents each.
    sources = {"bridge_reopens.txt"} | added
    assert status(index_dir, capsys)["documents"] == 1 + finished
    assert_consistent(index_dir, sources)
