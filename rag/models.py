"""Find seq2seq checkpoints on this machine, and download them when asked.

``resolve_seq2seq`` and ``local_seq2seq_models`` only read the disk: a folder
holding ``config.json``, or the Hugging Face cache (``HF_HUB_CACHE``, else
``HF_HOME/hub``, read by huggingface_hub itself). ``pull`` is the one function
that touches the network. Left out: revisions other than the cached default,
private/gated repos (no token handling), and checkpoints outside the HF cache
layout other than plain folders.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from huggingface_hub import constants, scan_cache_dir, snapshot_download, try_to_load_from_cache
from huggingface_hub.errors import (
    CacheNotFound,
    HfHubHTTPError,
    HFValidationError,
    LocalEntryNotFoundError,
    RepositoryNotFoundError,
)

from rag.errors import ModelNotFoundError, NetworkUnavailableError

# model_type -> the family whose prompts and input limits fit it.
FAMILIES: dict[str, str] = {
    "t5": "t5",
    "mt5": "t5",
    "umt5": "t5",
    "longt5": "t5",
    "bart": "bart",
    "mbart": "bart",
    "led": "bart",
    "pegasus": "pegasus",
    "pegasus_x": "pegasus",
}
WEIGHT_SUFFIXES = (".safetensors", ".bin")
# The HTTP client's base error (httpx's HTTPError), which covers proxy and TLS errors that
# snapshot_download lets escape; taken from huggingface_hub so we follow its client choice.
_TRANSPORT_ERRORS = tuple(base for base in HfHubHTTPError.__bases__ if base is not OSError)
_NETWORK_ERRORS: tuple[type[BaseException], ...] = (
    LocalEntryNotFoundError,
    OSError,
    ConnectionError,
    *_TRANSPORT_ERRORS,
)


@dataclass(frozen=True)
class LocalModel:
    """A seq2seq checkpoint found in the Hugging Face cache."""

    model_id: str
    path: str
    family: str
    size_bytes: int


def family(config: Mapping[str, Any] | Any) -> str:
    """The prompt family of a config object or config.json dict: "t5", "bart", "pegasus" or its model_type.

    >>> family({"model_type": "mt5"})
    't5'
    """
    if isinstance(config, Mapping):
        model_type = str(config.get("model_type", ""))
    else:
        model_type = str(getattr(config, "model_type", ""))
    return FAMILIES.get(model_type, model_type or "unknown")


def _read_config(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _has_weights(folder: Path) -> bool:
    return any(p.name.endswith(WEIGHT_SUFFIXES) for p in folder.iterdir())


def resolve_seq2seq(model: str, cache_dir: str | Path | None = None) -> str | None:
    """The folder holding checkpoint ``model``, or None if it is not on this machine.

    Args:
        model: a folder path (it must hold config.json) or a hub id such as
            ``google/flan-t5-base``, looked up in the Hugging Face cache.
        cache_dir: the hub cache folder; None means huggingface_hub's default.

    Returns:
        The folder path as a string, or None. Never touches the network.
    """
    folder = Path(model).expanduser()
    if folder.is_dir():
        return str(folder) if (folder / "config.json").is_file() else None
    try:
        found = try_to_load_from_cache(model, "config.json", cache_dir=cache_dir)
    except (HFValidationError, ValueError):
        return None
    if not isinstance(found, str):
        return None
    snapshot = Path(found).parent
    return str(snapshot) if _has_weights(snapshot) else None


def _default_revision(repo: Any) -> Any | None:
    """The revision ``main`` points to, else the newest one."""
    revisions = sorted(repo.revisions, key=lambda r: r.last_modified, reverse=True)
    for revision in revisions:
        if "main" in revision.refs:
            return revision
    return revisions[0] if revisions else None


def local_seq2seq_models(cache_dir: str | Path | None = None) -> list[LocalModel]:
    """Encoder-decoder checkpoints (config ``is_encoder_decoder``) in the HF cache, sorted by id."""
    try:
        info = scan_cache_dir(cache_dir)
    except (CacheNotFound, ValueError):
        return []
    found: list[LocalModel] = []
    for repo in info.repos:
        revision = _default_revision(repo) if repo.repo_type == "model" else None
        if revision is None:
            continue
        config = _read_config(Path(revision.snapshot_path))
        if not config or not config.get("is_encoder_decoder"):
            continue
        found.append(
            LocalModel(repo.repo_id, str(revision.snapshot_path), family(config), revision.size_on_disk)
        )
    return sorted(found, key=lambda m: m.model_id)


def _offline_message(model: str, reason: str, cache_dir: str | Path | None) -> str:
    cache = cache_dir or constants.HF_HUB_CACHE
    return (
        f"Cannot download {model}: no network is reachable ({reason}). "
        f"To get the model onto this machine, run `rag pull {model}` on a connected machine "
        f"and copy its Hugging Face cache folder ({cache}) here, "
        "or pass `--model /path/to/folder` pointing at a saved checkpoint folder."
    )


def pull(model: str, cache_dir: str | Path | None = None) -> str:
    """Download hub checkpoint ``model`` into the Hugging Face cache and return its folder.

    Offline (HF_HUB_OFFLINE set) a checkpoint already in the cache is returned as is.

    Raises:
        NetworkUnavailableError: offline (HF_HUB_OFFLINE) or any connection/HTTP error.
        ModelNotFoundError: the hub answered that no such model exists.
    """
    if constants.is_offline_mode():
        cached = resolve_seq2seq(model, cache_dir)
        if cached is not None and not Path(model).expanduser().is_dir():
            return cached
        raise NetworkUnavailableError(_offline_message(model, "HF_HUB_OFFLINE is set", cache_dir))
    try:
        return snapshot_download(model, cache_dir=cache_dir)
    except RepositoryNotFoundError as e:
        raise ModelNotFoundError(
            f"The Hugging Face Hub has no model {model!r}; check the id, e.g. google/flan-t5-base."
        ) from e
    except HFValidationError as e:
        raise ModelNotFoundError(
            f"{model!r} is not a valid model id; use an id such as google/flan-t5-base."
        ) from e
    except _NETWORK_ERRORS as e:
        reason = type(e.__cause__ or e).__name__
        raise NetworkUnavailableError(_offline_message(model, reason, cache_dir)) from e
