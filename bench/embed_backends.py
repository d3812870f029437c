"""Embedding backends on CPU: throughput, query latency, and retrieval quality on eval/qa.jsonl.

Contenders: plain ``SentenceTransformer.encode`` (PyTorch float32, the
baseline) and rag's Embedder with the ``torch``, ``onnx`` (onnxruntime float32)
and ``onnx-int8`` (dynamic int8) backends, on the same chunks (articles
recombined from the team's texts, chunked like ``rag ingest``). Rounds are
interleaved so load from other processes spreads evenly; the median round is
reported. Quality: cosine of each backend's vectors to PyTorch float32, and
dense recall@1/@5 on eval/qa.jsonl (bench/retrieval_quality.py's method).
The CPU default must keep recall@5 within 0.01 of float32.

    nice -n 10 python bench/embed_backends.py --write
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from common import ROOT, percentile, synthetic_articles, table, write_section  # noqa: E402
from retrieval_quality import collections, evaluate  # noqa: E402

from rag.chunking import chunk_document  # noqa: E402
from rag.embedding import CPU_DEFAULT_BACKEND, Embedder, resolve_embedder  # noqa: E402
from rag.ingest.text import text_document  # noqa: E402
from rag.settings import DEFAULT_EMBEDDER, Settings  # noqa: E402

BACKENDS = ("torch", "onnx", "onnx-int8")
MODEL_CACHE = Path(tempfile.gettempdir()) / "rag-bench-models"
DENSE = {"dense": {"hybrid": False, "retrieval_mmr_lambda": 1.0}}


def chunk_texts(articles: int) -> list[str]:
    docs = [text_document(text, name, name) for name, text in synthetic_articles(articles)]
    return [c.text for d in docs for c in chunk_document(d, 400, 100)]


def throughput(contenders: dict, texts: list[str], rounds: int) -> dict[str, float]:
    """Median chunks per second of each contender over interleaved rounds."""
    for encode in contenders.values():
        encode(texts[:16])  # warm up
    speeds: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, encode in contenders.items():
            start = time.perf_counter()
            encode(texts)
            speeds[name].append(len(texts) / (time.perf_counter() - start))
    return {name: statistics.median(v) for name, v in speeds.items()}


def query_latency_ms(embedder: Embedder, queries: list[str]) -> float:
    times = []
    for q in queries:
        start = time.perf_counter()
        embedder.encode_query(q)
        times.append((time.perf_counter() - start) * 1000)
    return percentile(times, 50)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=100, help="synthetic articles (about 6 chunks each)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--write", action="store_true", help="write the section of bench/RESULTS.md")
    args = parser.parse_args()
    from sentence_transformers import SentenceTransformer

    texts = chunk_texts(args.articles)
    plain = SentenceTransformer(resolve_embedder(DEFAULT_EMBEDDER), device="cpu", local_files_only=True)
    embedders = {b: Embedder(Settings(embedder_backend=b, device="cpu", cache_dir=MODEL_CACHE)) for b in BACKENDS}
    contenders = {"plain SentenceTransformer.encode": lambda t: plain.encode(t, batch_size=32, normalize_embeddings=True)}
    contenders |= {f"rag {b}": e.encode for b, e in embedders.items()}
    print(f"{len(texts)} chunks, {args.rounds} interleaved rounds", flush=True)
    speed = throughput(contenders, texts, args.rounds)
    reference = embedders["torch"].encode(texts)
    questions = [q.text for q in collections(ROOT / "eval" / "qa.jsonl")[0][1]["eval/qa.jsonl"]]
    label, sets, documents = collections(ROOT / "eval" / "qa.jsonl")[1]
    rows, recalls = [], {}
    base_speed = speed["plain SentenceTransformer.encode"]
    rows.append(("plain SentenceTransformer.encode (torch float32)", f"{base_speed:.0f}", "1.00x", "-", "1.0000", "-", "-"))
    for backend, embedder in embedders.items():
        vectors = embedder.encode(texts)
        cosines = (vectors * reference).sum(axis=1)
        scores = evaluate(sets, documents, embedder, Settings(embedder_backend=backend), DENSE)[("eval/qa.jsonl", "dense")]
        recalls[backend] = scores.recall_at_k
        rows.append((
            f"rag {backend}", f"{speed[f'rag {backend}']:.0f}", f"{speed[f'rag {backend}'] / base_speed:.2f}x",
            f"{query_latency_ms(embedder, questions):.1f}", f"{cosines.mean():.4f} (min {cosines.min():.4f})",
            f"{scores.recall_at_1:.3f}", f"{scores.recall_at_k:.3f}",
        ))
        print(table(HEADERS, rows[-1:]).split("\n")[-1], flush=True)
    eligible = [b for b in BACKENDS if recalls[b] >= recalls["torch"] - 0.01]
    fastest = max(eligible, key=lambda b: speed[f"rag {b}"])
    verdict = (
        f"Fastest backend within 0.01 of float32 recall@5: **{fastest}** "
        f"(rag.embedding.CPU_DEFAULT_BACKEND = {CPU_DEFAULT_BACKEND!r}, used when Settings.embedder_backend is \"auto\" on a CPU)."
    )
    body = table(HEADERS, rows) + "\n\n" + verdict
    print(body)
    if args.write:
        note = (
            f"{len(texts)} chunks of 400 characters (articles recombined from the team's texts), batch size 32, "
            f"median of {args.rounds} interleaved rounds, on the CPU. Query latency: p50 of embedding one question of "
            f"eval/qa.jsonl. Recall: dense search on eval/qa.jsonl with the eval and fixture articles "
            f"({label}), answerable questions. The int8 backend embeds one text per run (see rag/onnx_embedding.py).\n\n"
        )
        write_section("embed_backends", "Embedding backends on CPU", "nice -n 10 python bench/embed_backends.py --write", note + body)


HEADERS = ["embedder", "chunks/s", "vs plain", "query p50 ms", "cosine to float32", "R@1", "R@5"]

if __name__ == "__main__":
    main()
