"""Load test of the server's JSON API: N questions at once over loopback, errors and latency.

Builds a temporary index from the fixture articles (tests/data) and the seeds,
starts ``python ui.py`` on a free loopback port (or uses ``--url``, which must
be a loopback address), sends ``--questions`` questions to ``POST /api/v1/ask``
all at once (httpx, one thread each), and reports errors (target: none)
and latency percentiles. (The UI's own Gradio endpoints are private to its
page; the JSON API is the one clients use.) Results go to bench/out/ui_load.json and to the
``ui_load`` section of bench/RESULTS.md through bench/common.py (other
sections are left alone).

    python bench/ui_load.py                 # 50 concurrent questions
    python bench/ui_load.py --questions 20 --no-results
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence
from urllib.parse import urlparse

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from common import ROOT, free_port, percentile, table, write_section  # noqa: E402

DATA = ROOT / "tests" / "data"
OUT = ROOT / "bench" / "out" / "ui_load.json"
SECTION = "ui_load"
STARTUP_TIMEOUT_S = 300
REQUEST_TIMEOUT_S = 600
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass(frozen=True)
class Outcome:
    question: str
    latency_s: float
    ok: bool
    cited: bool
    error: str = ""


def fixture_questions() -> list[str]:
    """Every question in tests/data/FACTS.md, answerable and unrelated."""
    text = (DATA / "FACTS.md").read_text(encoding="utf-8")
    return [m.group(1).strip() for m in re.finditer(r"^- (?:Q|Unrelated): (.+?)(?: \(page \d\))?$", text, re.M)]


def build_index(index_dir: Path) -> int:
    """Ingest the fixture articles and the seeds into ``index_dir``; return the document count."""
    from rag.core import Rag
    from rag.ingest import load_paths
    from rag.settings import Settings

    paths = [
        str(p) for p in sorted(DATA.iterdir())
        if p.suffix in {".txt", ".md", ".html", ".pdf"} and p.name != "FACTS.md"  # the answer key is no article
    ]
    if (ROOT / "seeds").is_dir():
        paths.append(str(ROOT / "seeds"))
    index = Rag(Settings(index_dir=index_dir))
    index.ingest(load_paths(paths).documents)
    count = len(index.documents())
    index.close()
    return count


def start_server(index_dir: Path, log: Path) -> tuple[subprocess.Popen, str]:
    """``python ui.py`` on a free loopback port; returns the process and its URL once it answers."""
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "ui.py"), "--port", str(port), "--index-dir", str(index_dir)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"ui.py exited with {proc.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return proc, url
        except OSError:
            time.sleep(1)
    proc.kill()
    raise SystemExit(f"ui.py did not start within {STARTUP_TIMEOUT_S}s:\n{log.read_text()}")


def ask_all(url: str, questions: Sequence[str], generator: str) -> tuple[list[Outcome], float]:
    """Send every question at the same moment; return outcomes and the wall time."""
    import httpx

    barrier = threading.Barrier(len(questions))
    limits = httpx.Limits(max_connections=len(questions) + 4)
    client = httpx.Client(base_url=url.rstrip("/") + "/api/v1", timeout=REQUEST_TIMEOUT_S, limits=limits)

    def one(question: str) -> Outcome:
        barrier.wait()
        started = time.perf_counter()
        try:
            response = client.post("/ask", json={"question": question, "generator": generator})
        except httpx.HTTPError as e:  # a failed request is what this script counts
            return Outcome(question, time.perf_counter() - started, False, False, f"{type(e).__name__}: {e}")
        latency = time.perf_counter() - started
        if response.status_code != 200:
            return Outcome(question, latency, False, False, f"{response.status_code}: {response.text[:200]}")
        answer = response.json()
        return Outcome(question, latency, True, bool(answer["citations"]) and not answer["abstained"])

    wall = time.perf_counter()
    with client, ThreadPoolExecutor(max_workers=len(questions)) as pool:
        outcomes = list(pool.map(one, questions))
    return outcomes, time.perf_counter() - wall


def summarize(outcomes: Sequence[Outcome], wall_s: float, documents: int, generator: str) -> dict[str, Any]:
    latencies = [o.latency_s for o in outcomes]
    from rag.web.api import GENERATE_CONCURRENCY

    return {
        "questions": len(outcomes),
        "errors": sum(not o.ok for o in outcomes),
        "answered_with_citations": sum(o.cited for o in outcomes),
        "abstained_or_uncited": sum(o.ok and not o.cited for o in outcomes),
        "wall_s": round(wall_s, 3),
        "throughput_qps": round(len(outcomes) / wall_s, 2),
        "latency_s": {
            "p50": round(percentile(latencies, 50), 3), "p90": round(percentile(latencies, 90), 3),
            "p95": round(percentile(latencies, 95), 3), "p99": round(percentile(latencies, 99), 3),
            "max": round(max(latencies), 3), "mean": round(statistics.fmean(latencies), 3),
        },
        "generator": generator,
        "server_generate_concurrency": GENERATE_CONCURRENCY,
        "documents_in_index": documents,
        "cpu_count": os.cpu_count(),
        "error_samples": sorted({o.error for o in outcomes if not o.ok})[:5],
    }


def section_markdown(summary: dict[str, Any]) -> str:
    """The body of the ``ui_load`` section (the title, command and machine come from common.py)."""
    lat = summary["latency_s"]
    row = [
        summary["questions"], summary["errors"], summary["answered_with_citations"], summary["abstained_or_uncited"],
        summary["wall_s"], summary["throughput_qps"], lat["p50"], lat["p90"], lat["p95"], lat["p99"], lat["max"],
    ]
    headers = ["questions", "errors", "cited answers", "abstained", "wall s", "q/s", "p50 s", "p90 s", "p95 s",
               "p99 s", "max s"]
    lines = [
        f"{summary['questions']} questions sent at the same moment to `POST /api/v1/ask` over loopback "
        f"(httpx; {summary['generator']} generator; {summary['documents_in_index']} documents: the "
        f"fixture articles and the seeds; the server answers {summary['server_generate_concurrency']} at a time).",
        "",
        table(headers, [row]),
        "",
        "Latency is per question, from sending to the full answer, queue wait included: with every question "
        "sent at once it grows with the position in the queue, so the median is about half the wall time and "
        "the maximum about all of it. The abstentions are the fixtures' unrelated questions.",
    ]
    if summary["error_samples"]:
        lines += ["", "Errors seen: " + "; ".join(f"`{e}`" for e in summary["error_samples"])]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=50, help="how many questions to send at once (default 50)")
    parser.add_argument("--generator", default="extractive", choices=["auto", "seq2seq", "extractive"])
    parser.add_argument("--url", help="a running server on a loopback address (default: start one on a fixture index)")
    parser.add_argument("--no-results", action="store_true", help="do not write bench/RESULTS.md")
    args = parser.parse_args(argv)
    pool = fixture_questions()
    questions = [pool[i % len(pool)] for i in range(args.questions)]
    proc = None
    with tempfile.TemporaryDirectory(prefix="rag-ui-load-") as tmp:
        if args.url:
            if urlparse(args.url).hostname not in LOOPBACK:
                raise SystemExit(f"--url must be a loopback address, not {args.url}")
            url, documents = args.url, -1
        else:
            documents = build_index(Path(tmp) / "index")
            proc, url = start_server(Path(tmp) / "index", Path(tmp) / "server.log")
        try:
            outcomes, wall = ask_all(url, questions, args.generator)
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=30)
    summary = summarize(outcomes, wall, documents, args.generator)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({**summary, "outcomes": [asdict(o) for o in outcomes]}, indent=2), encoding="utf-8")
    print(json.dumps(summary, indent=2))
    if not args.no_results:
        command = "python bench/ui_load.py" + (f" --questions {args.questions}" if args.questions != 50 else "")
        write_section(SECTION, "Web UI under load: concurrent questions", command, section_markdown(summary))
    return 1 if summary["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
