"""The shapes of the extractive reader's fitted models; the numbers are in rag/generation/weights.py."""

from __future__ import annotations

from dataclasses import dataclass

from rag.generation.logistic import LogisticModel


@dataclass(frozen=True)
class ReaderModels:
    """The models rag/generation/answer_choice.py applies, and its fixed numbers."""

    span: LogisticModel
    sentence: LogisticModel
    short: LogisticModel
    answer: LogisticModel
    second_sentence_below: float = 0.5  # cite the runner-up sentence too when the best is no better than a coin flip
    no_span_logit: float = -10.0  # best-span score of a sentence with no candidate span
    lone_span_margin: float = 5.0  # margin of a span with no rival in its sentence


@dataclass(frozen=True)
class GateModels:
    """P(answer right) from the reader and retrieval, and where to abstain."""

    reader: LogisticModel
    retrieval: LogisticModel
    abstain_below: float
    abstain_below_retrieval: float
