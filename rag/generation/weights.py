"""Fitted weights of the extractive reader and the abstention gate. Generated: do not edit.

Made by ``python eval/fit_reader.py ../shared/devsets/qa.jsonl --write`` (leave-one-article-out
cross-validation on the shared dev set; see eval/README.md). The models are
applied by rag/generation/answer_choice.py and rag/generation/confidence.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from rag.generation.logistic import LogisticModel

# Cross-validated by article when these weights were made (shares, not percentages):
#   exact_match: 0.3546
#   f1: 0.4902
#   containment: 0.8008
#   cited_sentences: 1.2669
#   gate_threshold: 0.1470
#   gate_abstain_answerable: 0.0478
#   gate_abstain_unanswerable: 0.1299
#   gate_abstain_off: 0.9573
#   gate_retrieval_threshold: 0.1056
#   gate_retrieval_abstain_answerable: 0.0478
#   gate_retrieval_abstain_unanswerable: 0.0779
#   gate_retrieval_abstain_off: 0.8201
#   likely_n: 57.0000
#   likely_exact: 0.7719
#   uncertain_n: 194.0000
#   uncertain_exact: 0.2320


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


READER = ReaderModels(
    span=LogisticModel(
        names=('sent_cos', 'sent_lex', 'type_match', 'type_clash', 'proximity', 'window', 'head_sim', 'head_last', 'length'),
        mean=(0.5218, 0.3037, 0.1814, 0.4775, 0.3118, 0.1524, 0.2040, 0.0137, 0.6787),
        scale=(0.1401, 0.2591, 0.3853, 0.4995, 0.3497, 0.2056, 0.1376, 0.1164, 0.6502),
        weights=(1.0633, 0.4880, 0.9446, -0.9976, 0.1479, 0.4676, 0.4866, 0.2297, 0.0844),
        bias=0.0000,
    ),
    sentence=LogisticModel(
        names=('cos', 'lex', 'passage', 'best_span'),
        mean=(0.5022, 0.2813, 0.5114, 2.4105),
        scale=(0.1487, 0.2637, 0.1473, 3.0495),
        weights=(0.1613, 0.2332, 0.6297, 1.4909),
        bias=0.0000,
    ),
    short=LogisticModel(
        names=('sentence_p', 'span_p', 'span_margin', 'cos', 'lex', 'best_cosine', 'names_missing', 'terms_missing', 'names_unmatched', 'numbers_unmatched'),
        mean=(0.5354, 0.3786, 0.7835, 0.4482, 0.3364, 0.4316, 0.5762, 0.5838, 0.6341, 0.0777),
        scale=(0.2406, 0.2494, 1.1594, 0.2171, 0.3383, 0.2028, 0.7965, 0.3633, 0.8098, 0.3050),
        weights=(0.9109, 0.8859, -0.0427, 0.7004, -1.0870, 0.4632, -0.7521, -0.6347, 0.2007, -0.7771),
        bias=-3.4505,
    ),
    answer=LogisticModel(
        names=('sentence_p', 'span_p', 'span_margin', 'cos', 'lex', 'best_cosine', 'names_missing', 'terms_missing', 'names_unmatched', 'numbers_unmatched'),
        mean=(0.5354, 0.3786, 0.7835, 0.4482, 0.3364, 0.4316, 0.5762, 0.5838, 0.6341, 0.0777),
        scale=(0.2406, 0.2494, 1.1594, 0.2171, 0.3383, 0.2028, 0.7965, 0.3633, 0.8098, 0.3050),
        weights=(0.8004, 0.3404, -0.0731, 0.7024, -0.4322, 0.6942, -1.1062, -0.3616, -0.2774, -0.8683),
        bias=-2.2297,
    ),
)
GATE = GateModels(
    reader=LogisticModel(
        names=('reader_logit', 'best_cosine', 'margin'),
        mean=(-2.1979, 0.4316, 0.3282),
        scale=(3.1177, 0.2028, 0.1583),
        weights=(1.5652, -0.2467, 1.0172),
        bias=-1.5827,
    ),
    retrieval=LogisticModel(
        names=('best_cosine', 'margin'),
        mean=(0.4316, 0.3282),
        scale=(0.2028, 0.1583),
        weights=(0.6145, 1.1691),
        bias=-1.2965,
    ),
    abstain_below=0.1470,
    abstain_below_retrieval=0.1056,
)
