"""The CLI a newcomer keeps using (issue 13), one test per habit, run through the real ``rag`` script.

Global options before or after the command; ``rag --version``; unique id
prefixes wherever an id is taken; empty questions are usage errors (exit 2);
reads never create an index; human sizes; help and a default on every
argument; ingest names what it left alone or replaced; the provenance line;
coverage labels cut at a word; the one-time model export announced; progress
bars only on a terminal, never on a results line. Also issue 14 #12 (the
rebuild command the error message suggests works) and #14 (control
characters from titles and file names never reach the terminal).
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import termios
import threading
from pathlib import Path

import pytest
from conftest import DATA, SEEDS
from pdf_bytes import build_pdf, text_page_stream
from serving import RAG

from rag.cli import build_parser
from rag.core import Rag
from rag.ingest import limits_help, load_paths
from rag.settings import Settings
from rag.types import Document
from rag.version import __version__

pytestmark = pytest.mark.slow  # runs the `rag` console script in subprocesses

TWINS = ("a1b2c3d4e5f60001", "a1b2c3d4e5f60002")
QUESTION = "How much did the bridge repairs cost?"
NATO_TITLE_START = "NATO Secretary General Mark Rutte called on alliance"


def rag(*args: str, env: dict[str, str] | None = None, stdin: str | None = None,
        **kwargs) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "RAG_INDEX_DIR"}
    command = [RAG, *args]
    return subprocess.run(command, capture_output=True, text=True, env={**environment, **(env or {})}, input=stdin,
                          timeout=600, **kwargs)


def one_line(done: subprocess.CompletedProcess, code: int) -> str:
    assert done.returncode == code, (done.stdout, done.stderr)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    return lines[0]


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory, minilm) -> Path:
    folder = tmp_path_factory.mktemp("habits") / "index"
    with Rag(Settings(index_dir=folder), embedder=minilm) as r:
        r.ingest(load_paths([str(SEEDS), str(DATA / "bridge_reopens.txt")]).documents)
        r.ingest([Document(id=i, title=f"Twin {n}", source=f"twins/{n}.txt",
                           text=f"Twin {n}. The ferry number {n} runs every hour from June, the operator said.")
                  for n, i in enumerate(TWINS, start=1)])
    return folder


def doc_id(index_dir: Path, source_end: str) -> str:
    docs = json.loads(rag("docs", "--json", "--index-dir", str(index_dir)).stdout)
    return next(d["doc_id"] for d in docs if d["source"].endswith(source_end))


# -- options, version -----------------------------------------------------------------
def test_global_options_go_before_or_after_the_command(index_dir: Path) -> None:
    where = str(index_dir)
    outputs = [
        rag("--index-dir", where, "docs", "--json"),
        rag("docs", "--index-dir", where, "--json"),
        rag("docs", "--json", "--index-dir", where, env={"RAG_INDEX_DIR": "/nonexistent/elsewhere"}),
        rag("docs", "--json", env={"RAG_INDEX_DIR": where}),
    ]
    assert all(o.returncode == 0 for o in outputs), [o.stderr for o in outputs]
    assert len({o.stdout for o in outputs}) == 1 and len(json.loads(outputs[0].stdout)) == 4
    assert rag("ask", QUESTION, "--backend", "onnx-int8", "--index-dir", where).returncode == 0
    assert rag("eval", "qa", "--index-dir", where, "--help").returncode == 0


def test_version() -> None:
    done = rag("--version")
    assert done.returncode == 0 and done.stdout == f"rag {__version__}\n"


# -- ids ------------------------------------------------------------------------------
def test_unique_id_prefixes_are_taken_everywhere(index_dir: Path, tmp_path: Path) -> None:
    where = ["--index-dir", str(index_dir)]
    bridge = doc_id(index_dir, "bridge_reopens.txt")
    prefix = bridge[:4]
    assert json.loads(rag("show", prefix, "--json", *where).stdout)["doc_id"] == bridge
    hits = json.loads(rag("search", "steel cables", "--docs", prefix, "--json", *where).stdout)
    assert hits and {h["doc_id"] for h in hits} == {bridge}
    answer = json.loads(rag("ask", QUESTION, "--docs", bridge[:6].upper(), "--json", *where).stdout)
    assert {c["doc_id"] for c in answer["citations"]} == {bridge}
    briefing = json.loads(rag("brief", prefix, "--length", "short", "--json", *where).stdout)
    assert {c["doc_id"] for c in briefing["coverage"]} == {bridge}
    note = rag("ingest", "-", *where, stdin="A note from stdin. The meeting moved to Thursday afternoon.")
    assert note.returncode == 0, note.stderr
    stdin_id = doc_id(index_dir, "stdin")
    removed = rag("remove", stdin_id[:5], *where)
    assert removed.returncode == 0 and f"removed  {stdin_id[:8]}" in removed.stdout
    assert "stdin" not in {d["source"] for d in json.loads(rag("docs", "--json", *where).stdout)}


def test_an_ambiguous_or_short_prefix_says_so(index_dir: Path) -> None:
    where = ["--index-dir", str(index_dir)]
    line = one_line(rag("show", "a1b2c3d4", *where), 1)
    assert "ambiguous" in line and TWINS[0] in line and TWINS[1] in line and "Twin 1" in line
    assert "at least 4 characters" in one_line(rag("remove", "a1b", *where), 1)
    assert len(json.loads(rag("docs", "--json", *where).stdout)) == 4  # nothing was removed


# -- usage errors and missing indexes -------------------------------------------------
@pytest.mark.parametrize("args", [
    ["ask", ""], ["ask", "   "], ["search", ""], ["search", " \t"], ["brief", "--topic", ""],
])
def test_an_empty_question_or_query_is_a_usage_error(index_dir: Path, args: list[str]) -> None:
    line = one_line(rag(*args, "--index-dir", str(index_dir)), 2)
    assert "is empty" in line and "--help" in line


@pytest.mark.parametrize("args", [
    ["docs"], ["search", "bridge"], ["ask", QUESTION], ["brief"], ["show", "d152b494"], ["remove", "d152b494"],
    ["status"], ["repair"], ["ingest", "--rebuild"],
])
def test_reading_a_folder_without_an_index_says_so(tmp_path: Path, args: list[str]) -> None:
    missing = tmp_path / "typo"
    line = one_line(rag(*args, "--index-dir", str(missing)), 1)
    assert line.startswith(f"rag: no index at {missing}") and "rag ingest" in line
    assert not missing.exists()  # nothing was created


def test_status_shows_human_sizes_and_json_keeps_bytes(index_dir: Path) -> None:
    text = rag("status", "--index-dir", str(index_dir)).stdout
    assert re.search(r"^\s*disk_size: \d+(\.\d)? (kB|MB)$", text, re.M), text
    assert "disk_bytes" not in text
    assert isinstance(json.loads(rag("status", "--json", "--index-dir", str(index_dir)).stdout)["disk_bytes"], int)


# -- help -----------------------------------------------------------------------------
def subparsers(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser]]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.append((name, sub))
                found += [(f"{name} {n}", s) for n, s in subparsers(sub)]
    return found


def test_every_argument_has_help_and_says_its_default() -> None:
    missing = []
    for name, parser in [("rag", build_parser()), *subparsers(build_parser())]:
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._VersionAction, argparse._SubParsersAction)):
                continue
            if not action.help:
                missing.append(f"{name} {action.dest}: no help")
            takes_value = action.nargs != 0 and not isinstance(action, argparse._StoreTrueAction)
            required = action.required or (not action.option_strings and action.nargs in (None, "+"))
            if takes_value and not required and "default" not in action.help:
                missing.append(f"{name} {action.dest}: no default in {action.help!r}")
    assert missing == []


def test_ingest_help_states_the_limits() -> None:
    done = rag("ingest", "--help")
    assert done.returncode == 0
    assert " ".join(limits_help().split()) in " ".join(done.stdout.split())


# -- what ingest, ask and brief print -------------------------------------------------
def test_ingest_names_unchanged_and_replaced_documents(tmp_path: Path) -> None:
    where = ["--index-dir", str(tmp_path / "index")]
    article = tmp_path / "pier.txt"
    article.write_text("Pier repairs begin\n\nThe north pier will be rebuilt for four million euros.\n")
    first = rag("ingest", str(article), *where)
    assert first.returncode == 0, first.stderr
    old = doc_id(tmp_path / "index", "pier.txt")
    again = rag("ingest", str(article), *where)
    assert f"  unchanged  {old[:8]}  Pier repairs begin  ({article})" in again.stdout.splitlines()
    article.write_text("Pier repairs begin\n\nThe north pier will be rebuilt for five million euros.\n")
    edited = rag("ingest", str(article), *where)
    assert "1 replaced" in edited.stdout
    assert f"  replaced   {old[:8]}  Pier repairs begin  ({article})" in edited.stdout.splitlines()


def test_the_provenance_line_says_who_wrote_and_who_retrieved(index_dir: Path) -> None:
    out = rag("ask", QUESTION, "--generator", "extractive", "--index-dir", str(index_dir)).stdout
    assert re.search(r"^— quoted from the articles \(extractive\); retrieval by all-MiniLM-L6-v2 in \d+\.\d\ds$", out,
                     re.M), out


def test_coverage_labels_are_titles_cut_at_a_word(index_dir: Path) -> None:
    nato = doc_id(index_dir, "4d1514b4475eb0d0.txt")
    title = json.loads(rag("show", nato, "--json", "--index-dir", str(index_dir)).stdout)["title"]
    out = rag("brief", nato, "--length", "short", "--index-dir", str(index_dir)).stdout
    label = re.search(r"^Coverage: (.*) \(\d+/\d+ chunks\)$", out, re.M).group(1)
    assert label.startswith(NATO_TITLE_START) and label.endswith("…") and len(label) <= 60
    cut = label[:-1]
    assert title.startswith(cut) and title[len(cut)] == " "  # the next character of the title is a space


def test_the_one_time_model_export_is_announced_before_it_starts(tmp_path: Path) -> None:
    """A fresh model cache: the export is announced on stderr, step by step, before the results."""
    article = tmp_path / "note.txt"
    article.write_text("The council met on Tuesday and approved the new library budget.\n")
    done = rag("ingest", str(article), "--index-dir", str(tmp_path / "index"), env={"RAG_CACHE_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert lines[0].startswith("rag: preparing the embedding model sentence-transformers/all-MiniLM-L6-v2")
    assert "once" in lines[0] and str(tmp_path / "models") in lines[0]
    assert re.fullmatch(r"  \[1/2\] export to ONNX\.\.\. done in \d+ s", lines[1]), lines
    assert re.fullmatch(r"  \[2/2\] quantize to int8\.\.\. done in \d+ s", lines[2]), lines
    assert done.stdout.startswith("Added 1 document(s)")
    again = rag("ingest", str(article), "--index-dir", str(tmp_path / "index"), env={"RAG_CACHE_DIR": str(tmp_path)})
    assert again.stderr == ""  # once


def test_no_progress_bar_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    merged = subprocess.run([RAG, "ingest", str(SEEDS), "--index-dir",
                             str(tmp_path / "index")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            timeout=600)
    assert merged.returncode == 0
    assert merged.stdout.startswith("Added 1 document(s)") and "embedding" not in merged.stdout


def test_the_progress_bar_on_a_terminal_ends_its_line_before_the_results(tmp_path: Path) -> None:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a terminal 100 columns wide
    drawn = bytearray()

    def drain() -> None:
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                return
            if not chunk:
                return
            drawn.extend(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    command = [RAG, "ingest", str(SEEDS), "--index-dir", str(tmp_path / "index")]
    done = subprocess.run(command, stdout=subprocess.PIPE, stderr=slave, text=True, timeout=600)
    os.close(slave)
    reader.join(timeout=10)
    os.close(master)
    terminal = drawn.decode("utf-8", "replace")
    assert done.returncode == 0 and done.stdout.startswith("Added 1 document(s)")
    assert "embedding: 100%" in terminal and terminal.endswith("\n"), terminal


# -- issue 14 -------------------------------------------------------------------------
def test_the_suggested_rebuild_command_works(tmp_path: Path, minilm) -> None:
    """#12: `rag ingest --rebuild`, which the embedder-mismatch message suggests, needs no PATH."""
    folder = tmp_path / "index"
    with Rag(Settings(index_dir=folder, embedder_model="test/other-embedder"), embedder=minilm) as r:
        r.ingest(load_paths([str(DATA / "bridge_reopens.txt")]).documents)
    refused = one_line(rag("ask", QUESTION, "--index-dir", str(folder)), 1)
    assert "`rag ingest --rebuild`" in refused
    rebuilt = rag("ingest", "--rebuild", "--index-dir", str(folder))
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert rebuilt.stdout.startswith("Rebuilt the index:")
    assert "27 million euros" in rag("ask", QUESTION, "--index-dir", str(folder)).stdout
    assert one_line(rag("ingest", "--index-dir", str(folder)), 2).startswith("rag: name at least one PATH")


