"""What every front end (the ``rag`` CLI, ``rag eval``, the web UI and its HTTP API, ui.py) shares.

``settings_from`` builds the one Settings from parsed flags and the
environment (``$RAG_CACHE_DIR``; ``$RAG_INDEX_DIR`` is the ``--index-dir``
default; ``$RAG_STORE`` and ``$RAG_ENGINE`` those of ``--store`` and
``--engine``), so nothing below the front ends reads environment variables.
``quiet_libraries`` keeps Hugging Face offline unless pulling and keeps
library progress bars and log chatter off the terminal; warnings are left
alone except the known noise listed in ``QUIET_WARNINGS``. ``resolve_ids``
turns what a user typed (a unique id prefix of at least ``MIN_ID_PREFIX``
characters, like git) into document ids; ``status_json`` is the one shape of
``rag status --json`` and ``GET /api/v1/status``; ``progress_bar`` draws on
stderr only when it is a terminal; ``prepare_embedder`` announces the
one-time model export before it starts.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence, TextIO

from rag.errors import AmbiguousIdError, BadInputError, DocumentNotFoundError
from rag.escaping import printable, shorten
from rag.settings import Settings, cache_dir_from

if TYPE_CHECKING:
    from rag.core import Rag
    from rag.types import DocumentInfo

# The shortest id prefix taken for a document id (git takes 4 too).
MIN_ID_PREFIX = 4
# How many matches an ambiguous prefix lists.
AMBIGUOUS_SHOWN = 5

# Flags whose value goes into the Settings field of the same name when given.
SETTING_FLAGS = (
    "embedder_model", "embedder_backend", "device", "generator", "seq2seq_model", "top_k", "max_new_tokens",
    "num_beams", "store", "search_engine",
)
# Settings a variable of the environment gives when their flag is left out (--store, --engine).
SETTING_ENVIRONMENT = {"store": "RAG_STORE", "search_engine": "RAG_ENGINE"}
QUIET_LOGGERS = ("sentence_transformers", "pypdf", "trafilatura", "htmldate", "courlan", "pymilvus", "milvus_lite")
# (message regex, module regex) of warnings that say nothing a user can act on.
QUIET_WARNINGS = (
    (r".*", r"torch\.onnx.*"),  # the one-time ONNX export
    (r".*TRANSFORMERS_CACHE.*", r""),
    (r"pkg_resources is deprecated.*", r"milvus_lite.*"),  # milvus-lite 2.5 imports it; nothing for a user to do
)


def settings_from(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> Settings:
    """The Settings for parsed command-line ``args`` (flags left out keep their defaults)."""
    environ = os.environ if environ is None else environ
    changes: dict[str, Any] = {"index_dir": Path(args.index_dir), "cache_dir": cache_dir_from(environ)}
    for name in SETTING_FLAGS:
        value = getattr(args, name, None)
        if value is None and name in SETTING_ENVIRONMENT:
            value = environ.get(SETTING_ENVIRONMENT[name]) or None
        if value is not None:
            changes[name] = value
    if getattr(args, "max_file_mb", None) is not None:
        changes["max_file_bytes"] = int(args.max_file_mb * 1_000_000)
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


# -- document ids -------------------------------------------------------------
def _match(wanted: str, known: Sequence[DocumentInfo]) -> str:
    key = wanted.strip().lower()
    if any(info.doc_id == key for info in known):
        return key
    if len(key) < MIN_ID_PREFIX:
        raise BadInputError(
            f"document id {wanted!r} is too short; give at least {MIN_ID_PREFIX} characters of an id from `rag docs`"
        )
    matches = [info for info in known if info.doc_id.startswith(key)]
    if not matches:
        raise DocumentNotFoundError(f"no document {wanted!r} in the index; see `rag docs` for the ids")
    if len(matches) > 1:
        shown = ", ".join(f"{m.doc_id} ({printable(shorten(m.title, 40))})" for m in matches[:AMBIGUOUS_SHOWN])
        more = f" and {len(matches) - AMBIGUOUS_SHOWN} more" if len(matches) > AMBIGUOUS_SHOWN else ""
        raise AmbiguousIdError(
            f"document id {wanted!r} is ambiguous: {len(matches)} documents start with it: {shown}{more}; "
            f"give more characters", tuple(m.doc_id for m in matches),
        )
    return matches[0].doc_id


def resolve_ids(wanted: Sequence[str], known: Sequence[DocumentInfo]) -> list[str]:
    """The document ids meant by ``wanted``: whole ids or unique prefixes of at least ``MIN_ID_PREFIX``.

    Raises DocumentNotFoundError for an id that matches nothing and BadInputError
    for one that is too short or matches several (the message lists them).

    >>> from rag.types import DocumentInfo
    >>> docs = [DocumentInfo(i, t, "", 1, 1, "") for i, t in
    ...         [("d152b494c9972668", "NATO"), ("e41b2a409eb9b5e2", "Bridge"), ("e41bff0000000000", "Ferry")]]
    >>> resolve_ids(["d152", "E41B2A"], docs)
    ['d152b494c9972668', 'e41b2a409eb9b5e2']
    >>> resolve_ids(["e41b"], docs)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    rag.errors.AmbiguousIdError: document id 'e41b' is ambiguous: 2 documents start with it: e41b2a409eb9b5e2 ...
    """
    return list(dict.fromkeys(_match(w, known) for w in wanted))


def resolve_with(rag: Rag, wanted: Sequence[str] | None) -> list[str] | None:
    """``resolve_ids`` against the documents of ``rag`` (None and empty stay None: every document)."""
    if not wanted:
        return None
    return resolve_ids(wanted, rag.documents())


# -- status -------------------------------------------------------------------
def status_json(rag: Rag, check: bool = False) -> dict[str, Any]:
    """``rag status --json`` and ``GET /api/v1/status``: counts, build, sizes in bytes, generator, check."""
    from rag.errors import RagError

    problems = rag.check() if check else []
    try:
        status: dict[str, Any] = asdict(rag.status())
    except RagError:  # damage the check has already named
        if not problems:
            raise
        status = {}
    status["index_dir"] = rag.location
    info = rag.generators()
    status["generator"] = f"auto uses {info.auto_uses}; seq2seq {info.seq2seq_model}: {info.availability}"
    if check:
        status["check"] = problems or "ok"
    return status


# -- progress -----------------------------------------------------------------
Progress = Callable[[int, int], None]


def progress_bar(label: str, unit: str = "chunk", stream: TextIO | None = None) -> Progress | None:
    """A tqdm bar on ``stream`` (stderr) when it is a terminal, else None (no bar in logs or pipes).

    The bar is closed (ending its line) when ``done`` reaches ``total``, so
    whatever is printed next starts on a line of its own.
    """
    stream = stream or sys.stderr
    if not stream.isatty():
        return None
    from tqdm import tqdm

    bar: list[Any] = []

    def update(done: int, total: int) -> None:
        if not bar:
            bar.append(tqdm(total=total, desc=label, unit=unit, file=stream, leave=True))
        bar[0].update(done - bar[0].n)
        if done >= total and not bar[0].disable:
            bar[0].close()
            bar[0].disable = True

    return update


def prepare_embedder(rag: Rag, stream: TextIO | None = None) -> None:
    """Run the embedder's one-time set-up (ONNX export) now, saying so before it starts and as it goes."""
    stream = stream or sys.stderr
    embedder = rag.embedder
    steps = embedder.pending_setup()
    if not steps:
        return
    print(
        f"rag: preparing the embedding model {embedder.model_id} for this machine, once "
        f"({' and '.join(steps)} into {embedder.models_dir}); this takes up to a minute, later runs start at once",
        file=stream, flush=True,
    )
    started: list[float] = []

    def report(step: str, done: int, total: int) -> None:
        if started:
            print(f" done in {time.monotonic() - started[0]:.0f} s", file=stream, flush=True)
        if done < total:
            started[:] = [time.monotonic()]
            print(f"  [{done + 1}/{total}] {step}...", end="", file=stream, flush=True)

    embedder.setup(report)
