"""BM25 (rag/storage/lexical.py) at 10k, 100k and 1M chunks: build, query latency, size, small adds.

Chunks come from synthetic articles recombined from the team's sentences
(chunked like ``rag ingest``). For each size: the time to build one segment
(what a compaction or ``rag repair`` costs), query latency p50/p95 over the
questions of eval/qa.jsonl, the saved size per chunk, and the cost of the
two things an ingest into a big index does instead of a rebuild: adding a
segment for 50 new chunks and saving the next generation (unchanged
segments hard-linked).

    nice -n 10 python bench/lexical_scale.py --write
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from common import ROOT, percentile, synthetic_articles, table, write_section

from rag.chunking import chunk_spans
from rag.storage.lexical import LexicalIndex


def chunks(count: int) -> list[str]:
    out: list[str] = []
    articles = max(1, count // 5)
    while len(out) < count:
        out += [t[a:b] for _, t in synthetic_articles(articles, seed=len(out)) for a, b in chunk_spans(t, 400, 100)]
    return out[:count]


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def run(size: int, questions: list[str]) -> tuple:
    texts = chunks(size + 50)
    start = time.perf_counter()
    index = LexicalIndex.build([list(enumerate(texts[:size]))])
    build = time.perf_counter() - start
    times = []
    for q in questions:
        start = time.perf_counter()
        index.search(q, 50)
        times.append((time.perf_counter() - start) * 1000)
    with tempfile.TemporaryDirectory() as tmp:
        index.save(Path(tmp) / "bm25-1")
        size_bytes = folder_bytes(Path(tmp) / "bm25-1")
        start = time.perf_counter()
        index.add(list(range(size, size + 50)), texts[size:])
        add = time.perf_counter() - start
        start = time.perf_counter()
        index.save(Path(tmp) / "bm25-2")
        save = time.perf_counter() - start
    row = (f"{size:,}", f"{build:.1f}", f"{percentile(times, 50):.1f}", f"{percentile(times, 95):.1f}",
           f"{size_bytes / size:.0f}", f"{add * 1000:.0f}", f"{save * 1000:.0f}")
    print(table(HEADERS, [row]).split("\n")[-1], flush=True)
    return row


HEADERS = ["chunks", "build s", "query p50 ms", "query p95 ms", "bytes/chunk on disk", "add 50 chunks ms",
           "save next generation ms"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--write", action="store_true", help="write the section of bench/RESULTS.md")
    args = parser.parse_args()
    lines = (ROOT / "eval" / "qa.jsonl").read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line)["question"] for line in lines if line.strip()]
    print(table(HEADERS, []), flush=True)
    rows = [run(size, questions) for size in args.sizes]
    body = table(HEADERS, rows)
    print(body)
    if args.write:
        note = (
            "Synthetic chunks (sentences of the team's articles recombined, 400 characters); queries: the "
            f"{len(questions)} questions of eval/qa.jsonl, 50 results each. Build: one segment from scratch "
            "(a compaction or `rag repair`). Add and save: what an ingest of 50 chunks into that index costs.\n\n"
        )
        sizes = " ".join(str(s) for s in args.sizes)
        write_section("lexical_scale", "BM25 at scale", f"nice -n 10 python bench/lexical_scale.py --sizes {sizes} --write",
                      note + body)


if __name__ == "__main__":
    main()
