"""What every front end (the ``rag`` CLI, ``rag eval``, the web UI, ui.py) does before using rag.

``settings_from`` builds the one Settings from parsed flags and the
environment (``$RAG_CACHE_DIR``; ``$RAG_INDEX_DIR`` is the ``--index-dir``
default; ``$RAG_STORE`` and ``$RAG_ENGINE`` those of ``--store`` and
``--engine``), so nothing below the front ends reads environment variables.
``quiet_libraries`` keeps Hugging Face offline unless pulling and keeps
library progress bars and log chatter off the terminal; warnings are left
alone except the known noise listed in ``QUIET_WARNINGS``.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any, Mapping

from rag.settings import Settings, cache_dir_from

# Flags whose value goes into the Settings field of the same name when given.
SETTING_FLAGS = (
    "embedder_model", "embedder_backend", "device", "generator", "seq2seq_model", "top_k", "max_new_tokens",
    "num_beams",
)
STORE_ENV, ENGINE_ENV = "RAG_STORE", "RAG_ENGINE"
QUIET_LOGGERS = ("sentence_transformers", "pypdf", "trafilatura", "htmldate", "courlan", "pymilvus", "milvus_lite")
# (message regex, module regex) of warnings that say nothing a user can act on.
QUIET_WARNINGS = (
    (r".*", r"torch\.onnx.*"),  # the one-time ONNX export
    (r".*TRANSFORMERS_CACHE.*", r""),
)


def settings_from(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> Settings:
    """The Settings for parsed command-line ``args`` (flags left out keep their defaults)."""
    environ = os.environ if environ is None else environ
    changes: dict[str, Any] = {"index_dir": Path(args.index_dir), "cache_dir": cache_dir_from(environ)}
    for name in SETTING_FLAGS:
        value = getattr(args, name, None)
        if value is not None:
            changes[name] = value
    if getattr(args, "max_file_mb", None) is not None:
        changes["max_file_bytes"] = int(args.max_file_mb * 1_000_000)
    # Where the index lives: --store / --engine, else $RAG_STORE / $RAG_ENGINE, else the index folder.
    for flag, env, name in (("store", STORE_ENV, "store"), ("engine", ENGINE_ENV, "search_engine")):
        value = getattr(args, flag, None) or environ.get(env)
        if value:
            changes[name] = value
    return Settings().with_(**changes)


def quiet_libraries(offline: bool = True) -> None:
    """Offline unless pulling; no library progress bars or log chatter on the terminal.

    Must run before huggingface_hub is imported: it reads HF_HUB_OFFLINE once.
    """
    if offline:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    import logging
    import warnings

    for message, module in QUIET_WARNINGS:
        warnings.filterwarnings("ignore", message=message, module=module)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
