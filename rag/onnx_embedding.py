"""Run a sentence-transformers model with onnxruntime on the CPU (the ``onnx`` backends).

The model folder's transformer is exported to ONNX once with PyTorch's
exporter (offline, from the local weights), optionally quantized to int8 with
onnxruntime's dynamic quantization (per-channel weights), and cached in a
folder; later loads only open the cached file. Tokenization, mean or CLS
pooling and normalization follow the folder's sentence-transformers config, so
the float32 graph gives the same vectors as PyTorch.

The int8 graph quantizes activations with one scale per tensor, computed at
run time over the whole batch (padding included), so a text's vector would
depend on the texts batched with it (cosine down to 0.988 between the same
text alone and in a batch). The int8 model therefore embeds one text per run:
the same text always gets the same vector, a query matches how its chunks were
embedded, and it costs about 5% of throughput (no padding is computed). Models with other
modules (Dense layers, max pooling, prompts) and GPU execution providers are
left out: use the torch backend for them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import warnings
from pathlib import Path

import numpy as np

from rag.errors import ModelNotFoundError

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
OPSET = 17


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _pooling(folder: Path, model_id: str) -> str:
    """"mean" or "cls", from the folder's modules.json and pooling config."""
    modules = _read_json(folder / "modules.json") or []
    kinds = [m.get("type", "").rsplit(".", 1)[-1] for m in modules]
    if kinds[:2] != ["Transformer", "Pooling"] or any(k != "Normalize" for k in kinds[2:]):
        raise ModelNotFoundError(
            f"{model_id!r} has modules {kinds}; the onnx backends run Transformer + Pooling (+ Normalize) "
            f"models only; use the torch embedding backend for it"
        )
    config = _read_json(folder / modules[1]["path"] / "config.json")
    if config.get("pooling_mode_mean_tokens"):
        return "mean"
    if config.get("pooling_mode_cls_token"):
        return "cls"
    raise ModelNotFoundError(f"{model_id!r} pools with {config}; use the torch embedding backend for it")


def _cache_key(folder: Path) -> str:
    """Changes when the weights file changes (path, size, modification time)."""
    weights = next((folder / n for n in WEIGHT_FILES if (folder / n).exists()), folder)
    stat = weights.stat()
    return hashlib.sha1(f"{weights.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:12]


def _export(folder: Path, tokenizer, target: Path) -> None:
    """Export the transformer (last hidden state) to ``target`` with dynamic batch and length."""
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(folder), local_files_only=True).eval()
    sample = tokenizer(["an example sentence", "another"], padding=True, return_tensors="pt")
    names = list(sample.keys())

    class LastHidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            return self.model(**dict(zip(names, inputs))).last_hidden_state

    axes = {name: {0: "batch", 1: "tokens"} for name in [*names, "last_hidden_state"]}
    tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            LastHidden(), tuple(sample[n] for n in names), str(tmp), input_names=names,
            output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=OPSET, dynamo=False,
        )
    os.replace(tmp, target)


def _quantize(source: Path, target: Path) -> None:
    """int8 dynamic quantization of ``source``'s weights (per channel) into ``target``."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # onnxruntime logs advice on the root logger
    try:
        quantize_dynamic(str(source), str(tmp), weight_type=QuantType.QInt8, per_channel=True)
    finally:
        root.setLevel(level)
    os.replace(tmp, target)


class OnnxModel:
    """Tokenizer + ONNX transformer + pooling + normalization, on onnxruntime's CPU provider."""

    def __init__(self, path: str, model_id: str, cache_dir: Path, quantized: bool) -> None:
        import onnxruntime as ort
        from transformers import AutoTokenizer

        folder = Path(path)
        if not folder.is_dir():
            raise ModelNotFoundError(f"the onnx backends need a model folder; {model_id!r} is not one")
        self.pooling = _pooling(folder, model_id)
        config = _read_json(folder / "sentence_bert_config.json")
        self.tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        self.max_length = int(config.get("max_seq_length") or min(self.tokenizer.model_max_length, 512))
        self.lowercase = bool(config.get("do_lower_case", False))
        self.file = self._cached_file(folder, model_id, Path(cache_dir), quantized)
        self.one_per_run = quantized  # see the module docstring
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(self.file), options, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]
        self._dimension = int(self.encode(["dimension probe"], 1).shape[1])

    def _cached_file(self, folder: Path, model_id: str, cache_dir: Path, quantized: bool) -> Path:
        """The exported (and quantized) model in ``cache_dir``, made once."""
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", model_id).strip("_")[-60:]
        cache_dir.mkdir(parents=True, exist_ok=True)
        base = cache_dir / f"{slug}-{_cache_key(folder)}.onnx"
        if not base.exists():
            _export(folder, self.tokenizer, base)
        if not quantized:
            return base
        int8 = base.with_name(base.stem + "-int8.onnx")
        if not int8.exists():
            _quantize(base, int8)
        return int8

    @property
    def dimension(self) -> int:
        return self._dimension

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        """Unit vectors, float32, in the order of ``texts``."""
        parts = []
        batch_size = 1 if self.one_per_run else max(batch_size, 1)
        for start in range(0, len(texts), batch_size):
            batch = texts[start : start + batch_size]
            if self.lowercase:
                batch = [t.lower() for t in batch]
            enc = self.tokenizer(batch, padding=True, truncation=True, max_length=self.max_length, return_tensors="np")
            feed = {name: np.asarray(enc[name], dtype=np.int64) for name in self.inputs}
            hidden = self.session.run(None, feed)[0]
            if self.pooling == "cls":
                pooled = hidden[:, 0]
            else:
                mask = np.asarray(enc["attention_mask"], dtype=np.float32)[..., None]
                pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
            norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            parts.append((pooled / norms).astype(np.float32))
        return np.vstack(parts)
