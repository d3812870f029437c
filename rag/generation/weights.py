"""Fitted weights of the extractive reader and the abstention gate. Generated: do not edit.

Made by ``python eval/fit_reader.py ../shared/devsets/qa.jsonl --write`` (leave-one-article-out
cross-validation on the shared dev set; see eval/README.md). The models are
applied by rag/generation/answer_choice.py and rag/generation/confidence.py.
"""

from __future__ import annotations

from rag.generation.logistic import LogisticModel
from rag.generation.reader_models import GateModels, ReaderModels

# Cross-validated by article when these weights were made (shares, not percentages):
#   exact_match: 0.3586
#   f1: 0.4867
#   containment: 0.7928
#   cited_sentences: 1.2629
#   gate_threshold: 0.1542
#   gate_abstain_answerable: 0.0478
#   gate_abstain_unanswerable: 0.1299
#   gate_abstain_off: 0.9573
#   gate_retrieval_threshold: 0.1044
#   gate_retrieval_abstain_answerable: 0.0478
#   gate_retrieval_abstain_unanswerable: 0.0649
#   gate_retrieval_abstain_off: 0.8140
#   likely_n: 66.0000
#   likely_exact: 0.7273
#   uncertain_n: 185.0000
#   uncertain_exact: 0.2270


READER = ReaderModels(
    span=LogisticModel(
        names=(
            'sent_cos', 'sent_lex', 'type_match', 'type_clash', 'proximity', 'window', 'head_sim',
            'head_last', 'length',
        ),
        mean=(0.5218, 0.3037, 0.1814, 0.4775, 0.3118, 0.1524, 0.2040, 0.0137, 0.6787),
        scale=(0.1401, 0.2591, 0.3853, 0.4995, 0.3497, 0.2056, 0.1376, 0.1164, 0.6502),
        weights=(1.0633, 0.4880, 0.9446, -0.9976, 0.1479, 0.4676, 0.4866, 0.2297, 0.0844),
        bias=0.0000,
    ),
    sentence=LogisticModel(
        names=('cos', 'lex', 'passage', 'best_span', 'typed'),
        mean=(0.5022, 0.2813, 0.5114, 2.4105, 0.6462),
        scale=(0.1487, 0.2637, 0.1473, 3.0495, 0.4781),
        weights=(0.2484, 0.3126, 0.6148, 1.2875, 0.2720),
        bias=0.0000,
    ),
    short=LogisticModel(
        names=(
            'sentence_p', 'span_p', 'span_margin', 'cos', 'lex', 'best_cosine', 'names_missing',
            'terms_missing', 'names_unmatched', 'numbers_unmatched', 'type_missing',
        ),
        mean=(0.5349, 0.3804, 0.7885, 0.4488, 0.3367, 0.4316, 0.5762, 0.5838, 0.6357, 0.0777, 0.0351),
        scale=(0.2416, 0.2509, 1.1695, 0.2171, 0.3386, 0.2028, 0.7965, 0.3633, 0.8096, 0.3050, 0.1839),
        weights=(0.7980, 0.9076, -0.0821, 0.7038, -0.9510, 0.4532, -0.7778, -0.5350, 0.1674, -0.7847, -0.1944),
        bias=-3.3859,
    ),
    answer=LogisticModel(
        names=(
            'sentence_p', 'span_p', 'span_margin', 'cos', 'lex', 'best_cosine', 'names_missing',
            'terms_missing', 'names_unmatched', 'numbers_unmatched', 'type_missing',
        ),
        mean=(0.5349, 0.3804, 0.7885, 0.4488, 0.3367, 0.4316, 0.5762, 0.5838, 0.6357, 0.0777, 0.0351),
        scale=(0.2416, 0.2509, 1.1695, 0.2171, 0.3386, 0.2028, 0.7965, 0.3633, 0.8096, 0.3050, 0.1839),
        weights=(0.8232, 0.4334, -0.1574, 0.6826, -0.3739, 0.7038, -1.1184, -0.2616, -0.2810, -0.8664, -0.0433),
        bias=-2.2422,
    ),
)
GATE = GateModels(
    reader=LogisticModel(
        names=('reader_logit', 'best_cosine', 'margin'),
        mean=(-2.2207, 0.4316, 0.3282),
        scale=(3.1146, 0.2028, 0.1583),
        weights=(1.6444, -0.2138, 0.9061),
        bias=-1.6162,
    ),
    retrieval=LogisticModel(
        names=('best_cosine', 'margin'),
        mean=(0.4316, 0.3282),
        scale=(0.2028, 0.1583),
        weights=(0.6306, 1.1218),
        bias=-1.3066,
    ),
    abstain_below=0.1542,
    abstain_below_retrieval=0.1044,
)
