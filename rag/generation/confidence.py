"""Calibrated confidence for an answer, the abstention gate, and the words a reader sees.

``answer_probability`` is the probability that an answer holds a right
answer, from the reader's own confidence (when the generator has one) and two
retrieval signals: the best passage's cosine with the question and its margin
over the collection's background, the median cosine of the question's nearest
chunks in this collection (so the number adapts to each collection instead of
a fixed cut-off). The gate abstains below ``GATE.abstain_below``, the
operating point chosen on the shared dev set so that at least 95% of
answerable questions are still answered (eval/fit_reader.py).

The words for a probability ("likely", "uncertain") live in wording.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from rag.generation.reader_models import GateModels
from rag.generation.weights import GATE


@dataclass(frozen=True)
class RetrievalSignals:
    """How close the question came to the collection."""

    best_cosine: float  # the best retrieved passage's cosine with the question
    background: float  # median cosine of the question's nearest chunks in this collection


def retrieval_signals(passage_cosines: Sequence[float], pool_cosines: Sequence[float]) -> RetrievalSignals:
    """Signals from the retrieved passages' cosines and the cosines of a wider pool of nearest chunks."""
    best = max(passage_cosines, default=0.0)
    background = float(np.median(pool_cosines)) if len(pool_cosines) else best
    return RetrievalSignals(float(best), background)


def _logit(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


def gate_row(reader_confidence: float | None, signals: RetrievalSignals) -> np.ndarray:
    """The gate model's features: the reader's log-odds (when it has any), best cosine, margin."""
    margin = signals.best_cosine - signals.background
    if reader_confidence is None:
        return np.array([[signals.best_cosine, margin]])
    return np.array([[_logit(reader_confidence), signals.best_cosine, margin]])


def answer_probability(reader_confidence: float | None, signals: RetrievalSignals, gate: GateModels = GATE) -> float:
    """P(the answer holds a right answer); retrieval signals only when the reader has no confidence."""
    model = gate.retrieval if reader_confidence is None else gate.reader
    return float(model.probability(gate_row(reader_confidence, signals))[0])


def should_abstain(probability: float, reader_confidence: float | None, gate: GateModels = GATE) -> bool:
    """Whether to say "the articles do not answer this" rather than answer."""
    return probability < (gate.abstain_below if reader_confidence is not None else gate.abstain_below_retrieval)
