"""One Settings object holding every tunable of rag, with its default.

Reading files or environment variables happens in the front ends
(rag/cli.py, ui.py); the package itself only receives a Settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

DEFAULT_EMBEDDER = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_SEQ2SEQ = "google/flan-t5-base"
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Settings:
    """Every choice rag makes, in one place. Change with ``settings.with_(...)``."""

    index_dir: Path = Path("index")
    # Embedding
    embedder_model: str = DEFAULT_EMBEDDER
    # "auto": ONNX int8 on a CPU (2.2x faster ingest, same recall@5 on eval/qa.jsonl;
    # bench/RESULTS.md), PyTorch on a GPU; or "torch", "onnx", "onnx-int8".
    embedder_backend: str = "auto"
    device: str = "auto"
    batch_size: int = 32
    # Where derived model files (ONNX exports) are kept; None: ~/.cache/rag/models.
    model_cache_dir: Path | None = None
    # Chunking: all-MiniLM-L6-v2 was trained on inputs of up to 128 word pieces
    # (~500 characters of English). 400 characters (~90 tokens, 2-4 news sentences)
    # keeps every chunk inside that window, so one chunk is about one thing and
    # dense retrieval stays precise; 100 characters of overlap repeats about one
    # sentence across a boundary so a fact split between chunks is still found.
    max_chars: int = 400
    overlap_chars: int = 100
    # Ingest: one article larger than this (20 MB) is refused without being read.
    max_file_bytes: int = 20_000_000
    # Retrieval
    top_k: int = 5
    # Hybrid (BM25 beside dense, fused by RRF) is off by default: on eval/qa.jsonl
    # it did not beat dense alone (bench/retrieval_quality.py, bench/RESULTS.md).
    hybrid: bool = False
    rrf_k: int = 60
    # Weight of the BM25 ranking against the dense one (1.0) in reciprocal rank fusion.
    bm25_weight: float = 1.0
    mmr_lambda: float = 0.7
    # MMR over retrieved passages (1.0: off). Separate from mmr_lambda (briefing
    # sentences): 0.9 only reorders near-duplicates; 0.7 cost recall@5 on
    # eval/qa.jsonl (bench/retrieval_quality.py).
    retrieval_mmr_lambda: float = 0.9
    ann_threshold: int = 100_000
    # IVF lists scanned per query once the index is approximate: 512 of 4096 at 1M
    # chunks gave recall@10 >= 0.98 against exact in ~8 ms (bench/vector_scale.py).
    ann_nprobe: int = 512
    # Candidates taken from each retriever (dense, BM25) before fusion and MMR.
    retrieval_candidates: int = 50
    # Generation
    generator: str = "auto"
    seq2seq_model: str = DEFAULT_SEQ2SEQ
    max_new_tokens: int = 160
    num_beams: int = 4
    no_repeat_ngram_size: int = 3
    # Answer quality gates. Questions are gated by a calibrated probability fitted on the shared dev
    # set (rag/generation/confidence.py); this cosine only decides which articles a briefing
    # topic is about.
    abstain_threshold: float = 0.25
    support_threshold: float = 0.5
    extra: dict[str, str] = field(default_factory=dict)

    def with_(self, **changes: object) -> "Settings":
        """A copy with some fields changed."""
        return replace(self, **changes)  # type: ignore[arg-type]
