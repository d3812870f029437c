"""Vector search at 10k, 100k and 1M chunks: exact against approximate, latency, recall, memory.

Synthetic unit vectors of MiniLM's dimension (384), two kinds, since how
clustered the data is decides what an approximate index needs:

- ``clustered`` (``Clustered``): stories of about 50 chunks grouped in
  topics; same-story cosine about 0.6, unrelated about 0. An easy case.
- ``gaussian`` (``Gaussian``): a Gaussian with the mean and covariance of real
  MiniLM embeddings of the team's sentences and chunks (same mean pairwise
  cosine, 0.14), so the same spread but no clusters at all. A hard case.

Real news embeddings lie between the two. Queries are fresh draws, never
indexed (a question is not a copy of a chunk); the mean cosine of a query to
its nearest chunk is printed (MiniLM questions of eval/qa.jsonl to their best
chunk: about 0.6-0.8).

For each size: exact search (rag's ``flat`` kind), rag's approximate kind
(``VectorIndex.build``: IVF-Flat, 4·√n lists) at several ``nprobe``, and for
comparison FAISS HNSW (M=32) and IVF-PQ (48 bytes a vector). Latency is one query at a time
(as ``rag ask`` does), p50 and p95 over the queries; recall@10 is against
exact search; memory is the index's serialized size (what it holds in RAM:
vectors or codes, ids, lists, id map) per chunk, and as a multiple of the raw
float32 vectors (1,536 bytes a chunk).

    nice -n 10 python bench/vector_scale.py --write                 # 10k, 100k, 1M
    nice -n 10 python bench/vector_scale.py --sizes 10000 100000     # quicker
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import faiss
import numpy as np
from common import percentile, table, write_section

from rag.storage.vectors import VectorIndex, nlist_for

DIM = 384
RAW_BYTES = DIM * 4
QUERIES = 200
K = 10
CHUNKS_PER_SUBTOPIC, SUBTOPICS_PER_TOPIC = 50, 20
NOISE = 0.58
NPROBES = (16, 64, 256, 512)
HNSW_EF = (64, 256, 512)


@dataclass(frozen=True)
class Row:
    data: str
    size: int
    method: str
    build_s: float
    p50_ms: float
    p95_ms: float
    recall: float
    bytes_per_chunk: float

    def cells(self) -> tuple:
        return (
            self.data, f"{self.size:,}", self.method, f"{self.build_s:.1f}", f"{self.p50_ms:.2f}", f"{self.p95_ms:.2f}",
            f"{self.recall:.3f}", f"{self.bytes_per_chunk:,.0f}", f"{self.bytes_per_chunk / RAW_BYTES:.2f}x",
        )


class Clustered:
    """Unit vectors from a two-level topic mixture (seeded, reproducible).

    A subtopic (a story: about ``CHUNKS_PER_SUBTOPIC`` chunks) has a direction;
    ``SUBTOPICS_PER_TOPIC`` subtopics share a topic direction. A vector is
    ``0.55 topic + 0.45 subtopic + noise * random`` normalized: same-subtopic
    chunks have cosine about 0.6, like neighbouring MiniLM chunks of one story.
    """

    def __init__(self, size: int, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.subtopic_count = max(1, size // CHUNKS_PER_SUBTOPIC)
        topic_count = max(1, self.subtopic_count // SUBTOPICS_PER_TOPIC)
        self.topics = _unit(rng.standard_normal((topic_count, DIM), dtype=np.float32))
        self.subtopics = _unit(rng.standard_normal((self.subtopic_count, DIM), dtype=np.float32))
        self.topic_of = rng.integers(0, topic_count, self.subtopic_count)

    def draw(self, n: int, seed: int, noise: float = NOISE, batch: int = 100_000) -> np.ndarray:
        rng = np.random.default_rng(seed)
        out = np.empty((n, DIM), dtype=np.float32)
        for start in range(0, n, batch):
            m = min(batch, n - start)
            sub = rng.integers(0, self.subtopic_count, m)
            noise_vectors = _unit(rng.standard_normal((m, DIM), dtype=np.float32))
            mixed = 0.55 * self.topics[self.topic_of[sub]] + 0.45 * self.subtopics[sub] + noise * noise_vectors
            out[start : start + m] = _unit(mixed)
        return out


class Gaussian:
    """Unit vectors from a Gaussian fitted to real MiniLM embeddings (mean and full covariance)."""

    def __init__(self, size: int, seed: int = 0) -> None:
        real = _real_embeddings()
        self.mean = real.mean(axis=0)
        _, singular, self.axes = np.linalg.svd(real - self.mean, full_matrices=False)
        self.scales = (singular / np.sqrt(len(real) - 1)).astype(np.float32)
        self.floor = float(self.scales[-1])  # a little isotropic noise for the directions never seen

    def draw(self, n: int, seed: int, batch: int = 100_000) -> np.ndarray:
        rng = np.random.default_rng(seed + 7)
        out = np.empty((n, DIM), dtype=np.float32)
        for start in range(0, n, batch):
            m = min(batch, n - start)
            z = rng.standard_normal((m, len(self.scales)), dtype=np.float32) * self.scales
            x = self.mean + z @ self.axes + self.floor * rng.standard_normal((m, DIM), dtype=np.float32)
            out[start : start + m] = _unit(x)
        return out


_REAL: list[np.ndarray] = []


def _real_embeddings() -> np.ndarray:
    """MiniLM (PyTorch float32) vectors of the team's sentences and of chunks of recombined articles."""
    if not _REAL:
        from common import source_sentences, synthetic_articles

        from rag.chunking import chunk_spans
        from rag.embedding import Embedder
        from rag.settings import Settings

        chunks = [t[a:b] for _, t in synthetic_articles(150) for a, b in chunk_spans(t, 400, 100)]
        _REAL.append(Embedder(Settings(device="cpu")).encode(source_sentences() + chunks))
    return _REAL[0]


