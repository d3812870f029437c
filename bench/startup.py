"""Start-up costs: `rag --help`, `rag docs`, a cold `rag ask`, test collection, the full suite.

Every figure is the wall time of a fresh process, compared with the same
venv's ``python -c pass`` measured in the same run (the baseline): ratios
for `rag --help`, seconds above the baseline for the rest. Each command runs
``--repeats`` times and the median is reported (the suite runs once). The
index for `rag docs` and `rag ask` holds the seeds, built in a temporary
folder before timing. ``--root`` measures another checkout of the project
with the same commands, through the same interpreter and with
``PYTHONPATH`` pointing at that checkout: the "before" figures measure
commit 294a492 (the code before issue 10) exported with ``git archive``.
The load average at the start and end of the run is recorded: the machine
may be shared, and a busy machine makes every figure longer.

    python bench/startup.py [--root DIR] [--repeats 5] [--suite] [--label NAME] [--write]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence

from common import ROOT, table, write_section

QUESTION = "By how much did Rutte urge NATO members to boost air and missile defense?"
TARGETS = {
    "rag --help": "<= 5x baseline",
    "rag docs (seeds index)": "<= baseline + 0.5 s",
    "rag ask, cold (seeds index)": "<= 1.5 s",
    "pytest --collect-only": "<= 5 s",
    "pytest (full suite)": "<= 120 s (quiet machine)",
}


def _env(root: Path, index_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(PYTHONPATH=str(root), RAG_INDEX_DIR=str(index_dir), HF_HUB_OFFLINE="1")
    return env


def _run(argv: Sequence[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(list(argv), env=env, cwd=cwd, capture_output=True, text=True)
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return took


def _median(argv: Sequence[str], env: dict[str, str], cwd: Path, repeats: int) -> float:
    return statistics.median(_run(argv, env, cwd) for _ in range(repeats))


def measure(root: Path, repeats: int, suite: bool) -> list[tuple[str, float]]:
    """``(what, seconds)`` for the baseline and each command, medians of ``repeats`` runs."""
    python = sys.executable
    rag = [python, "-c", "import sys; from rag.cli import main; sys.exit(main())"]
    with tempfile.TemporaryDirectory(prefix="rag-startup-") as tmp:
        index_dir = Path(tmp) / "index"
        env = _env(root, index_dir)
        _run([*rag, "ingest", str(root / "seeds")], env, root)
        _run([*rag, "ask", QUESTION], env, root)  # warm the OS file cache once
        rows = [
            ("python -c pass (baseline)", _median([python, "-c", "pass"], env, root, repeats)),
            ("rag --help", _median([*rag, "--help"], env, root, repeats)),
            ("rag docs (seeds index)", _median([*rag, "docs"], env, root, repeats)),
            ("rag ask, cold (seeds index)", _median([*rag, "ask", QUESTION], env, root, repeats)),
            ("pytest --collect-only", _median([python, "-m", "pytest", "--collect-only", "-q"], env, root, repeats)),
        ]
        if suite:
            rows.append(("pytest (full suite)", _run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider"], env, root)))
    return rows


def report(rows: list[tuple[str, float]]) -> list[list[object]]:
    base = rows[0][1]
    out: list[list[object]] = []
    for name, seconds in rows:
        ratio = "1.0x" if name.startswith("python") else f"{seconds / base:.1f}x"
        above = "" if name.startswith("python") else f"{seconds - base:+.2f}"
        out.append([name, f"{seconds:.2f}", ratio, above, TARGETS.get(name, "")])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to measure (default: this one)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--suite", action="store_true", help="also time the full test suite once")
    parser.add_argument("--label", default="", help="names the measured tree in the table's title")
    parser.add_argument("--write", action="store_true", help="write a section of bench/RESULTS.md")
    args = parser.parse_args()
    start = os.getloadavg()
    rows = report(measure(args.root.resolve(), args.repeats, args.suite))
    end = os.getloadavg()
    text = table(["command", "seconds", "x baseline", "s above baseline", "target"], rows)
    loads = (
        f"Load average (1, 5, 15 min) when the run started: {', '.join(f'{x:.1f}' for x in start)}; "
        f"when it ended: {', '.join(f'{x:.1f}' for x in end)}. On 2 cores, a load above 2 means the "
        f"other processes on this shared machine took part of the CPU, so times are longer than on a "
        f"quiet machine."
    )
    print(loads)
    print(text)
    if args.write:
        label = args.label or "after"
        name = f"startup_{re.sub(r'[^a-z0-9]+', '_', label.lower()).strip('_')}"
        root = "" if args.root.resolve() == ROOT else f" --root {args.root}"
        command = (
            f"python bench/startup.py{root} --repeats {args.repeats}{' --suite' if args.suite else ''} "
            f"--label {label!r} --write"
        )
        body = f"Measured tree: `{args.root.resolve()}`.\n\n{loads}\n\n{text}"
        write_section(name, f"Start-up and test-suite times ({label})", command, body)


if __name__ == "__main__":
    main()
