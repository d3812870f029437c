"""Fitted weights of the extractive reader and the abstention gate. Generated: do not edit.

Made by ``python eval/fit_reader.py ../shared/devsets/qa.jsonl --write`` (leave-one-article-out
cross-validation on the shared dev set; see eval/README.md). The models are
applied by rag/generation/answer_choice.py and rag/generation/confidence.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from rag.generation.logistic import LogisticModel

# Cross-validated by article when these weights were made (shares, not percentages):
#   exact_match: 0.3386
#   f1: 0.4765
#   containment: 0.8088
#   cited_sentences: 1.2829
#   gate_threshold: 0.1419
#   gate_abstain_answerable: 0.0478
#   gate_abstain_unanswerable: 0.1558
#   gate_abstain_off: 0.9573
#   gate_retrieval_threshold: 0.1068
#   gate_retrieval_abstain_answerable: 0.0478
#   gate_retrieval_abstain_unanswerable: 0.0779
#   gate_retrieval_abstain_off: 0.8232
#   likely_n: 45.0000
#   likely_exact: 0.7778
#   uncertain_n: 206.0000
#   uncertain_exact: 0.2427


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
        mean=(0.5244, 0.3081, 0.2081, 0.4773, 0.3230, 0.1567, 0.2029, 0.0122, 0.6756),
        scale=(0.1388, 0.2601, 0.4059, 0.4995, 0.3564, 0.2083, 0.1372, 0.1099, 0.6504),
        weights=(1.0458, 0.4973, 1.2006, -0.6423, 0.1273, 0.4753, 0.4843, 0.2409, 0.1175),
        bias=0.0000,
    ),
    sentence=LogisticModel(
        names=('cos', 'lex', 'passage', 'best_span'),
        mean=(0.5022, 0.2813, 0.5114, 2.4008),
        scale=(0.1487, 0.2637, 0.1473, 3.0549),
        weights=(0.1251, 0.2228, 0.6816, 1.5579),
        bias=0.0000,
    ),
    short=LogisticModel(
        names=('sentence_p', 'span_p', 'span_margin', 'cos', 'lex', 'best_cosine', 'names_missing', 'terms_missing', 'names_unmatched', 'numbers_unmatched'),
        mean=(0.5277, 0.3628, 0.6974, 0.4489, 0.3382, 0.4316, 0.5762, 0.5838, 0.6265, 0.0777),
        scale=(0.2452, 0.2369, 1.0644, 0.2169, 0.3378, 0.2028, 0.7965, 0.3633, 0.8091, 0.3000),
        weights=(0.7774, 1.1795, -0.2778, 0.6223, -0.9930, 0.3731, -0.6998, -0.6949, 0.0054, -0.7336),
        bias=-3.5553,
    ),
    answer=LogisticModel(
        names=('sentence_p', 'span_p', 'span_margin', 'cos', 'lex', 'best_cosine', 'names_missing', 'terms_missing', 'names_unmatched', 'numbers_unmatched'),
        mean=(0.5277, 0.3628, 0.6974, 0.4489, 0.3382, 0.4316, 0.5762, 0.5838, 0.6265, 0.0777),
        scale=(0.2452, 0.2369, 1.0644, 0.2169, 0.3378, 0.2028, 0.7965, 0.3633, 0.8091, 0.3000),
        weights=(0.8126, 0.5253, -0.2145, 0.7191, -0.4732, 0.7061, -1.1251, -0.2994, -0.3358, -0.8751),
        bias=-2.2295,
    ),
)
GATE = GateModels(
    reader=LogisticModel(
        names=('reader_logit', 'best_cosine', 'margin'),
        mean=(-2.2264, 0.4316, 0.3282),
        scale=(3.1148, 0.2028, 0.1583),
        weights=(1.6802, -0.3333, 1.0472),
        bias=-1.5945,
    ),
    retrieval=LogisticModel(
        names=('best_cosine', 'margin'),
        mean=(0.4316, 0.3282),
        scale=(0.2028, 0.1583),
        weights=(0.5766, 1.2128),
        bias=-1.2736,
    ),
    abstain_below=0.1419,
    abstain_below_retrieval=0.1068,
)
