"""Ingest throughput: rag's pipeline (Rag.ingest) against plain SentenceTransformer.encode.

The same chunks either way: synthetic articles (recombined from the team's
texts) chunked like ``rag ingest`` (400/100 characters). "Plain" embeds the
chunk texts with ``SentenceTransformer.encode`` (PyTorch float32, batch 32,
normalized). "rag" runs ``Rag.ingest`` on the documents into a fresh index:
chunking, embedding, SQLite, FAISS, BM25, fsync'd generation files, with the
given embedding backend. Models are loaded and warmed before timing; rounds
are interleaved and the median is reported. The last table times the real
``rag ingest`` command (a new process: imports and model loading included)
on the same articles written as files, for reference.

    nice -n 10 python bench/ingest_throughput.py --write
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from common import ROOT, synthetic_articles, table, write_section  # noqa: E402

from rag.chunking import chunk_document  # noqa: E402
from rag.embedding import Embedder, resolve_embedder  # noqa: E402
from rag.core import Rag  # noqa: E402
from rag.ingest.text import text_document  # noqa: E402
from rag.settings import DEFAULT_EMBEDDER, Settings  # noqa: E402

BACKENDS = ("torch", "onnx", "onnx-int8")
MODEL_CACHE = Path(tempfile.gettempdir()) / "rag-bench-models"


def ingest_seconds(embedder: Embedder, backend: str, documents: list) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(index_dir=Path(folder), embedder_backend=backend, cache_dir=MODEL_CACHE)
        index = Rag(settings, embedder=embedder)
        start = time.perf_counter()
        report = index.ingest(documents)
        seconds = time.perf_counter() - start
        assert index.check() == [], "index out of step"
        index.close()
    return seconds, report.chunks


def cli_seconds(articles: list[tuple[str, str]]) -> tuple[float, str]:
    with tempfile.TemporaryDirectory() as folder:
        corpus = Path(folder) / "articles"
        corpus.mkdir()
        for name, text in articles:
            (corpus / name).write_text(text, encoding="utf-8")
        command = [sys.executable, "-m", "rag.cli", "--index-dir", str(Path(folder) / "index"), "ingest", str(corpus)]
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=True)
        return time.perf_counter() - start, done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=200, help="synthetic articles (about 6 chunks each)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--write", action="store_true", help="write the section of bench/RESULTS.md")
    args = parser.parse_args()
    from sentence_transformers import SentenceTransformer

    articles = synthetic_articles(args.articles)
    documents = [text_document(text, name, name) for name, text in articles]
    texts = [c.text for d in documents for c in chunk_document(d, 400, 100)]
    plain = SentenceTransformer(resolve_embedder(DEFAULT_EMBEDDER), device="cpu", local_files_only=True)
    embedders = {b: Embedder(Settings(embedder_backend=b, device="cpu", cache_dir=MODEL_CACHE)) for b in BACKENDS}
    plain.encode(texts[:16])
    for embedder in embedders.values():
        embedder.encode(texts[:16])
    print(f"{len(documents)} articles, {len(texts)} chunks, {args.rounds} interleaved rounds", flush=True)
    plain_s: list[float] = []
    ours: dict[str, list[float]] = {b: [] for b in BACKENDS}
    for _ in range(args.rounds):
        start = time.perf_counter()
        plain.encode(texts, batch_size=32, normalize_embeddings=True)
        plain_s.append(time.perf_counter() - start)
        for backend, embedder in embedders.items():
            seconds, chunks = ingest_seconds(embedder, backend, documents)
            assert chunks == len(texts)
            ours[backend].append(seconds)
        print(f"  round: plain {plain_s[-1]:.1f} s, " + ", ".join(f"{b} {v[-1]:.1f} s" for b, v in ours.items()), flush=True)
    base = statistics.median(plain_s)
    rows = [("plain SentenceTransformer.encode (torch float32)", f"{base:.1f}", f"{len(texts) / base:.0f}", "1.00", "1.00x")]
    for backend, values in ours.items():
        seconds = statistics.median(values)
        rows.append((f"rag ingest pipeline, {backend} backend", f"{seconds:.1f}", f"{len(texts) / seconds:.0f}",
                     f"{seconds / base:.2f}", f"{base / seconds:.2f}x"))
    headers = ["run", "seconds", "chunks/s", "time / plain", "speed vs plain"]
    body = table(headers, rows)
    cli, message = cli_seconds(articles)
    cli_table = table(["command", "wall s", "chunks/s incl. startup"],
                      [("`rag ingest <folder>` (new process, default settings)", f"{cli:.1f}", f"{len(texts) / cli:.0f}")])
    print(body + "\n\n" + cli_table + f"\n\n{message}")
    if args.write:
        note = (
            f"{len(documents)} synthetic articles, {len(texts)} chunks of at most 400 characters; median of "
            f"{args.rounds} interleaved rounds; CPU only. \"time / plain\" is the overhead ratio of the pipeline "
            f"(target: at most 1.15 with the default backend); \"speed vs plain\" for the faster backends "
            f"(target: at least 1.5x).\n\n"
        )
        write_section("ingest_throughput", "Ingest throughput vs plain encode",
                      "nice -n 10 python bench/ingest_throughput.py --write", note + body + "\n\n" + cli_table)


if __name__ == "__main__":
    main()
