"""The one place that maps generator names to implementations.

``auto`` picks seq2seq when the configured checkpoint is on this machine
(a folder, or already in the Hugging Face cache), else extractive. Instances
are cached per process so a model loads once.
"""

from __future__ import annotations

from typing import Callable

from rag.embedding import Embedder
from rag.errors import UnknownGeneratorError
from rag.generation.base import Generator
from rag.settings import Settings

Factory = Callable[[Settings, Embedder], Generator]


def _extractive(settings: Settings, embedder: Embedder) -> Generator:
    from rag.generation.extractive import ExtractiveGenerator

    return ExtractiveGenerator(settings, embedder)


def _seq2seq(settings: Settings, embedder: Embedder) -> Generator:
    from rag.generation.seq2seq import Seq2SeqGenerator

    return Seq2SeqGenerator(settings)


GENERATORS: dict[str, Factory] = {"extractive": _extractive, "seq2seq": _seq2seq}
CHOICES = ("auto", *GENERATORS)
_instances: dict[tuple[str, str, str, str], Generator] = {}


def seq2seq_available(settings: Settings) -> bool:
    from rag.models import resolve_seq2seq

    return resolve_seq2seq(settings.seq2seq_model) is not None


def resolve_name(settings: Settings) -> str:
    """The concrete generator name for ``settings.generator`` (resolves "auto")."""
    name = settings.generator
    if name == "auto":
        return "seq2seq" if seq2seq_available(settings) else "extractive"
    if name not in GENERATORS:
        raise UnknownGeneratorError(f"unknown generator {name!r}; choose one of: {', '.join(CHOICES)}")
    return name


def make_generator(settings: Settings, embedder: Embedder) -> Generator:
    """The generator ``settings`` asks for, created once per process."""
    name = resolve_name(settings)
    key = (name, settings.seq2seq_model, settings.device, embedder.model_id)
    if key not in _instances:
        _instances[key] = GENERATORS[name](settings, embedder)
    return _instances[key]


def fallback_notice(settings: Settings, name: str) -> str:
    """What to tell the user when "auto" fell back to the extractive generator."""
    if settings.generator == "auto" and name == "extractive":
        return (
            f"no seq2seq model found locally ({settings.seq2seq_model}), so sentences are quoted from the "
            f"articles by the extractive generator; see `rag models` to add one"
        )
    return ""


def generator_availability(settings: Settings) -> dict[str, str]:
    """For status screens: what "auto" would use and whether seq2seq is here."""
    here = seq2seq_available(settings)
    return {
        "auto_uses": "seq2seq" if here else "extractive",
        "seq2seq_model": settings.seq2seq_model,
        "seq2seq_available": "yes" if here else "no (run `rag pull` on a connected machine, or pass --model DIR)",
    }
