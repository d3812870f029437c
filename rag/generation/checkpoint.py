"""A seq2seq checkpoint loaded on a device, once per process: tokenizer, model, family, input limit.

``load_checkpoint`` finds the checkpoint on this machine (rag/models.py; never
the network), picks the device (rag/devices.py) and dtype (``choose_device``),
and keeps what it loaded for every generator that asks for the same folder on
the same device, whatever their decoding settings. PyTorch and transformers
are imported only here, only when a checkpoint is loaded. Unloading is left out.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rag.devices import pick_device
from rag.errors import DeviceUnavailableError, ModelNotFoundError
from rag.models import family, resolve_seq2seq

if TYPE_CHECKING:
    import torch

# Input windows in tokens when the tokenizer reports none (T5 says 1e30) and the
# config has no max_position_embeddings: what the families were trained with.
FAMILY_MAX_INPUT: dict[str, int] = {"t5": 512, "bart": 1024, "pegasus": 1024}
DEFAULT_MAX_INPUT = 512


def input_limit(tokenizer_max: int | None, config: Any) -> int:
    """Tokens the encoder may read: the tokenizer's limit capped by the model's positions."""
    cap = getattr(config, "max_position_embeddings", None)
    cap = int(cap) if cap else FAMILY_MAX_INPUT.get(family(config), DEFAULT_MAX_INPUT)
    return min(int(tokenizer_max), cap) if tokenizer_max else cap


def choose_device(setting: str, model_family: str) -> tuple[str, torch.dtype]:
    """Device and dtype: "auto" picks cuda, then mps, then cpu (float32).

    On cuda T5 runs in bfloat16 where supported (T5 overflows in float16), others in float16.
    """
    import torch

    device = pick_device(setting)
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceUnavailableError(
                f"Device {setting!r} was asked for but CUDA is not available; use --device auto or cpu."
            )
        if model_family == "t5" and torch.cuda.is_bf16_supported():
            return device, torch.bfloat16
        return device, torch.float16
    return device, torch.float32


def _missing_model_message(model: str) -> str:
    return (
        f"The seq2seq model {model!r} is not on this machine (neither a folder with config.json "
        "nor in the Hugging Face cache). Run `rag pull google/flan-t5-base` on a connected machine "
        "(copy its Hugging Face cache here if this one is offline), or pass `--model /path/to/folder`, "
        "or use `--generator extractive`, which needs no extra model."
    )


@dataclass(frozen=True)
class Loaded:
    """A checkpoint loaded on a device: what every generator using it shares."""

    tokenizer: Any
    model: Any
    family: str
    device: str
    limit: int


_loaded: dict[tuple[str, str], Loaded] = {}  # (folder, device) -> weights; the dtype follows from both
_loading = threading.Lock()


def load_checkpoint(model: str, device_setting: str) -> Loaded:
    """Checkpoint ``model`` on the device ``device_setting`` picks, loaded once per process."""
    folder = resolve_seq2seq(model)
    if folder is None:
        raise ModelNotFoundError(_missing_model_message(model))
    with _loading:
        key = (folder, pick_device(device_setting))
        if key not in _loaded:
            _loaded[key] = _load_folder(model, folder, device_setting)
        return _loaded[key]


def _load_folder(model: str, folder: str, device_setting: str) -> Loaded:
    from transformers import AutoConfig, AutoModelForSeq2SeqLM, AutoTokenizer

    try:
        config = AutoConfig.from_pretrained(folder, local_files_only=True)
        device, dtype = choose_device(device_setting, family(config))
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        network = AutoModelForSeq2SeqLM.from_pretrained(folder, config=config, dtype=dtype, local_files_only=True)
    except (OSError, ValueError, KeyError) as e:
        raise ModelNotFoundError(
            f"Could not load seq2seq model {model!r} from {folder}: {e}. The folder must hold a "
            "complete encoder-decoder checkpoint; download it again with `rag pull MODEL`."
        ) from e
    return Loaded(tokenizer, network.to(device).eval(), family(config), device,
                   input_limit(tokenizer.model_max_length, config))
