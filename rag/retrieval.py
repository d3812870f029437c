"""Query -> ranked Hits: dense and BM25 search, fused by reciprocal rank, diversified by MMR.

1. Dense: the query's vector against the index's vectors (cosine), the best
   ``Settings.retrieval_candidates`` chunks.
2. BM25 (when ``Settings.hybrid``): as many chunks by keyword score, which
   finds rare exact terms (names, codes, figures) a dense model can miss.
3. Reciprocal rank fusion: ``sum(1 / (rrf_k + rank))`` over the two lists; it
   needs no score calibration between cosine and BM25. An engine that fuses
   itself (Milvus's RRF ranker) does steps 2-3 in one call when the two
   lists weigh the same (``bm25_weight`` 1.0); the dense pool of step 1 is
   still read for the abstention gate.
4. MMR (when ``Settings.retrieval_mmr_lambda`` < 1, rag/mmr.py): the final
   ``k`` are picked one at a time by ``lambda * relevance - (1 - lambda) *
   max cosine to those already picked``, relevance being the fused score
   scaled to [0, 1], so near-duplicate passages do not crowd out other facts.

``Hit.rank`` is the final order; ``Hit.score`` is always the chunk's cosine
similarity to the query (comparable across queries, unlike fused scores), so
scores need not decrease with rank, and a relevance gate can use it as is.
The result (``Retrieval``) also carries the cosines of the dense pool of
step 1: how close the query comes to the collection in general, which the
abstention gate compares the hits with (rag/pipeline.py).
The index is refreshed once per search and read only through its public
methods. A search can be restricted to some documents. Query expansion and
cross-encoder re-ranking are left out.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from rag.mmr import mmr
from rag.settings import Settings
from rag.storage.index import Index
from rag.types import Retrieval


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


def _scaled(scores: np.ndarray) -> np.ndarray:
    """Scores mapped to [0, 1] (all ones when they are equal).

    >>> _scaled(np.array([2.0, 4.0, 3.0])).tolist()
    [0.0, 1.0, 0.5]
    """
    low, high = float(scores.min()), float(scores.max())
    return (scores - low) / (high - low) if high > low else np.ones_like(scores)


def _candidates(
    index: Index, vector: np.ndarray, query: str, settings: Settings, pool: int,
    allowed: Sequence[int] | None, doc_ids: Sequence[str] | None,
) -> tuple[list[tuple[int, float]], list[tuple[int, float]]]:
    """The candidates (dense, or dense and BM25 fused: by the engine when it can, Milvus, else
    here) and the dense pool whose cosines the abstention gate reads."""
    dense = index.dense(vector, pool, allowed, doc_ids)
    if not dense or not settings.hybrid:
        return dense, dense
    if settings.bm25_weight == 1.0:
        engine_fused = index.fused(vector, query, pool, settings.rrf_k, allowed, doc_ids)
        if engine_fused is not None:
            return engine_fused, dense
    lexical = index.keyword(query, pool, allowed, doc_ids)
    rankings = [[i for i, _ in dense], [i for i, _ in lexical]]
    return reciprocal_rank_fusion(rankings, settings.rrf_k, [1.0, settings.bm25_weight]), dense


def search(
    index: Index,
    embed: Callable[[str], np.ndarray],
    query: str,
    settings: Settings,
    k: int = 5,
    doc_ids: Sequence[str] | None = None,
) -> Retrieval:
    """The ``k`` best chunks for ``query``, optionally only from ``doc_ids``, with the cosines of
    the dense pool they were drawn from.

    ``embed`` turns the query into its vector; it is called only when the
    index holds something to search. Hybrid (dense + BM25, fused) when
    ``settings.hybrid``, then MMR when ``settings.retrieval_mmr_lambda < 1``;
    see the module docstring.
    """
    index.refresh()
    index.require_manifest()  # "no matching passages" must never hide a lost manifest
    doc_ids = list(doc_ids) if doc_ids else None
    allowed = index.chunk_ids(doc_ids) if doc_ids else None
    if (allowed is not None and not allowed) or k <= 0 or index.built is None:
        return Retrieval([])
    vector = embed(query)
    fused, dense = _candidates(index, vector, query, settings, max(settings.retrieval_candidates, k), allowed, doc_ids)
    if not fused:
        return Retrieval([])
    ids = [i for i, _ in fused]
    vectors = index.vectors(ids)
    cosines = vectors @ vector
    if settings.retrieval_mmr_lambda < 1.0:
        order = mmr(_scaled(np.array([s for _, s in fused])), vectors, k, settings.retrieval_mmr_lambda)
    else:
        order = list(range(min(k, len(ids))))
    hits = index.hits([(ids[i], float(cosines[i])) for i in order])
    return Retrieval(hits, tuple(float(score) for _, score in dense))
