"""Run a sentence-transformers model with onnxruntime on the CPU (the ``onnx`` backends).

The model folder's transformer is exported to ONNX once with PyTorch's
exporter (offline, from the local weights), optionally quantized to int8 with
onnxruntime's dynamic quantization (per-channel weights), and cached in a
folder; later loads only open the cached file, with the ``tokenizers``
package reading the folder's ``tokenizer.json`` (neither PyTorch nor
transformers is imported then; a folder without that file is tokenized by
transformers' AutoTokenizer). Tokenization, mean or CLS pooling and
normalization follow the folder's sentence-transformers config, so the
float32 graph gives the same vectors as PyTorch.

The int8 graph quantizes activations with one scale per tensor, computed at
run time over the whole batch (padding included), so a text's vector would
depend on the texts batched with it (cosine down to 0.988 between the same
text alone and in a batch). The int8 model therefore embeds one text per run:
the same text always gets the same vector, a query matches how its chunks were
embedded, and it costs about 5% of throughput (no padding is computed). Models with other
modules (Dense layers, max pooling, prompts) and GPU execution providers are
left out: use the torch backend for them.

onnxruntime's telemetry is switched off before onnxruntime is imported
(``ORT_DISABLE_TELEMETRY``): otherwise importing it writes a device id and
an event database under ~/.cache/Microsoft, and rag keeps to its one cache.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np

from rag.errors import ModelNotFoundError

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
OPSET = 17


def _onnxruntime() -> Any:
    """onnxruntime, imported with its telemetry off (no device id or event store in $HOME)."""
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    import onnxruntime

    return onnxruntime


def _read_json(path: Path) -> Any:
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


class _FastTokenizer:
    """The folder's ``tokenizer.json`` through the ``tokenizers`` package, called like AutoTokenizer."""

    def __init__(self, folder: Path) -> None:
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        config = _read_json(folder / "tokenizer_config.json")
        pad = config.get("pad_token") or _read_json(folder / "special_tokens_map.json").get("pad_token", "[PAD]")
        pad = pad.get("content", "[PAD]") if isinstance(pad, dict) else pad
        self.pad_id = self.tokenizer.token_to_id(pad) or 0
        self.pad_token = pad
        self.model_max_length = int(config.get("model_max_length") or 512)
        self._max_length = 0

    def __call__(self, texts: list[str], max_length: int) -> dict[str, np.ndarray]:
        if max_length != self._max_length:  # the same value on every call: set once
            self.tokenizer.enable_truncation(max_length)
            self.tokenizer.enable_padding(pad_id=self.pad_id, pad_token=self.pad_token)
            self._max_length = max_length
        encodings = self.tokenizer.encode_batch(texts)
        return {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }


class _AutoTokenizer:
    """transformers' AutoTokenizer, for folders without a ``tokenizer.json``."""

    def __init__(self, folder: Path) -> None:
        from transformers import AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        self.model_max_length = int(min(self.tokenizer.model_max_length, 512))

    def __call__(self, texts: list[str], max_length: int) -> dict[str, np.ndarray]:
        enc = self.tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="np")
        return {name: np.asarray(value, dtype=np.int64) for name, value in enc.items()}


def _tokenizer(folder: Path) -> _FastTokenizer | _AutoTokenizer:
    return _FastTokenizer(folder) if (folder / "tokenizer.json").is_file() else _AutoTokenizer(folder)


def _export(folder: Path, target: Path) -> None:
    """Export the transformer (last hidden state) to ``target`` with dynamic batch and length."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    model = AutoModel.from_pretrained(str(folder), local_files_only=True).eval()
    sample = tokenizer(["an example sentence", "another"], padding=True, return_tensors="pt")
    names = list(sample.keys())

    class LastHidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            return self.model(**dict(zip(names, inputs, strict=True))).last_hidden_state

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
    _onnxruntime()
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


# One-time set-up steps, in order: the file each makes (see ``cache_files``) and what it is called.
STEP_NAMES = ("export to ONNX", "quantize to int8")
SetupReport = Callable[[str, int, int], None]


def cache_files(folder: Path, model_id: str, cache_dir: Path, quantized: bool) -> list[Path]:
    """The files the model needs in ``cache_dir``: the ONNX export, then its int8 version if ``quantized``."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", model_id).strip("_")[-60:]
    base = Path(cache_dir) / f"{slug}-{_cache_key(folder)}.onnx"
    return [base, base.with_name(base.stem + "-int8.onnx")] if quantized else [base]


def pending_steps(folder: Path, model_id: str, cache_dir: Path, quantized: bool) -> list[str]:
    """The one-time steps still to run before the model loads (empty once they ran, or for a non-folder)."""
    if not Path(folder).is_dir():
        return []  # loading refuses it with the reason
    files = cache_files(folder, model_id, cache_dir, quantized)
    return [STEP_NAMES[i] for i, file in enumerate(files) if not file.exists()]


def prepare(
    folder: Path, model_id: str, cache_dir: Path, quantized: bool, report: SetupReport | None = None
) -> Path:
    """Make the missing cached files (``report(step, done, total)`` before each and once at the end)."""
    files = cache_files(folder, model_id, cache_dir, quantized)
    missing = [i for i, file in enumerate(files) if not file.exists()]
    Path(cache_dir).mkdir(parents=True, exist_ok=True)
    for done, i in enumerate(missing):
        if report is not None:
            report(STEP_NAMES[i], done, len(missing))
        if i == 0:
            _export(folder, files[0])
        else:
            _quantize(files[0], files[1])
    if missing and report is not None:
        report("", len(missing), len(missing))
    return files[-1]


class OnnxModel:
    """Tokenizer + ONNX transformer + pooling + normalization, on onnxruntime's CPU provider."""

    def __init__(self, path: str, model_id: str, cache_dir: Path, quantized: bool) -> None:
        ort = _onnxruntime()

        folder = Path(path)
        if not folder.is_dir():
            raise ModelNotFoundError(f"the onnx backends need a model folder; {model_id!r} is not one")
        self.pooling = _pooling(folder, model_id)
        config = _read_json(folder / "sentence_bert_config.json")
        self.tokenizer = _tokenizer(folder)
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
        return prepare(folder, model_id, cache_dir, quantized)

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
            enc = self.tokenizer(batch, self.max_length)
            feed = {name: enc[name] for name in self.inputs}
            hidden = self.session.run(None, feed)[0]
            if self.pooling == "cls":
                pooled = hidden[:, 0]
            else:
                mask = np.asarray(enc["attention_mask"], dtype=np.float32)[..., None]
                pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
            norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            parts.append((pooled / norms).astype(np.float32))
        return np.vstack(parts)
