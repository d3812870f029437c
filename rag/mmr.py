"""Maximal marginal relevance: pick relevant items that do not repeat each other.

The one implementation, used for retrieved passages (rag/retrieval.py) and
for briefing sentences (rag/generation/briefing.py). Items are picked one
at a time by ``lam * relevance - (1 - lam) * redundancy``, where redundancy
is an item's highest cosine to those already picked, counted from 0 (an item
unlike everything picked gets no bonus for it); an item of relevance
``-inf`` is never picked. Vectors must be unit length.
Learned diversity (determinantal point processes) is left out.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def mmr(relevance: np.ndarray, vectors: np.ndarray, count: int, lam: float, chosen: Sequence[int] = ()) -> list[int]:
    """Positions of up to ``count`` items (``chosen`` included) in pick order; returns those after ``chosen``.

    >>> v = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    >>> mmr(np.array([1.0, 0.9, 0.5]), v, 2, 0.5)  # the duplicate of item 0 loses to item 2
    [0, 2]
    >>> mmr(np.array([1.0, 0.9, 0.5]), v, 3, 0.5, chosen=[2])  # 2 is taken: then 0, then its duplicate
    [0, 1]
    """
    picked = list(chosen)
    redundancy = np.zeros(len(relevance))
    for p in picked:
        redundancy = np.maximum(redundancy, vectors @ vectors[p])
    while len(picked) < min(count, len(relevance)):
        value = lam * relevance - (1.0 - lam) * redundancy
        value[picked] = -np.inf
        best = int(np.argmax(value))
        if not np.isfinite(value[best]):
            break
        picked.append(best)
        redundancy = np.maximum(redundancy, vectors @ vectors[best])
    return picked[len(chosen) :]
