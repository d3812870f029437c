"""A full disk and a read-only mount (issue 14, finding 11), on a real 4 MB tmpfs.

tests/disk_scenario.py runs in a private mount namespace (``unshare --mount``; without root,
``unshare --user --map-root-user --mount``), so the small file system is seen by no one else and
goes away with it. There it builds an index, fills the disk leaving 0 to 128 KB free, and tries
an ingest each time (failing at different steps of the write: the lock, SQLite, the FAISS file, the
BM25 files); then searches, asks and checks on the full disk; then remounts it read-only. Every
ingest must fail with one line ("no space left on DEVICE while writing INDEX; nothing was changed"),
leave every file as it was and no temporary file behind, and reading must keep working. When no
private mount can be made here the test fails and says why: it never skips.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DATA, ROOT, SEEDS

import rag

pytestmark = pytest.mark.slow  # mounts a file system in a child process

# Bytes left free: the ingest then fails before writing (SQLite cannot make its -shm file, so the
# index opens read-only), in the FAISS file, in the BM25 files, or in SQLite.
FREE_LEVELS = [0, 24_000, 64_000, 100_000, 160_000]


def namespace_prefix() -> list[str]:
    """The command prefix that gives a child process its own mounts, or a failure saying why not."""
    tried = []
    prefixes = [["unshare", "--mount"]] if os.geteuid() == 0 else []
    prefixes.append(["unshare", "--user", "--map-root-user", "--mount"])
    if shutil.which("unshare"):
        for prefix in prefixes:
            probe = subprocess.run([*prefix, "true"], capture_output=True, text=True)
            if probe.returncode == 0:
                return prefix
            tried.append(f"`{' '.join(prefix)}`: {probe.stderr.strip()}")
    else:
        tried.append("no `unshare` command (util-linux)")
    pytest.fail("the disk-full test needs a private mount namespace for a small tmpfs; " + "; ".join(tried))


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("disk")
    (root / "mnt").mkdir()
    articles = root / "articles"
    articles.mkdir()
    for path in sorted(DATA.glob("*.txt")):
        shutil.copy(path, articles / path.name)
    code = Path(rag.__file__).resolve().parent.parent  # the rag under test
    env = {**os.environ, "PYTHONPATH": str(code), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    command = [*namespace_prefix(), sys.executable, str(ROOT / "tests" / "disk_scenario.py"), str(root / "mnt"),
               str(articles), str(SEEDS), ",".join(map(str, FREE_LEVELS))]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=1200)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def message(run: dict) -> str:
    """The one ``rag:`` line of a failed command (no traceback, no other complaint)."""
    assert "Traceback" not in run["err"] and "move it away" not in run["err"], run["err"]
    lines = [line for line in run["err"].splitlines() if line.startswith("rag:")]
    assert len(lines) == 1, run["err"]
    return lines[0]


def assert_reads_work(reads: dict) -> None:
    search, ask, check = reads["search"], reads["ask"], reads["check"]
    assert search["code"] == 0 and "400%" in json.loads(search["out"])[0]["text"], search
    assert ask["code"] == 0 and "400%" in json.loads(ask["out"])["text"], ask
    assert check["code"] == 0 and json.loads(check["out"])["check"] == "ok", check


def test_a_full_disk_fails_the_write_in_one_line_and_changes_nothing(report: dict) -> None:
    assert report["base"]["code"] == 0, report["base"]
    assert [run["free"] <= 200_000 for run in report["full"]] == [True] * len(FREE_LEVELS)
    for run in report["full"]:
        ingest = run["ingest"]
        assert ingest["code"] == 1, f"{run['free']} bytes free: {ingest}"
        line = message(ingest)
        assert line.startswith("rag: no space left on ") and "while writing" in line, line
        assert "; nothing was changed" in line, line
        assert run["same"], f"{run['free']} bytes free: the index changed: {run['files']}"
        assert not [name for name in run["files"] if ".tmp" in name], run["files"]
    steps = {run["cause"].split(":")[0] for run in report["full"]}
    assert len(steps) >= 3, f"the writes failed at too few steps to test the clean-up: {steps}"
    assert_reads_work(report["reads_when_full"])


def test_the_console_script_says_it_in_one_line_too(report: dict) -> None:
    run = report["console_script"]
    assert run["returncode"] == 1
    assert message({"err": run["stderr"]}).startswith("rag: no space left on ")


def test_a_read_only_index_is_searched_asked_and_checked_but_not_written(report: dict) -> None:
    read_only = report["read_only"]
    assert_reads_work(read_only)
    for command in ("ingest", "repair"):
        assert read_only[command]["code"] == 1
        line = message(read_only[command])
        assert "cannot be written (read-only file system)" in line.lower() and "searching and asking work" in line, line
    assert read_only["same"]
