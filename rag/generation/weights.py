"""Fitted weights of the extractive reader and the abstention gate. Generated: do not edit.

Made by ``python eval/fit_reader.py ../shared/devsets/qa.jsonl --write`` (leave-one-article-out
cross-validation on the shared dev set; see eval/README.md). The models are
applied by rag/generation/answer_choice.py and rag/generation/confidence.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from rag.generation.logistic import LogisticModel

# Cross-validated by article when these weights were made (shares, not percentages):
#   exact_match: 0.3506
#   f1: 0.4841
#   containment: 0.8008
#   cited_sentences: 1.2749
#   gate_threshold: 0.1418
#   gate_abstain_answerable: 0.0478
#   gate_abstain_unanswerable: 0.1299
#   gate_abstain_off: 0.9573
#   gate_retrieval_threshold: 0.1056
#   gate_retrieval_abstain_answerable: 0.0478
#   gate_retrieval_abstain_unanswerable: 0.0779
#   gate_retrieval_abstain_off: 0.8201
#   likely_n: 55.0000
#   likely_exact: 0.8000
#   uncertain_n: 196.0000
#   uncertain_exact: 0.2245


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
        mean=(0.5216, 0.3034, 0.1921, 0.4772, 0.3118, 0.1525, 0.2040, 0.0137, 0.6785),
        scale=(0.1401, 0.2590, 0.3940, 0.4995, 0.3495, 0.2055, 0.1377, 0.1163, 0.6500),
        weights=(1.0562, 0.4998, 0.8867, -1.0834, 0.1408, 0.4641, 0.4955, 0.2228, 0.1198),
        bias=0.0000,
    ),
    sentence=LogisticModel(
        names=('cos', 'lex', 'passage', 'best_span'),
        mean=(0.5022, 0.2813, 0.5114, 2.3714),
        scale=(0.1487, 0.2637, 0.1473, 3.0077),
        weights=(0.1637, 0.2300, 0.6211, 1.4785),
        bias=0.0000,
    ),
    short=LogisticModel(
        names=('sentence_p', 'span_p', 'span_margin', 'cos', 'lex', 'best_cosine', 'names_missing', 'terms_missing', 'names_unmatched', 'numbers_unmatched'),
        mean=(0.5346, 0.3683, 0.7123, 0.4486, 0.3373, 0.4316, 0.5762, 0.5838, 0.6326, 0.0762),
        scale=(0.2411, 0.2406, 1.0790, 0.2169, 0.3391, 0.2028, 0.7965, 0.3633, 0.8101, 0.2978),
        weights=(0.8412, 0.9607, -0.1042, 0.7097, -1.1379, 0.4316, -0.6275, -0.6779, 0.0848, -0.7561),
        bias=-3.4218,
    ),
    answer=LogisticModel(
        names=('sentence_p', 'span_p', 'span_margin', 'cos', 'lex', 'best_cosine', 'names_missing', 'terms_missing', 'names_unmatched', 'numbers_unmatched'),
        mean=(0.5346, 0.3683, 0.7123, 0.4486, 0.3373, 0.4316, 0.5762, 0.5838, 0.6326, 0.0762),
        scale=(0.2411, 0.2406, 1.0790, 0.2169, 0.3391, 0.2028, 0.7965, 0.3633, 0.8101, 0.2978),
        weights=(0.7688, 0.3839, -0.0859, 0.7344, -0.3885, 0.6733, -1.0700, -0.3167, -0.3243, -0.8450),
        bias=-2.2285,
    ),
)
GATE = GateModels(
    reader=LogisticModel(
        names=('reader_logit', 'best_cosine', 'margin'),
        mean=(-2.2043, 0.4316, 0.3282),
        scale=(3.1132, 0.2028, 0.1583),
        weights=(1.6012, -0.2563, 1.0000),
        bias=-1.5915,
    ),
    retrieval=LogisticModel(
        names=('best_cosine', 'margin'),
        mean=(0.4316, 0.3282),
        scale=(0.2028, 0.1583),
        weights=(0.6145, 1.1691),
        bias=-1.2965,
    ),
    abstain_below=0.1418,
    abstain_below_retrieval=0.1056,
)
