"""One Settings object holding every tunable of rag, with its default.

A Settings is frozen: build it once (the front ends do, from their flags and
environment) and pass it down; per-request choices such as the generator or
``k`` are call arguments of ``rag.Rag``, never changes to a shared Settings.
Nothing in the package reads environment variables; ``cache_dir_from``
is the one helper that turns them into a setting, and only the front ends
call it.

>>> Settings().with_(top_k=3).top_k
3
>>> cache_dir_from({"RAG_CACHE_DIR": "/tmp/rag-cache"}, home=Path("/home/ada"))
PosixPath('/tmp/rag-cache')
>>> cache_dir_from({}, home=Path("/home/ada"))
PosixPath('/home/ada/.cache/rag')
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping

DEFAULT_EMBEDDER = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_SEQ2SEQ = "google/flan-t5-base"
# 2: a document's id is a hash of its source and text (1: of its text alone), file sources are
# resolved absolute paths, and the manifest records checksums of the search engine's files.
SCHEMA_VERSION = 2
# The largest file (and extracted text) taken as one article: 20 MB is some thousand
# long articles; anything bigger is almost surely not one article. The CLI's
# --max-file-mb and the web UI's uploads both honour Settings.max_file_bytes.
DEFAULT_MAX_FILE_BYTES = 20_000_000
CACHE_ENV = "RAG_CACHE_DIR"


def cache_dir_from(environ: Mapping[str, str], home: Path | None = None) -> Path:
    """The model cache folder: ``$RAG_CACHE_DIR``, else ``~/.cache/rag`` (for the front ends)."""
    if environ.get(CACHE_ENV):
        return Path(environ[CACHE_ENV]).expanduser()
    return (home or Path.home()) / ".cache" / "rag"


def _default_cache_dir() -> Path:
    return Path.home() / ".cache" / "rag"


@dataclass(frozen=True)
class Settings:
    """Every choice rag makes, in one place. Change with ``settings.with_(...)``."""

    index_dir: Path = Path("index")
    # Where rag keeps files derived from models (ONNX exports under models/), shared
    # by every index of this user. Never inside an index folder.
    cache_dir: Path = field(default_factory=_default_cache_dir)
    # Storage: the store holds the truth (documents, chunks, vectors), the search
    # engine the indexes derived from it (rag/storage/). Store: "sqlite" (index_dir),
    # "sqlite:PATH" or "postgresql://USER@HOST:PORT/DATABASE"; engine: "local" (FAISS +
    # BM25 files in the index folder), "milvus://HOST:PORT" or "milvus-lite:PATH.db".
    store: str = "sqlite"
    search_engine: str = "local"
    # How long a writer waits for another writer's lock before giving up (0: refuse at once).
    lock_timeout_s: float = 60.0
    # Embedding
    embedder_model: str = DEFAULT_EMBEDDER
    # "auto": ONNX int8 on a CPU (2.2x faster ingest, same recall@5 on eval/qa.jsonl;
    # bench/RESULTS.md), PyTorch on a GPU; or "torch", "onnx", "onnx-int8".
    embedder_backend: str = "auto"
    device: str = "auto"
    batch_size: int = 32
    # Chunking: all-MiniLM-L6-v2 was trained on inputs of up to 128 word pieces
    # (~500 characters of English). 400 characters (~90 tokens, 2-4 news sentences)
    # keeps every chunk inside that window, so one chunk is about one thing and
    # dense retrieval stays precise; 100 characters of overlap repeats about one
    # sentence across a boundary so a fact split between chunks is still found.
    max_chars: int = 400
    overlap_chars: int = 100
    # Ingest: one article larger than this is refused without being read.
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
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
    # Generation: the default generator; a request may name another.
    generator: str = "auto"
    seq2seq_model: str = DEFAULT_SEQ2SEQ
    max_new_tokens: int = 160
    num_beams: int = 4
    no_repeat_ngram_size: int = 3
    # Questions are gated by a calibrated probability fitted on the shared dev set
    # (rag/generation/confidence.py), not by a fixed cosine. This cosine decides which articles
    # a briefing topic is about.
    topic_threshold: float = 0.25
    support_threshold: float = 0.5

    @property
    def models_dir(self) -> Path:
        """Where ONNX exports of the embedder are kept: ``cache_dir/models``."""
        return self.cache_dir / "models"

    def with_(self, **changes: object) -> Settings:
        """A copy with some fields changed."""
        return replace(self, **changes)  # type: ignore[arg-type]