DATA = {"clustered": Clustered, "gaussian": Gaussian}


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def latencies_ms(search: Callable[[np.ndarray], np.ndarray], queries: np.ndarray) -> tuple[list[float], np.ndarray]:
    """Per-query latency (one query at a time) and the ids found."""
    search(queries[:5])  # warm up
    times, found = [], []
    for q in queries:
        start = time.perf_counter()
        found.append(search(q[None, :])[0])
        times.append((time.perf_counter() - start) * 1000)
    return times, np.vstack(found)


def recall_at_k(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f[:K]) & set(t[:K])) / K for f, t in zip(found, truth)]))


def index_bytes(index: faiss.Index) -> int:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "index.faiss"
        faiss.write_index(index, str(path))
        return path.stat().st_size


def measure(data: str, size: int, method: str, build_s: float, index: faiss.Index, search, queries, truth) -> Row:
    times, found = latencies_ms(search, queries)
    row = Row(data, size, method, build_s, percentile(times, 50), percentile(times, 95),
              recall_at_k(found, truth), index_bytes(index) / size)
    print(table(HEADERS, [row.cells()]).split("\n")[-1], flush=True)
    return row


def exact(kind: str, size: int, data: np.ndarray, ids: np.ndarray, queries: np.ndarray) -> tuple[list[Row], np.ndarray]:
    start = time.perf_counter()
    vectors = VectorIndex(DIM)
    vectors.add(ids, data)
    build = time.perf_counter() - start
    truth = vectors.search(queries, K)[1]
    row = measure(kind, size, "exact (flat)", build, vectors.index, lambda q: vectors.search(q, K)[1], queries, truth)
    return [row], truth


def ivf(kind: str, size: int, data: np.ndarray, ids: np.ndarray, queries: np.ndarray, truth: np.ndarray) -> list[Row]:
    batches = lambda: ((ids[s : s + 100_000], data[s : s + 100_000]) for s in range(0, size, 100_000))  # noqa: E731
    start = time.perf_counter()
    vectors = VectorIndex.build(DIM, batches, size, threshold=0)
    build = time.perf_counter() - start
    rows = []
    for nprobe in NPROBES:
        vectors.nprobe = nprobe
        label = f"rag ivf (IVF{vectors.nlist},Flat) nprobe={nprobe}"
        rows.append(measure(kind, size, label, build, vectors.index, lambda q: vectors.search(q, K)[1], queries, truth))
    return rows


def hnsw(kind: str, size: int, data: np.ndarray, queries: np.ndarray, truth_rows: np.ndarray) -> list[Row]:
    start = time.perf_counter()
    index = faiss.IndexHNSWFlat(DIM, 32, faiss.METRIC_INNER_PRODUCT)
    index.add(data)
    build = time.perf_counter() - start
    rows = []
    for ef in HNSW_EF:
        index.hnsw.efSearch = ef
        rows.append(measure(kind, size, f"HNSW32 efSearch={ef} (no remove)", build, index,
                            lambda q: index.search(q, K)[1], queries, truth_rows))
    return rows