def hostile_pdf() -> bytes:
    title = "Harbour \x1b[2J\x1b]0;pwned\x07 report"
    utf16 = ("\ufeff" + title).encode("utf-16-be").hex().upper().encode()
    stream = text_page_stream(["The harbour pier will be rebuilt for four million euros.", "Work starts in May."])
    return build_pdf([stream], extra_objects=[b"<< /Title <%s> >>" % utf16], trailer_extra=b"/Info 6 0 R ")


def test_control_characters_never_reach_the_terminal(tmp_path: Path) -> None:
    """#14: titles (a PDF's /Title) and sources (a file name) with ESC and BEL are shown escaped."""
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "report.pdf").write_bytes(hostile_pdf())
    (folder / "ferry\x1b[31m times.txt").write_text("Ferry times change\n\nThe island ferry will leave at seven "
                                                      "from June, the operator said.\n")
    where = ["--index-dir", str(tmp_path / "index")]
    ingest = rag("ingest", str(folder), *where)
    assert ingest.returncode == 0, ingest.stderr
    pdf = doc_id(tmp_path / "index", "report.pdf")
    outputs = [ingest, rag("ingest", str(folder), *where), rag("docs", *where), rag("search", "harbour ferry", *where),
               rag("ask", "When will the island ferry leave?", *where), rag("brief", *where), rag("show", pdf, *where)]
    for done in outputs:
        assert done.returncode == 0, done.stderr
        shown = done.stdout + done.stderr
        assert "\x1b" not in shown and "\x07" not in shown, shown
    docs = outputs[2].stdout
    assert "Harbour \\x1b[2J\\x1b]0;pwned\\x07 report" in docs
    assert "ferry\\x1b[31m times.txt" in outputs[3].stdout
    assert json.loads(rag("show", pdf, "--json", *where).stdout)["title"] == "Harbour \x1b[2J\x1b]0;pwned\x07 report"
