"""Bad inputs in one batch: each gets a message naming the file and the reason, the good files
go in, and what the index held before is untouched.

The batch is built in tmp: every kind of bad file the issue lists, next to good ones. As the
tests run as root, chmod 000 does not stop a read; "unreadable" is covered by paths that are not
regular files (a FIFO, a socket, a broken symlink, a symlink to itself), and permission denied
by a subprocess that drops to the ``nobody`` user (or runs as is when not root).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import tracemalloc
from pathlib import Path
from typing import Iterator

import pytest
from pypdf import PdfWriter

from conftest import DATA, ROOT
from rag.cli import main
from rag.core import Rag
from rag.ingest import load_paths
from rag.settings import Settings

pytestmark = pytest.mark.slow  # builds a 100 MB file and runs a subprocess as another user

HUGE_BYTES = 100_000_000
LONG_SENTENCE = " ".join(
    f"and the committee member number {i} asked for a further delay to the vote on the harbour plan"
    for i in range(20)
).capitalize() + "."
GOOD = {
    "bridge.txt": "Kessel Bridge",
    "guide.md": "The race starts at 8:30 in Castle Square",
    "library.html": "Alder Central Library will open on Sundays",
    "report.pdf": "Millbrook Water Board supplied 14.2 million cubic metres",
    "latin1.txt": "Der Bürgermeister eröffnete am Montag die neue Brücke über die Aln.",
    "damaged_utf8.txt": "Café owners in Zürich",
    "long_sentence.txt": LONG_SENTENCE[:60],
}
# file name -> what its message must say
BAD = {
    "empty.txt": "the file is empty (0 bytes)",
    "blank.txt": "holds only whitespace",
    "binary.txt": "looks like a binary file",
    "huge.txt": "the file is 100.0 MB (100,000,000 bytes), over the 20.0 MB limit for one article",
    "scanned.pdf": "the PDF has no text layer",
    "locked.pdf": "the PDF is encrypted with a password",
    "truncated.pdf": "damaged or truncated PDF",
    "scripts.html": "no article text found in the HTML",
    "slides.pptx": "unsupported file type '.pptx'",
    "pipe.txt": "is a named pipe (FIFO), not a file",
    "socket.txt": "is a socket, not a file",
    "dangling.txt": "broken symbolic link",
    "selfloop.txt": "symbolic link loop (the link points back to itself)",
    "loop": "symbolic link loop (a folder link back to a folder above it) skipped",
}


def _pdfs(folder: Path) -> None:
    shutil.copy(DATA / "two_pages.pdf", folder / "report.pdf")
    blank = PdfWriter()
    blank.add_blank_page(612, 792)
    blank.write(folder / "scanned.pdf")
    locked = PdfWriter(clone_from=DATA / "two_pages.pdf")
    locked.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    locked.write(folder / "locked.pdf")
    data = (DATA / "two_pages.pdf").read_bytes()
    (folder / "truncated.pdf").write_bytes(data[: len(data) * 2 // 3])


def _special_files(folder: Path) -> None:
    os.mkfifo(folder / "pipe.txt")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(folder / "socket.txt"))
    server.close()
    os.symlink(folder / "gone.txt", folder / "dangling.txt")
    os.symlink("selfloop.txt", folder / "selfloop.txt")
    os.symlink(".", folder / "loop")


def _huge(path: Path) -> None:
    block = ("All work and no play makes a very long file. " * 25_000)[:1_000_000].encode()
    with open(path, "wb") as f:
        for _ in range(HUGE_BYTES // len(block)):
            f.write(block)


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("robust") / "batch"
    folder.mkdir()
    shutil.copy(DATA / "bridge_reopens.txt", folder / "bridge.txt")
    shutil.copy(DATA / "marathon_guide.md", folder / "guide.md")
    shutil.copy(DATA / "library_news.html", folder / "library.html")
    (folder / "latin1.txt").write_bytes(GOOD["latin1.txt"].encode("latin-1"))
    damaged = "Café owners in Zürich raised prices. ".encode() * 5 + b"Cut \xe2\x82 here."  # a cut-off €
    (folder / "damaged_utf8.txt").write_bytes(damaged)
    (folder / "long_sentence.txt").write_text(LONG_SENTENCE, encoding="utf-8")
    (folder / "empty.txt").write_bytes(b"")
    (folder / "blank.txt").write_text("  \n\t\n   \n")
    (folder / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8)
    (folder / "scripts.html").write_text(
        "<html><head><script>var t = 1;</script></head><body><script>render()</script>"
        "<noscript>Please enable JavaScript to view this page.</noscript><div id='app'></div></body></html>"
    )
    (folder / "slides.pptx").write_bytes(b"PK\x03\x04 not really slides")
    _pdfs(folder)
    _special_files(folder)
    _huge(folder / "huge.txt")
    yield folder
    (folder / "huge.txt").unlink()


def _message_for(name: str, batch: Path, messages: list[str]) -> str:
    path = str(batch / name)
    found = [m for m in messages if m.startswith(f"{path}:")]
    assert len(found) == 1, f"{name}: expected one message, got {found}"
    return found[0]


def test_huge_file_is_refused_without_being_read(batch: Path) -> None:
    tracemalloc.start()
    try:
        result = load_paths([str(batch / "huge.txt")])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1024 * 1024  # not one megabyte of the 100 MB was loaded
    fix = "split it into one file per article, or raise the limit (max_file_bytes)"
    assert [str(p) for p in result.problems] == [f"{batch / 'huge.txt'}: {BAD['huge.txt']}; {fix}"]


def test_batch_loads_good_files_and_names_each_bad_one(batch: Path) -> None:
    result = load_paths([str(batch)])
    assert sorted(Path(d.source).name for d in result.documents) == sorted(GOOD)
    for doc in result.documents:
        assert GOOD[Path(doc.source).name] in doc.text
    messages = [str(p) for p in result.problems]
    assert len(messages) == len(BAD)
    for name, reason in BAD.items():
        assert reason in _message_for(name, batch, messages)
    notes = sorted(result.notes)
    assert len(notes) == 2
    assert notes[0].startswith(f"{batch / 'damaged_utf8.txt'}: not valid UTF-8 in 1 place(s)")
    assert notes[1].startswith(f"{batch / 'latin1.txt'}: not UTF-8, read as Windows-1252")


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let rag.cli.main set its environment defaults only for the length of a test."""
    for name, value in {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
                        "HF_HUB_DISABLE_PROGRESS_BARS": "1"}.items():
        monkeypatch.setenv(name, value)


