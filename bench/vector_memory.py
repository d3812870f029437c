"""Resident memory of rag's vector index (flat and IVF) at 10k, 100k and 1M chunks.

Each measurement runs in a fresh process that reads its resident set size
(VmRSS) before and after: the writer makes the vectors, then builds the index
with ``VectorIndex.build`` (and saves it); the reader opens the saved file
with ``VectorIndex.load``, as ``rag ask``, ``rag search`` and the UI do. The
growth over the chunk count is the index's memory per chunk, compared with the
raw float32 vectors (1,536 bytes). The writer's figure includes what the
allocator keeps after building (inverted lists grow by doubling).

    nice -n 10 python bench/vector_memory.py --write
"""

from __future__ import annotations

import argparse
import gc
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from common import table, write_section

DIM = 384


def rss_bytes() -> int:
    text = Path("/proc/self/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", text).group(1)) * 1024


def child(kind: str, size: int, saved: str) -> None:
    """Build (and save to ``saved``) or, when ``kind`` is "load", load ``saved``; print the RSS growth."""
    from rag.storage.vectors import VectorIndex

    if kind == "load":
        before = rss_bytes()
        index = VectorIndex.load(Path(saved), DIM)
    else:
        rng = np.random.default_rng(0)
        data = rng.standard_normal((size, DIM), dtype=np.float32)
        data /= np.linalg.norm(data, axis=1, keepdims=True)
        ids = np.arange(size, dtype=np.int64)
        gc.collect()
        before = rss_bytes()
        index = VectorIndex.build(DIM, lambda: [(ids, data)], size, 0 if kind == "ivf" else size + 1)
        index.save(Path(saved))
    gc.collect()
    print(json.dumps({"detail": index.detail, "bytes": rss_bytes() - before}))


def measure(kind: str, size: int, saved: Path) -> dict:
    command = [sys.executable, __file__, "--child", kind, str(size), str(saved)]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
    return json.loads(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--write", action="store_true", help="write the section of bench/RESULTS.md")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), args.child[2])
        return
    headers = ["chunks", "index", "process", "RSS growth MiB", "bytes/chunk", "x raw float32"]
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for size in args.sizes:
            for kind in ("flat", "ivf"):
                saved = Path(folder) / f"{kind}-{size}.faiss"
                for role, got in (("builds it (writer)", measure(kind, size, saved)),
                                  ("opens it (reader)", measure("load", size, saved))):
                    per_chunk = got["bytes"] / size
                    rows.append((f"{size:,}", got["detail"], role, f"{got['bytes'] / 2**20:.0f}", f"{per_chunk:,.0f}",
                                 f"{per_chunk / (DIM * 4):.2f}x"))
                    print(table(headers, rows[-1:]).split("\n")[-1], flush=True)
    body = table(headers, rows)
    print(body)
    if args.write:
        note = ("Resident memory growth of a fresh process that builds the index from vectors already in memory "
                "(writer) or opens the saved index (reader), d=384, over the chunk count.\n\n")
        sizes = " ".join(str(s) for s in args.sizes)
        write_section("vector_memory", "Vector index memory", f"nice -n 10 python bench/vector_memory.py --sizes {sizes} --write",
                      note + body)


if __name__ == "__main__":
    main()
