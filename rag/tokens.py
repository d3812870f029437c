"""Word-level text matching: tokens, stopwords, a light stemmer, weighted overlap.

The one tokenizer of rag: it scores how much a sentence shares with a
question (extractive answers) or with a generated sentence (citation
support), and ``tokenize`` gives the terms of the BM25 keyword index
(rag/storage/lexical.py). Words are runs of letters or digits in any script,
with decimals ("2.8", "1,200") and a percent sign kept in the token and a
possessive "'s" dropped. English stopwords only; a full morphological
stemmer is left out on purpose: stripping a few suffixes is enough to match
"urged"/"urge" and "defenses"/"defense". The BM25 terms use this stemmer
rather than an S-stemmer because it found more answer passages on the dev
set (/work/shared/devsets/qa.jsonl, BM25 alone: recall@5 0.932 against
0.904; bench/RESULTS.md).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Iterable, Sequence

STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own said same says she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom whose why will with would you your yours yourself
    yourselves according much many""".split()
)
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?(?:[.,][0-9]+)*%?")
# Changes whenever ``tokenize`` does, so keyword indexes built with another one are rebuilt.
TOKENIZER_VERSION = "tokens-2"


def stem(word: str) -> str:
    """A light suffix stripper.

    >>> [stem(w) for w in ["urged", "defenses", "attacks", "running", "policies"]]
    ['urg', 'defens', 'attack', 'runn', 'polic']
    """
    for suffix in ("ies", "ing", "ed", "es", "s", "e", "y"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def words(text: str) -> list[str]:
    """Lowercased word tokens with possessives dropped.

    >>> words("Russia's 3.5% rise in Zürich")
    ['russia', '3.5%', 'rise', 'in', 'zürich']
    """
    return [re.sub(r"['’]s$", "", w.lower()) for w in _WORD.findall(text)]


def content_terms(text: str) -> list[str]:
    """Stemmed tokens that are not stopwords.

    >>> content_terms("The ferries and the ferry left at 22:40")
    ['ferr', 'ferr', 'left', '22', '40']
    """
    return [stem(w) for w in words(text) if w not in STOPWORDS]


def tokenize(text: str) -> list[str]:
    """The terms BM25 indexes and searches: ``content_terms``.

    >>> tokenize("Fares rose 2.8 percent; the fare rise hit 1,200 riders.")
    ['far', 'ros', '2.8', 'percent', 'far', 'ris', 'hit', '1,200', 'rider']
    """
    return content_terms(text)


def idf_weights(documents: Iterable[Sequence[str]]) -> dict[str, float]:
    """Smoothed inverse document frequency of each term over ``documents``."""
    docs = [set(d) for d in documents]
    df = Counter(t for d in docs for t in d)
    n = len(docs)
    return {t: math.log(1 + (n + 1) / (c + 0.5)) for t, c in df.items()}


def weighted_overlap(query: Sequence[str], candidate: Sequence[str], idf: dict[str, float] | None = None) -> float:
    """Share of the query's (idf-weighted) terms that occur in ``candidate``, in [0, 1]."""
    terms = set(query)
    if not terms:
        return 0.0
    have = set(candidate)
    weight = (lambda t: idf.get(t, max(idf.values(), default=1.0))) if idf else (lambda t: 1.0)
    total = sum(weight(t) for t in terms)
    return sum(weight(t) for t in terms if t in have) / total if total else 0.0