def ivfpq(kind: str, size: int, data: np.ndarray, queries: np.ndarray, truth_rows: np.ndarray) -> list[Row]:
    nlist = nlist_for(size)
    start = time.perf_counter()
    index = faiss.index_factory(DIM, f"IVF{nlist},PQ48", faiss.METRIC_INNER_PRODUCT)
    step = max(1, size // (40 * nlist))
    index.train(data[::step])
    index.add(data)
    build = time.perf_counter() - start
    rows = []
    for nprobe in (32, 128):
        index.nprobe = nprobe
        rows.append(measure(kind, size, f"IVF{nlist},PQ48 nprobe={nprobe} (48 B codes)", build, index,
                            lambda q: index.search(q, K)[1], queries, truth_rows))
    return rows


HEADERS = ["data", "chunks", "index", "build s", "p50 ms", "p95 ms", f"recall@{K}", "bytes/chunk", "x raw"]


def run_size(kind: str, size: int, with_hnsw: bool, with_pq: bool) -> list[Row]:
    generator = DATA[kind](size)
    data = generator.draw(size, seed=size)
    ids = np.arange(size, dtype=np.int64)
    queries = generator.draw(QUERIES, seed=1)
    rows, truth = exact(kind, size, data, ids, queries)
    nn = float(np.mean([data[t[0]] @ q for t, q in zip(truth, queries)]))
    print(f"  {kind} {size:,}: mean cosine of a query to its nearest chunk {nn:.2f}", flush=True)
    NEAREST[(kind, size)] = nn
    rows += ivf(kind, size, data, ids, queries, truth)
    if with_hnsw:
        rows += hnsw(kind, size, data, queries, truth)
    if with_pq:
        rows += ivfpq(kind, size, data, queries, truth)
    return rows


NEAREST: dict[tuple[str, int], float] = {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--data", nargs="+", choices=list(DATA), default=list(DATA))
    parser.add_argument("--no-hnsw", action="store_true", help="leave out HNSW (slow to build at 1M)")
    parser.add_argument("--no-pq", action="store_true", help="leave out IVF-PQ")
    parser.add_argument("--write", action="store_true", help="write the section of bench/RESULTS.md")
    args = parser.parse_args()
    print(f"FAISS threads: {faiss.omp_get_max_threads()}; queries: {QUERIES}, one at a time", flush=True)
    print(table(HEADERS, []), flush=True)
    rows: list[Row] = []
    for kind in args.data:
        for size in args.sizes:
            rows += run_size(kind, size, with_hnsw=not args.no_hnsw, with_pq=not args.no_pq)
    body = table(HEADERS, [r.cells() for r in rows])
    body += "\n\nMean cosine of a query to its nearest chunk: " + ", ".join(
        f"{kind} {size:,}: {nn:.2f}" for (kind, size), nn in NEAREST.items()
    ) + "."
    print(body)
    if args.write:
        note = (
            f"Synthetic unit vectors (d={DIM}): `clustered` (a story per {CHUNKS_PER_SUBTOPIC} chunks, a topic per "
            f"{SUBTOPICS_PER_TOPIC} stories, noise {NOISE}: an easy case) and `gaussian` (mean and covariance of real "
            f"MiniLM embeddings, no clusters: a hard case); see the script. {QUERIES} held-out "
            f"queries searched one at a time with {faiss.omp_get_max_threads()} FAISS threads; recall@{K} against "
            f"exact search; bytes/chunk is the serialized index size (vectors or codes, ids, lists, id map) over the "
            f"chunk count, \"x raw\" its ratio to float32 vectors ({RAW_BYTES} B). rag uses `exact (flat)` below "
            f"`Settings.ann_threshold` chunks and `rag ivf` with `Settings.ann_nprobe` probes above it; HNSW and "
            f"IVF-PQ are shown for comparison only.\n\n"
        )
        sizes = " ".join(str(s) for s in args.sizes)
        flags = (" --no-hnsw" if args.no_hnsw else "") + (" --no-pq" if args.no_pq else "")
        write_section("vector_scale", "Vector search at scale: exact vs approximate",
                      f"nice -n 10 python bench/vector_scale.py --sizes {sizes} --data {' '.join(args.data)}{flags} --write",
                      note + body)


if __name__ == "__main__":
    main()
