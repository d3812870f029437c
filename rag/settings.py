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
    embedder_backend: str = "torch"
    device: str = "auto"
    batch_size: int = 32
    # Chunking: all-MiniLM-L6-v2 was trained on inputs of up to 128 word pieces
    # (~500 characters of English). 400 characters (~90 tokens, 2-4 news sentences)
    # keeps every chunk inside that window, so one chunk is about one thing and
    # dense retrieval stays precise; 100 characters of overlap repeats about one
    # sentence across a boundary so a fact split between chunks is still found.
    max_chars: int = 400
    overlap_chars: int = 100
    # Retrieval
    top_k: int = 5
    hybrid: bool = True
    rrf_k: int = 60
    mmr_lambda: float = 0.7
    ann_threshold: int = 100_000
    # Generation
    generator: str = "auto"
    seq2seq_model: str = DEFAULT_SEQ2SEQ
    max_new_tokens: int = 160
    num_beams: int = 4
    no_repeat_ngram_size: int = 3
    # Answer quality gates
    abstain_threshold: float = 0.25
    support_threshold: float = 0.5
    extra: dict[str, str] = field(default_factory=dict)

    def with_(self, **changes: object) -> "Settings":
        """A copy with some fields changed."""
        return replace(self, **changes)  # type: ignore[arg-type]
