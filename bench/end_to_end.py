"""End-to-end latency of `ask` and `brief` (extractive generator) and cold starts of the CLI and UI.

Warm latency: one process, the eval articles (eval/qa.jsonl contexts) in a scratch
index, every eval question asked and every article briefed (short and medium),
after one untimed warm-up call that loads the model. Cold start: a fresh `rag ask`
process from launch to exit, and a fresh `python ui.py` from launch until its page
answers HTTP 200 on loopback. Writes the `end_to_end` section of bench/RESULTS.md.

    python bench/end_to_end.py [--repeats 3] [--write]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Sequence

from common import ROOT, free_port, percentile, table, write_section

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from rag.core import Rag  # noqa: E402
from rag.ingest.text import text_document  # noqa: E402
from rag.settings import Settings  # noqa: E402

RAG = str(Path(sys.executable).with_name("rag"))
QUESTION = "By how much did Rutte urge NATO members to boost air and missile defense?"


def load_eval() -> tuple[list[str], list[str]]:
    rows = [json.loads(line) for line in (ROOT / "eval" / "qa.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    contexts = list(dict.fromkeys(r["context"] for r in rows))
    return contexts, [r["question"] for r in rows]


def warm_latencies(folder: Path) -> list[list[object]]:
    contexts, questions = load_eval()
    index = Rag(Settings(index_dir=folder / "warm", generator="extractive"))
    index.ingest([text_document(c, source=f"eval#{i}", title_hint=f"eval {i}") for i, c in enumerate(contexts)])
    index.ask(questions[0])  # warm-up: loads the model
    rows = []
    runs = {
        "ask": [lambda q=q: index.ask(q) for q in questions],
        "brief short (1 article)": [lambda d=d.doc_id: index.brief(doc_ids=[d], length="short") for d in index.documents()],
        "brief medium (1 article)": [lambda d=d.doc_id: index.brief(doc_ids=[d], length="medium") for d in index.documents()],
        "brief medium (all 10)": [lambda: index.brief(length="medium")] * 3,
    }
    for name, calls in runs.items():
        times = []
        for call in calls:
            start = time.perf_counter()
            call()
            times.append(time.perf_counter() - start)
        rows.append([name, len(times), percentile(times, 50), percentile(times, 95), max(times)])
    index.close()
    return rows


def cli_cold_start(folder: Path, repeats: int) -> list[float]:
    env = {**os.environ, "RAG_INDEX_DIR": str(folder / "cold")}
    subprocess.run([RAG, "ingest", str(ROOT / "seeds")], env=env, check=True, capture_output=True)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([RAG, "ask", QUESTION], env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return times


def ui_cold_start(folder: Path, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        port = free_port()
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "ui.py"), "--port", str(port), "--index-dir", str(folder / "cold")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            while time.perf_counter() - start < 180:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                        if response.status == 200:
                            times.append(time.perf_counter() - start)
                            break
                except OSError:
                    time.sleep(0.1)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return times


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--write", action="store_true", help="write the section of bench/RESULTS.md")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        warm = warm_latencies(folder)
        cli = cli_cold_start(folder, args.repeats)
        ui = ui_cold_start(folder, args.repeats)
    warm_table = table(["call", "n", "p50 s", "p95 s", "max s"], warm)
    cold_table = table(
        ["cold start", "runs", "median s", "min s", "max s"],
        [
            ["`rag ask` (process start to exit, seeds index)", len(cli), percentile(cli, 50), min(cli), max(cli)],
            ["`python ui.py` (process start to HTTP 200)", len(ui), percentile(ui, 50), min(ui), max(ui)],
        ],
    )
    body = (
        "Warm latency in one process (extractive generator, MiniLM on CPU, the 10 eval articles indexed; "
        "one untimed warm-up call first):\n\n" + warm_table + "\n\nCold starts (fresh process each run; "
        "includes Python start, imports and loading MiniLM):\n\n" + cold_table + "\n"
    )
    print(body)
    if args.write:
        write_section("end_to_end", "End to end: ask and brief latency, cold starts", "python bench/end_to_end.py --write", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
