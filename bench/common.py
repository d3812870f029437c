"""Shared helpers for the bench/ scripts: machine description, tables, RESULTS.md sections.

Each script owns one or more sections of bench/RESULTS.md, marked
``<!-- section: NAME -->`` ... ``<!-- end section: NAME -->``; writing a section
replaces only that block (or appends it), so scripts run at different times
never clobber each other's results. Every section carries the description of
the machine that produced it. Benchmarks are scripts, not tests: they print
tables and leave asserting to people reading them.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import os
import platform
import re
import resource
import sys
import time
from pathlib import Path
from typing import Callable, Iterable, Sequence

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "RESULTS.md"
HEADER = (
    "# Benchmark results\n\n"
    "Produced by the scripts in `bench/` (each section names its command). Numbers are\n"
    "from one run on the machine described in the section; the machine is shared, so\n"
    "timings carry noise of a few tens of percent.\n"
)
PACKAGES = ("torch", "sentence-transformers", "transformers", "faiss-cpu", "numpy", "bm25s", "onnxruntime")

sys.path.insert(0, str(ROOT))


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown CPU"
    match = re.search(r"^model name\s*:\s*(.+)$", text, re.M)
    return match.group(1).strip() if match else platform.processor() or "unknown CPU"


def _ram_gib() -> float:
    try:
        kib = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        return kib / 2**20
    except (OSError, AttributeError):
        return float("nan")


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def machine() -> str:
    """A short markdown description of this machine and the library versions."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    versions = ", ".join(f"{p} {_version(p)}" for p in PACKAGES)
    return (
        f"Machine: {_cpu_model()}, {cores} cores available, {_ram_gib():.0f} GiB RAM, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}; "
        f"load average when written {load}.  \n"
        f"Versions: {versions}.  \n"
        f"Run: {dt.datetime.now().isoformat(timespec='minutes')}."
    )


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A markdown table; floats printed with 3 significant decimals."""

    def cell(value: object) -> str:
        if isinstance(value, float):
            return f"{value:.3f}" if abs(value) < 1000 else f"{value:,.0f}"
        return str(value)

    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def write_section(name: str, title: str, command: str, body: str, path: Path = RESULTS) -> None:
    """Replace (or append) section ``name`` of RESULTS.md, leaving the others as they are."""
    block = (
        f"<!-- section: {name} -->\n## {title}\n\n`{command}`\n\n{machine()}\n\n{body.strip()}\n"
        f"<!-- end section: {name} -->\n"
    )
    text = path.read_text(encoding="utf-8") if path.exists() else HEADER
    pattern = re.compile(rf"<!-- section: {re.escape(name)} -->\n.*?<!-- end section: {re.escape(name)} -->\n", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        text = text.rstrip("\n") + "\n\n" + block
    path.write_text(text, encoding="utf-8")


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    pos = (len(ordered) - 1) * q / 100.0
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def peak_rss_mib() -> float:
    """This process's peak resident memory so far."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def free_port() -> int:
    """A free TCP port on loopback."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed(fn: Callable[[], object]) -> tuple[object, float]:
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def source_sentences() -> list[str]:
    """Every sentence of the team-written articles (eval/qa.jsonl contexts and tests/data)."""
    import json

    from rag.sentences import split_sentences

    texts = {json.loads(line)["context"] for line in (ROOT / "eval" / "qa.jsonl").read_text().splitlines() if line}
    data = ROOT / "tests" / "data"
    texts |= {p.read_text(encoding="utf-8") for p in sorted(data.glob("*.txt"))}
    return [text[a:b] for text in sorted(texts) for a, b in split_sentences(text) if b - a > 40]


def synthetic_articles(count: int, seed: int = 0) -> list[tuple[str, str]]:
    """``count`` (name, text) articles of 4 paragraphs x 3 sentences recombined from real ones.

    Realistic sentence and paragraph lengths and vocabulary for timing ingest
    (about 6 chunks of 400 characters each); not meant to be read.
    """
    import random

    rng = random.Random(seed)
    pool = source_sentences()
    articles = []
    for n in range(count):
        title = " ".join(rng.choice(pool).split()[:7]).rstrip(".,")
        paragraphs = [" ".join(rng.sample(pool, 3)) for _ in range(4)]
        articles.append((f"article-{n:05d}.txt", f"{title} ({n})\n\n" + "\n\n".join(paragraphs) + "\n"))
    return articles
