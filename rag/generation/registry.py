"""The one place that maps generator names to implementations.

``CHOICES`` is the one list of names the front ends offer: "auto" and every
key of ``GENERATORS``. "auto" picks seq2seq when the configured checkpoint is
on this machine (a folder, or already in the Hugging Face cache), else
extractive. A generator is a cheap object made from one Settings; the model
weights it loads are cached where they are loaded (rag/embedding.py,
rag/generation/seq2seq.py), keyed by what determines them, so two
generators with different decoding settings share one model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from rag.errors import UnknownGeneratorError
from rag.generation.base import Generator
from rag.settings import Settings

if TYPE_CHECKING:
    from rag.embedding import Embedder

Factory = Callable[[Settings, "Embedder"], Generator]


def _extractive(settings: Settings, embedder: Embedder) -> Generator:
    from rag.generation.extractive import ExtractiveGenerator

    return ExtractiveGenerator(settings, embedder)


def _seq2seq(settings: Settings, embedder: Embedder) -> Generator:
    from rag.generation.seq2seq import Seq2SeqGenerator

    return Seq2SeqGenerator(settings)


GENERATORS: dict[str, Factory] = {"extractive": _extractive, "seq2seq": _seq2seq}
CHOICES = ("auto", *GENERATORS)


@dataclass(frozen=True)
class GeneratorInfo:
    """For status screens: what "auto" uses here and whether the seq2seq checkpoint is on this machine."""

    auto_uses: str
    seq2seq_model: str
    seq2seq_available: bool

    @property
    def availability(self) -> str:
        """ "yes", or how to get the checkpoint."""
        return "yes" if self.seq2seq_available else "no (run `rag pull` on a connected machine, or pass --model DIR)"


def seq2seq_available(model: str) -> bool:
    from rag.models import resolve_seq2seq

    return resolve_seq2seq(model) is not None


def check_name(name: str) -> str:
    """``name`` if it is one of ``CHOICES``, else UnknownGeneratorError listing them.

    >>> check_name("extractive")
    'extractive'
    """
    if name not in CHOICES:
        raise UnknownGeneratorError(f"unknown generator {name!r}; choose one of: {', '.join(CHOICES)}")
    return name


def resolve_name(requested: str, seq2seq_model: str) -> str:
    """The concrete generator name for ``requested`` ("auto" becomes seq2seq or extractive)."""
    if check_name(requested) == "auto":
        return "seq2seq" if seq2seq_available(seq2seq_model) else "extractive"
    return requested


def make_generator(name: str, settings: Settings, embedder: Embedder) -> Generator:
    """A new generator ``name`` (a concrete name, not "auto") configured by ``settings``."""
    return GENERATORS[check_name(name) if name != "auto" else resolve_name(name, settings.seq2seq_model)](
        settings, embedder
    )


def fallback_notice(requested: str, name: str, seq2seq_model: str) -> str:
    """What to tell the user when "auto" fell back to the extractive generator."""
    if requested == "auto" and name == "extractive":
        return (
            f"no seq2seq model found locally ({seq2seq_model}), so sentences are quoted from the "
            f"articles by the extractive generator; see `rag models` to add one"
        )
    return ""


def generator_info(settings: Settings) -> GeneratorInfo:
    """What "auto" would use with ``settings`` and whether seq2seq is here."""
    here = seq2seq_available(settings.seq2seq_model)
    return GeneratorInfo("seq2seq" if here else "extractive", settings.seq2seq_model, here)