def _check_chunks(index: Rag) -> None:
    for info in index.documents():
        doc = index.document(info.doc_id)
        for chunk in index.chunks(info.doc_id):
            assert doc.text[chunk.start : chunk.end] == chunk.text


def test_cli_batch_keeps_previous_documents_and_reports_every_file(
    batch: Path, tmp_path: Path, cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    index_dir = tmp_path / "index"
    assert main(["--index-dir", str(index_dir), "ingest", str(DATA / "ferry_strike.txt")]) == 0
    with Rag(Settings(index_dir=index_dir)) as before:
        (previous,) = before.documents()
        previous_chunks = before.chunks(previous.doc_id)
    capsys.readouterr()

    missing = str(tmp_path / "missing.txt")
    assert main(["--index-dir", str(index_dir), "ingest", str(batch), missing]) == 0
    out, err = capsys.readouterr()
    skipped = [line.removeprefix("skipped: ") for line in err.splitlines() if line.startswith("skipped: ")]
    assert len(skipped) == len(BAD) + 1 and f"{missing}: no such file or folder; check the path" in skipped
    for name, reason in BAD.items():
        assert reason in _message_for(name, batch, skipped)
    assert f"Added {len(GOOD)} document(s)" in out and f"{len(BAD) + 1} skipped" in out

    with Rag(Settings(index_dir=index_dir)) as index:
        sources = sorted(Path(d.source).name for d in index.documents())
        assert sources == sorted([*GOOD, "ferry_strike.txt"])
        assert index.chunks(previous.doc_id) == previous_chunks
        assert index.document(previous.doc_id).text == (DATA / "ferry_strike.txt").read_text(encoding="utf-8")
        assert index.check() == []
        _check_chunks(index)
    assert main(["--index-dir", str(index_dir), "status", "--check", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["check"] == "ok"


def test_a_sentence_longer_than_a_chunk_is_split_at_word_boundaries(batch: Path, make_rag) -> None:
    index = make_rag(max_chars=400, overlap_chars=100)
    (doc,) = load_paths([str(batch / "long_sentence.txt")]).documents
    index.ingest([doc])
    chunks = index.chunks(doc.id)
    assert len(LONG_SENTENCE) > 1800 and len(chunks) >= 5
    for chunk in chunks:
        assert doc.text[chunk.start : chunk.end] == chunk.text and len(chunk.text) <= 400
        assert chunk.start == 0 or doc.text[chunk.start - 1] == " "
        assert chunk.end == len(doc.text) or doc.text[chunk.end] == " "
    words = [w for c in chunks for w in c.text.split()]
    assert set(words) == set(doc.text.split())  # every word is in some chunk, none is cut
    assert chunks[0].start == 0 and chunks[-1].end == len(doc.text)


PERMISSION_SCRIPT = """
import json, os, sys
sys.path.insert(0, sys.argv[2])
from rag.ingest import load_paths
load_paths([sys.argv[1]])  # import what reading needs (codecs) while the files are still reachable
if os.geteuid() == 0:
    os.setgid(65534)
    os.setuid(65534)
result = load_paths([sys.argv[1]])
print(json.dumps({"docs": [d.source for d in result.documents], "problems": [str(p) for p in result.problems]}))
"""


def test_permission_denied_is_reported_and_the_rest_read() -> None:
    # Not under tmp_path: pytest's base folder is private to root, so `nobody` could not reach it.
    folder = Path(tempfile.mkdtemp(prefix="rag-perm-"))
    try:
        folder.chmod(0o755)
        (folder / "open.txt").write_text("Readable article about the harbour.")
        (folder / "secret.txt").write_text("Nobody may read this.")
        (folder / "secret.txt").chmod(0o000)
        run = subprocess.run(
            [sys.executable, "-c", PERMISSION_SCRIPT, str(folder), str(ROOT)],
            capture_output=True, text=True, timeout=120,
        )
    finally:
        shutil.rmtree(folder)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["docs"] == [str(folder / "open.txt")]
    assert result["problems"] == [
        f"{folder / 'secret.txt'}: cannot read (Permission denied); check the path and its permissions"
    ]
