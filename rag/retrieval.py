"""Query -> ranked Hits: dense search over the FAISS vectors of an Index.

Scores are cosine similarities (unit vectors, inner product). A search can be
restricted to some documents. Query expansion and re-ranking with a cross
encoder are left out.
"""

from __future__ import annotations

from typing import Sequence

from rag.index import Index
from rag.types import Hit


def dense_search(
    index: Index, query: str, k: int, allowed: Sequence[int] | None = None
) -> list[tuple[int, float]]:
    """``(chunk_id, cosine)`` pairs, best first."""
    index.refresh()
    if index.vectors is None or index.vectors.ntotal == 0 or k <= 0:
        return []
    scores, ids = index.vectors.search(index.embedder.encode_query(query), k, allowed)
    return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]


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
    """The ``k`` best chunks for ``query``, optionally only from ``doc_ids``."""
    allowed = index.store.chunk_ids(doc_ids) if doc_ids else None
    if allowed is not None and not allowed:
        return []
    return to_hits(index, dense_search(index, query, k, allowed))
