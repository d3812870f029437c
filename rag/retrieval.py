"""Query -> ranked Hits: dense and BM25 search, fused by reciprocal rank, diversified by MMR.

1. Dense: the query's vector against the FAISS index (cosine), the best
   ``Settings.retrieval_candidates`` chunks.
2. BM25 (when ``Settings.hybrid``): as many chunks by keyword score, which
   finds rare exact terms (names, codes, figures) a dense model can miss.
3. Reciprocal rank fusion: ``sum(1 / (rrf_k + rank))`` over the two lists; it
   needs no score calibration between cosine and BM25.
4. MMR (when ``Settings.retrieval_mmr_lambda`` < 1): the final ``k`` are picked one at a
   time by ``lambda * relevance - (1 - lambda) * max cosine to those already
   picked``, relevance being the fused score scaled to [0, 1], so near-duplicate
   passages do not crowd out other facts.

``Hit.rank`` is the final order; ``Hit.score`` is always the chunk's cosine
similarity to the query (comparable across queries, unlike fused scores), so
scores need not decrease with rank. A search can be restricted to some
documents. Query expansion and cross-encoder re-ranking are left out.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from rag.index import Index
from rag.types import Hit


def dense_search(
    index: Index, query: str | np.ndarray, k: int, allowed: Sequence[int] | None = None
) -> list[tuple[int, float]]:
    """``(chunk_id, cosine)`` pairs, best first; ``query`` is text or its vector."""
    index.refresh()
    if index.vectors is None or index.vectors.ntotal == 0 or k <= 0:
        return []
    vector = index.embedder.encode_query(query) if isinstance(query, str) else query
    scores, ids = index.vectors.search(vector, k, allowed)
    return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]


def lexical_search(
    index: Index, query: str, k: int, allowed: Sequence[int] | None = None
) -> list[tuple[int, float]]:
    """``(chunk_id, bm25_score)`` pairs, best first."""
    index.refresh()
    if index.lexical is None or k <= 0:
        return []
    return index.lexical.search(query, k, allowed)


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[int]], rrf_k: int = 60, weights: Sequence[float] | None = None
) -> list[tuple[int, float]]:
    """Ids of several best-first rankings, by ``sum(weight / (rrf_k + rank))``, best first.

    >>> reciprocal_rank_fusion([[7, 3], [3, 9]], rrf_k=60)  # 3 is in both lists
    [(3, 0.03252247488101534), (7, 0.01639344262295082), (9, 0.016129032258064516)]
    """
    fused: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights or [1.0] * len(rankings), strict=True):
        for rank, chunk_id in enumerate(ranking, start=1):
            fused[chunk_id] = fused.get(chunk_id, 0.0) + weight / (rrf_k + rank)
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))


def mmr(relevance: np.ndarray, vectors: np.ndarray, count: int, lam: float) -> list[int]:
    """Maximal marginal relevance: positions of ``count`` relevant, mutually different items.

    >>> v = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    >>> mmr(np.array([1.0, 0.9, 0.5]), v, 2, 0.5)  # the duplicate of item 0 loses to item 2
    [0, 2]
    """
    picked: list[int] = []
    redundancy = np.full(len(relevance), -np.inf)
    while len(picked) < min(count, len(relevance)):
        value = lam * relevance - (1.0 - lam) * np.maximum(redundancy, 0.0)
        value[picked] = -np.inf
        best = int(np.argmax(value))
        picked.append(best)
        redundancy = np.maximum(redundancy, vectors @ vectors[best])
    return picked


def _scaled(scores: np.ndarray) -> np.ndarray:
    """Scores mapped to [0, 1] (all ones when they are equal)."""
    low, high = float(scores.min()), float(scores.max())
    return (scores - low) / (high - low) if high > low else np.ones_like(scores)


def to_hits(index: Index, ranked: Sequence[tuple[int, float]]) -> list[Hit]:
    """Turn ``(chunk_id, score)`` pairs into Hits with their document's title and source."""
    chunks = index.store.chunks_by_id([cid for cid, _ in ranked])
    titles = index.store.titles(list({c.doc_id for c in chunks.values()}))
    hits: list[Hit] = []
    for cid, score in ranked:
        if cid in chunks:
            chunk = chunks[cid]
            title, source = titles[chunk.doc_id]
            hits.append(Hit(chunk=chunk, score=score, rank=len(hits) + 1, title=title, source=source))
    return hits


def search(index: Index, query: str, k: int = 5, doc_ids: Sequence[str] | None = None) -> list[Hit]:
    """The ``k`` best chunks for ``query``, optionally only from ``doc_ids``.

    Hybrid (dense + BM25, fused) when ``index.settings.hybrid``, then MMR when
    ``index.settings.retrieval_mmr_lambda < 1``; see the module docstring.
    """
    settings = index.settings
    allowed = index.store.chunk_ids(doc_ids) if doc_ids else None
    if (allowed is not None and not allowed) or k <= 0:
        return []
    index.refresh()
    if index.vectors is None or index.vectors.ntotal == 0:
        return []
    vector = index.embedder.encode_query(query)
    pool = max(settings.retrieval_candidates, k)
    dense = dense_search(index, vector, pool, allowed)
    if settings.hybrid:
        lexical = lexical_search(index, query, pool, allowed)
        rankings = [[i for i, _ in dense], [i for i, _ in lexical]]
        fused = reciprocal_rank_fusion(rankings, settings.rrf_k, [1.0, settings.bm25_weight])
    else:
        fused = dense
    ids = [i for i, _ in fused]
    vectors = index.vectors.reconstruct(ids)
    cosines = vectors @ vector
    if settings.retrieval_mmr_lambda < 1.0:
        order = mmr(_scaled(np.array([s for _, s in fused])), vectors, k, settings.retrieval_mmr_lambda)
    else:
        order = list(range(min(k, len(ids))))
    return to_hits(index, [(ids[i], float(cosines[i])) for i in order])
