"""FAISS vectors keyed by chunk id: add, remove, search, atomic save and load.

Inner product on unit vectors is cosine similarity. Exact search (a flat
index) is used for now; the index kind is recorded so approximate kinds can
be chosen by size. Which chunk ids exist is decided by the store, not here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import faiss
import numpy as np

from rag.errors import IndexCorruptError


class VectorIndex:
    """A FAISS index whose ids are chunk ids."""

    def __init__(self, dimension: int, index: faiss.Index | None = None, kind: str = "flat") -> None:
        self.dimension = dimension
        self.kind = kind
        self.index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal)

    def add(self, ids: Sequence[int] | np.ndarray, vectors: np.ndarray) -> None:
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids):
            self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)

    def remove(self, ids: Sequence[int] | np.ndarray) -> int:
        ids = np.asarray(ids, dtype=np.int64)
        if not len(ids):
            return 0
        return int(self.index.remove_ids(faiss.IDSelectorBatch(ids)))

    def search(
        self, queries: np.ndarray, k: int, allowed: Sequence[int] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(scores, ids)`` of shape ``(len(queries), k)``; missing results have id -1."""
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        k = max(1, min(k, self.ntotal)) if self.ntotal else 1
        if allowed is None:
            return self.index.search(queries, k)
        params = faiss.SearchParameters()
        params.sel = faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64))
        return self.index.search(queries, k, params=params)

    def save(self, path: Path) -> None:
        """Write to ``path`` atomically: a temporary file, fsync, then rename."""
        tmp = path.with_name(path.name + ".tmp")
        faiss.write_index(self.index, str(tmp))
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path, dimension: int, kind: str = "flat") -> "VectorIndex":
        try:
            index = faiss.read_index(str(path))
        except RuntimeError as e:
            raise IndexCorruptError(f"{path}: cannot read the vector index ({e}); run `rag repair`") from e
        if index.d != dimension:
            raise IndexCorruptError(f"{path}: vectors have dimension {index.d}, expected {dimension}; run `rag repair`")
        return cls(dimension, index, kind)
