"""Local against shared storage on the same chunks: ingest throughput, query latency, migrate time.

Two indexes are filled side by side with the same chunks, in the same run:

- local: SQLite + FAISS/BM25 files in a folder (the default);
- shared: PostgreSQL + Milvus. By default both are started here as throwaway
  servers (tests/servers.py: a PostgreSQL cluster on a free port, and the real
  Milvus engine that milvus-lite 2.5 bundles, its ``milvus`` program, serving
  gRPC on a free port), or given with ``--store`` and ``--engine``.

Articles are synthetic (bench/common.py, recombined from the team's texts)
and chunked as ``rag ingest`` does (400/100 characters, about 6 a piece).
Vectors are deterministic 384-dimensional unit vectors drawn from each text's
hash, not MiniLM's: embedding costs the same on both deployments, so it is
left out to measure the storage alone. Ingest goes through ``Rag.ingest`` in
batches (one commit each) up to 10k chunks, then on to 100k; after each
scale the same queries (sentences of the corpus) run through ``Rag.search``
(k=5, dense; then hybrid) on both, and p50/p95 are reported with the
shared/local ratio. Finally the 100k-chunk local index is copied with
``Rag.migrate`` into a fresh shared database and collection.

    nice -n 10 python bench/shared_scale.py --write
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import random
import shutil
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Sequence

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
from common import ROOT, percentile, source_sentences, synthetic_articles, table, write_section

sys.path.insert(0, str(ROOT / "tests"))

from rag.core import Rag
from rag.embedding import Embedder
from rag.ingest.text import text_document
from rag.settings import Settings

DIMENSION = 384
SCALES = (10_000, 100_000)
BATCH_ARTICLES = 1_000


class HashVectors(Embedder):
    """Deterministic 384-d unit vectors from each text's CRC (no model: embedding is not measured)."""

    def __init__(self) -> None:
        super().__init__(Settings(embedder_model="bench/hash-vectors"))

    @property
    def dimension(self) -> int:
        return DIMENSION

    @property
    def device(self) -> str:
        return "cpu"

    def encode(self, texts: Sequence[str], progress=None) -> np.ndarray:
        out = np.empty((len(texts), DIMENSION), dtype=np.float32)
        for row, text in enumerate(texts):
            out[row] = np.random.default_rng(zlib.crc32(text.encode())).standard_normal(DIMENSION)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def latencies(rag: Rag, queries: list[str], hybrid: bool) -> list[float]:
    """Milliseconds per ``rag.search`` (k=5), query vectors made beforehand."""
    plain = rag.settings
    rag.settings = plain.with_(hybrid=hybrid)
    vectors = {q: embedder_vector(rag, q) for q in queries}
    times = []
    try:
        rag.search(queries[0], k=5)  # warm
        for query in queries:
            rag._embedder = Precomputed(vectors[query])
            start = time.perf_counter()
            rag.search(query, k=5)
            times.append((time.perf_counter() - start) * 1000)
    finally:
        rag.settings, rag._embedder = plain, HASH
    return times


def embedder_vector(rag: Rag, query: str) -> np.ndarray:
    return HASH.encode_query(query)


class Precomputed(HashVectors):
    """Answers with one vector made beforehand, so the timing holds no embedding."""

    def __init__(self, vector: np.ndarray) -> None:
        super().__init__()
        self.vector = vector

    def encode(self, texts: Sequence[str], progress=None) -> np.ndarray:
        return np.tile(self.vector, (len(texts), 1))


