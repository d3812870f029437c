"""The `rag` console script, run as a user runs it: JSON shapes, messages, exit codes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import DATA, SEEDS

pytestmark = pytest.mark.slow  # runs the `rag` console script in subprocesses

RAG = shutil.which("rag") or str(Path(sys.executable).with_name("rag"))


def run(index_dir: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "RAG_INDEX_DIR": str(index_dir)}
    return subprocess.run([RAG, *args], capture_output=True, text=True, env=env, input=stdin, timeout=300)


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cli") / "index"
    result = run(folder, "ingest", str(SEEDS), str(DATA / "bridge_reopens.txt"))
    assert result.returncode == 0, result.stderr
    assert "Added 2 document(s)" in result.stdout
    return folder


def test_search_json_has_the_documented_fields_and_offsets(index_dir):
    result = run(index_dir, "search", "How much should NATO boost air and missile defense?", "--json")
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)
    assert set(hits[0]) == {"rank", "score", "doc_id", "title", "source", "chunk_id", "start", "end", "text"}
    assert "400%" in hits[0]["text"] and hits[0]["rank"] == 1
    shown = json.loads(run(index_dir, "show", hits[0]["doc_id"], "--json").stdout)
    for hit in hits:
        if hit["doc_id"] == shown["doc_id"]:
            assert shown["text"][hit["start"] : hit["end"]] == hit["text"]


def test_docs_and_show_json(index_dir):
    docs = json.loads(run(index_dir, "docs", "--json").stdout)
    assert len(docs) == 2
    assert {"doc_id", "title", "source", "chars", "chunks"} <= set(docs[0])
    bridge = next(d for d in docs if d["source"].endswith("bridge_reopens.txt"))
    assert bridge["title"].startswith("Kessel Bridge")
    shown = json.loads(run(index_dir, "show", bridge["doc_id"], "--json").stdout)
    assert {"doc_id", "title", "source", "text"} <= set(shown)
    assert len(shown["text"]) == bridge["chars"]


def test_reingest_is_reported_unchanged_and_stdin_ingests(index_dir):
    again = run(index_dir, "ingest", str(SEEDS))
    assert "Added 0 document(s)" in again.stdout and "1 unchanged" in again.stdout
    piped = run(index_dir, "ingest", "-", stdin="A note from stdin. The meeting moved to Thursday.")
    assert piped.returncode == 0 and "Added 1 document(s)" in piped.stdout
    docs = json.loads(run(index_dir, "docs", "--json").stdout)
    note = next(d for d in docs if d["source"] == "stdin")
    assert run(index_dir, "remove", note["doc_id"]).returncode == 0
    assert len(json.loads(run(index_dir, "docs", "--json").stdout)) == 2


def test_status_reports_counts_and_check_passes(index_dir):
    result = run(index_dir, "status", "--check", "--json")
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["documents"] == 2 and status["chunks"] == status["vectors"] > 0
    assert status["embedder"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert status["check"] == "ok" and status["disk_bytes"] > 0 and status["device"] == "cpu"


@pytest.mark.parametrize(
    "args,message,code",
    [
        (["show", "no-such-id"], "no document 'no-such-id'", 1),
        (["remove", "no-such-id"], "rag docs", 1),
        (["search"], "required", 2),
        (["ingest", "does/not/exist.txt"], "does/not/exist.txt: no such file", 1),
        (["ask", "x", "--generator", "magic"], "invalid choice", 2),
    ],
)
def test_user_mistakes_give_one_line_and_exit_1_or_2_for_usage(index_dir, args, message, code):
    """Exit 1: the command could not be done; exit 2: the command line itself is wrong."""
    result = run(index_dir, *args)
    assert result.returncode == code
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.strip()]) == 1


@pytest.mark.parametrize(
    "command", ["ingest", "search", "docs", "show", "remove", "status", "ask", "brief", "models", "pull", "serve", "repair",
                "eval"],
)
def test_every_command_has_help_with_an_example(command, tmp_path):
    result = run(tmp_path, command, "--help")
    assert result.returncode == 0
    assert "example:" in result.stdout and f"rag {command}" in result.stdout


HEAVY = ("numpy", "faiss", "bm25s", "torch", "transformers", "sentence_transformers", "onnxruntime", "gradio", "nltk",
         "rouge_score", "trafilatura", "pypdf", "scipy")
IMPORTS = """
import json, sys
from rag.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as done:
    code = done.code
heavy = sorted(name for name in %r if name in sys.modules)
print(json.dumps({"code": code, "heavy": heavy}), file=sys.stderr)
""" % (HEAVY,)


@pytest.mark.parametrize(("args", "allowed"), [
    (["--help"], set()),
    (["ask", "--help"], set()),
    (["eval", "qa", "--help"], set()),
    (["docs"], set()),
    (["show", "no-such-id"], set()),
    (["--device", "cpu", "ask", "How much should NATO boost air and missile defense?"], {"numpy", "faiss", "onnxruntime"}),
])
def test_commands_import_only_what_they_need(index_dir, args, allowed):
    """`rag --help` and `rag docs` import no heavy library; `rag ask` on a CPU only the ONNX path's."""
    env = {**os.environ, "RAG_INDEX_DIR": str(index_dir)}
    done = subprocess.run([sys.executable, "-c", IMPORTS, *args], capture_output=True, text=True, env=env, timeout=300)
    report = json.loads(done.stderr.strip().splitlines()[-1])
    assert report["code"] in (0, 1, None)
    assert set(report["heavy"]) == allowed if allowed else report["heavy"] == []
