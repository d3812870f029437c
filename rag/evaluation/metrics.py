"""Metrics for answer and summary quality: SQuAD EM/F1, recall@k, lead-n, ROUGE.

Pure functions over strings and numbers, each with a worked example. EM and F1
follow the official SQuAD v1.1 script exactly (same normalization, same token
F1, maximum over the gold answers). ROUGE is Google's ``rouge_score`` package
with the Porter stemmer; ``rougeLsum`` sees one sentence per line, split with
``rag.sentences``. Leaves out running the system, loading eval files and
reporting: the eval runner does that. Unanswerable questions (no gold answers)
are not scored by EM/F1 here (both give 0.0); score them by whether the system
abstained.

>>> exact_match("The Eiffel Tower!", ["eiffel tower"])
1.0
>>> token_f1("in the year 1999", ["1999"])  # tokens: in, year, 1999
0.5
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from functools import lru_cache
from typing import TYPE_CHECKING, Sequence

from rag.sentences import split_paragraphs, split_sentences

if TYPE_CHECKING:
    from rouge_score import rouge_scorer

ROUGE_TYPES = ("rouge1", "rouge2", "rougeLsum")
# A first paragraph at most this long without terminal punctuation is a headline.
HEADLINE_MAX_CHARS = 150
_CLOSERS = "\"'”’)]"
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = frozenset(string.punctuation)


def normalize_answer(s: str) -> str:
    """SQuAD v1.1 normalization: lowercase, drop punctuation, articles and extra spaces.

    >>> normalize_answer("  The  U.S. Navy's ship, a frigate!")
    'us navys ship frigate'
    >>> normalize_answer("An apple")
    'apple'
    """
    lowered = s.lower()
    no_punct = "".join(ch for ch in lowered if ch not in _PUNCTUATION)
    no_articles = _ARTICLES.sub(" ", no_punct)
    return " ".join(no_articles.split())


def exact_match(prediction: str, golds: Sequence[str]) -> float:
    """1.0 if the normalized prediction equals any normalized gold answer, else 0.0.

    Empty ``golds`` (an unanswerable question) gives 0.0.

    >>> exact_match("the 17th of May", ["17th of May", "May 17"])
    1.0
    >>> exact_match("May", ["May 17"])
    0.0
    """
    pred = normalize_answer(prediction)
    return max((float(pred == normalize_answer(g)) for g in golds), default=0.0)


def _f1_one(prediction: str, gold: str) -> float:
    pred_tokens = normalize_answer(prediction).split()
    gold_tokens = normalize_answer(gold).split()
    common = Counter(pred_tokens) & Counter(gold_tokens)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision = same / len(pred_tokens)
    recall = same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def token_f1(prediction: str, golds: Sequence[str]) -> float:
    """SQuAD token F1 of ``prediction`` against its best gold answer.

    Tokens are the whitespace-split words of ``normalize_answer``; overlap counts
    repeated tokens at most as often as both sides hold them. Empty ``golds``
    gives 0.0.

    >>> token_f1("27 million euros total", ["27 million euros"])  # P=3/4, R=3/3
    0.8571428571428571
    >>> token_f1("nothing", ["27 million euros"])
    0.0
    """
    return max((_f1_one(prediction, g) for g in golds), default=0.0)


def contains_answer(text: str, golds: Sequence[str]) -> bool:
    """Whether some gold answer appears in ``text`` after SQuAD normalization.

    Matching is on whole normalized words, so "5" is not found in "15".
    Empty golds, or golds that normalize to nothing, are never contained.

    >>> contains_answer("The bridge reopened on March 3, after repairs.", ["march 3"])
    True
    >>> contains_answer("It cost 15 euros.", ["5 euros"])
    False
    """
    haystack = f" {normalize_answer(text)} "
    for gold in golds:
        needle = normalize_answer(gold)
        if needle and f" {needle} " in haystack:
            return True
    return False


def recall_at_k(hit_flags: Sequence[bool], k: int) -> float:
    """1.0 if any of the first ``k`` retrieved results is a hit, else 0.0 (one query).

    ``hit_flags[i]`` says whether the result at rank ``i + 1`` is relevant.

    >>> recall_at_k([False, False, True], 3)
    1.0
    >>> recall_at_k([False, False, True], 2)
    0.0
    """
    if k < 1:
        raise ValueError(f"recall_at_k needs k >= 1, got {k}; pass how many results to look at")
    return 1.0 if any(hit_flags[:k]) else 0.0


def mean(values: Sequence[float]) -> float:
    """Arithmetic mean; 0.0 for no values (so an empty subset reports 0, not an error).

    >>> mean([1.0, 0.0, 1.0, 1.0])
    0.75
    """
    return sum(values) / len(values) if values else 0.0


def _is_headline(line: str) -> bool:
    ended = line.rstrip(_CLOSERS).endswith((".", "!", "?"))
    return len(line) <= HEADLINE_MAX_CHARS and not ended


def lead_n(article: str, n: int = 3) -> str:
    """The first ``n`` sentences of ``article``, one per line: the lead-n baseline.

    Headline rule: if the first paragraph (text up to the first line break) is
    at most ``HEADLINE_MAX_CHARS`` characters and does not end with . ! or ?
    (optionally followed by a closing quote), it is a headline and is skipped.
    Sentences come from ``rag.sentences.split_sentences``.

    >>> lead_n("Bridge Reopens\\n\\nThe bridge opened. Cars returned. Shops cheered. Fine.", 2)
    'The bridge opened.\\nCars returned.'
    """
    if n < 1:
        raise ValueError(f"lead_n needs n >= 1, got {n}")
    body_start = 0
    paragraphs = split_paragraphs(article)
    if paragraphs and _is_headline(article[paragraphs[0][0] : paragraphs[0][1]]):
        body_start = paragraphs[0][1]
    spans = split_sentences(article, body_start)[:n]
    return "\n".join(article[s:e] for s, e in spans)


def _one_sentence_per_line(text: str) -> str:
    return "\n".join(text[s:e] for s, e in split_sentences(text))


@lru_cache(maxsize=1)
def _scorer() -> rouge_scorer.RougeScorer:
    from rouge_score import rouge_scorer  # imports NLTK: seconds, so only when scoring

    return rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=True)


def rouge_scores(prediction: str, reference: str) -> dict[str, float]:
    """ROUGE-1, ROUGE-2 and ROUGE-Lsum F1 of ``prediction`` against ``reference``.

    Both texts are re-split into one sentence per line before scoring, so
    ROUGE-Lsum compares sentence by sentence whatever the input layout.

    >>> rouge_scores("The cat sat.", "The cat sat.")
    {'rouge1': 1.0, 'rouge2': 1.0, 'rougeLsum': 1.0}
    >>> rouge_scores("Dogs bark.", "Fish swim.")["rouge1"]
    0.0
    """
    scores = _scorer().score(_one_sentence_per_line(reference), _one_sentence_per_line(prediction))
    return {name: float(scores[name].fmeasure) for name in ROUGE_TYPES}


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0-100) with linear interpolation, as ``numpy.percentile``.

    >>> percentile([1.0, 2.0, 3.0, 4.0], 50)
    2.5
    >>> percentile([10.0, 20.0, 30.0], 90)
    28.0
    """
    if not values:
        raise ValueError("percentile needs at least one value")
    if not 0.0 <= p <= 100.0:
        raise ValueError(f"percentile needs p between 0 and 100, got {p}")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100.0
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