HASH = HashVectors()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", help="a PostgreSQL database URL (default: a throwaway cluster)")
    parser.add_argument("--engine", help="milvus://HOST:PORT (default: a throwaway Milvus Lite server)")
    parser.add_argument("--migrate-store", help="an empty PostgreSQL database to migrate into (with --store)")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--scales", type=int, nargs="+", default=list(SCALES))
    parser.add_argument("--write", action="store_true", help="write the section of bench/RESULTS.md")
    args = parser.parse_args()

    from servers import MilvusServer, PostgresCluster

    cluster = None if args.store else PostgresCluster()
    server = None if args.engine else MilvusServer()
    engine = args.engine or server.uri  # type: ignore[union-attr]

    def new_store() -> str:
        return args.store or cluster.new_database()  # type: ignore[union-attr]

    work = Path(tempfile.mkdtemp(prefix="rag-bench-shared-"))
    embedder = HASH
    articles = synthetic_articles(int(max(args.scales) / 5.5) + BATCH_ARTICLES, seed=7)
    documents = [text_document(text, str(work / name), name) for name, text in articles]
    queries = random.Random(3).sample(source_sentences(), args.queries)
    opened = {
        "local": Rag(Settings(index_dir=work / "local"), embedder=embedder),
        "shared": Rag(Settings(store=new_store(), search_engine=engine), embedder=embedder),
    }
    ingest_rows, query_rows = [], []
    done_articles, done_chunks = 0, 0
    try:
        for scale in sorted(args.scales):
            seconds = dict.fromkeys(opened, 0.0)
            start_chunks = done_chunks
            while done_chunks < scale:
                batch = documents[done_articles : done_articles + BATCH_ARTICLES]
                for name, rag in opened.items():
                    started = time.perf_counter()
                    report = rag.ingest(batch)
                    seconds[name] += time.perf_counter() - started
                done_articles += len(batch)
                done_chunks += report.chunks
                print(f"{done_chunks} chunks: local {seconds['local']:.1f} s, shared {seconds['shared']:.1f} s",
                      flush=True)
            assert all(rag.check() == [] for rag in opened.values())
            added = done_chunks - start_chunks
            rates = {name: added / s for name, s in seconds.items()}
            ingest_rows.append([f"{start_chunks:,}-{done_chunks:,}", f"{rates['local']:,.0f}",
                                f"{rates['shared']:,.0f}", f"{rates['shared'] / rates['local']:.2f}"])
            for hybrid in (False, True):
                times = {name: latencies(rag, queries, hybrid) for name, rag in opened.items()}
                p = {name: (percentile(t, 50), percentile(t, 95)) for name, t in times.items()}
                query_rows.append([
                    f"{done_chunks:,}", "hybrid" if hybrid else "dense",
                    f"{p['local'][0]:.1f} / {p['local'][1]:.1f}", f"{p['shared'][0]:.1f} / {p['shared'][1]:.1f}",
                    f"{p['shared'][0] / p['local'][0]:.1f} / {p['shared'][1] / p['local'][1]:.1f}",
                ])
                print(query_rows[-1], flush=True)
        target = args.migrate_store or (cluster.new_database() if cluster else None)
        if target:
            started = time.perf_counter()
            migration = opened["local"].migrate(target, engine)
            migrate_s = time.perf_counter() - started
            assert migration.problems == ()
    finally:
        for rag in opened.values():
            rag.close()
        if server is not None:
            server.stop()
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(work, ignore_errors=True)

    clients = ("psycopg", "pymilvus", "milvus-lite")
    versions = ", ".join(f"{name} {importlib.metadata.version(name)}" for name in clients)
    body = "\n\n".join([
        f"PostgreSQL 15 (Debian), {versions}.",
        "Ingest through `Rag.ingest`, batches of 1,000 articles (about 5,500 chunks, one commit each); "
        "chunks per second of wall time (embedding excluded: hash vectors), shared/local > 1 means shared is faster:",
        table(["chunks", "local chunks/s", "shared chunks/s", "shared / local"], ingest_rows),
        f"Query latency of `Rag.search` (k=5), {len(queries)} queries, p50 / p95 in ms (query embedding "
        "excluded); the ratio is shared over local:",
        table(["chunks", "retrieval", "local p50 / p95", "shared p50 / p95", "shared / local"], query_rows),
        (f"`rag migrate` (`Rag.migrate`) of the {migration.chunks:,}-chunk local index ({migration.documents:,} "
         f"documents) into an empty shared deployment: {migrate_s:.1f} s, {migration.chunks / migrate_s:,.0f} "
         "chunks/s, nothing re-embedded, then its check (ok).") if target else "(migrate not run)",
        "Shared here means PostgreSQL 15 and the real Milvus engine (the C++ `milvus` program milvus-lite 2.5 "
        "bundles: Milvus's query engine and knowhere indexes in one process, local storage instead of etcd, "
        "object storage and a message queue) serving gRPC on this same machine, over loopback, FLAT (exact) "
        "vectors. A Milvus cluster adds network hops and spreads the work over nodes; what this shows is the "
        "cost of the round trips and of the store-first protocol on one machine.",
    ])
    print(body)
    if args.write:
        write_section("shared_scale", "Local against shared storage (SQLite + FAISS/BM25 vs PostgreSQL + Milvus)",
                      "nice -n 10 python bench/shared_scale.py --write", body)


if __name__ == "__main__":
    main()
