"""FAISS vectors keyed by chunk id: exact or approximate, add, remove, search, save, load.

Inner product on unit vectors is cosine similarity. The structure follows the
collection's size (``VectorIndex.build`` and ``suits``):

- below ``ann_threshold`` vectors: ``flat``, exact search
  (``IndexIDMap2(IndexFlatIP)``): a scan of every vector, a few ms at 100k;
- from ``ann_threshold`` on: ``ivf``, approximate search (``IndexIVFFlat``,
  inner product, about 4·√n lists of which ``nprobe`` are scanned per query).

Why IVF-Flat and not HNSW: FAISS's HNSW cannot remove vectors (deletes would
need tombstones and periodic full rebuilds), costs about 1.18x the raw
vectors' memory and built 2-4x slower than IVF on two cores; IVF removes ids
in place (``remove_ids``), costs about 1.02x the raw float32 vectors, and in
bench/vector_scale.py at 1M chunks it reached recall@10 of 0.98-1.0 against
exact search at about 8 ms p50 with 512 of 4096 lists probed (HNSW32 stayed
at 0.90 on clustered data even with efSearch 512). IVF with product
quantization (far less memory, recall about 0.5 unless re-ranked with the
exact vectors) is measured there too but not offered here. A direct map
(hash table) lets IVF reconstruct vectors by id, for MMR and for exact search
inside a small set of allowed ids.

Which chunk ids exist is decided by the store, not here; when to rebuild is
decided by rag/storage/local.py (``suits``). Sharding and GPUs are left out.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import faiss
import numpy as np

from rag.errors import IndexCorruptError

Batches = Callable[[], Iterable[tuple[np.ndarray, np.ndarray]]]
KINDS = ("flat", "ivf")
# A search restricted to at most this many ids is done exactly over their reconstructed vectors.
EXACT_SUBSET_MAX = 20_000
# Vectors sampled per list to train the IVF centroids (FAISS warns below 39).
TRAIN_POINTS_PER_LIST = 40
TRAIN_ITERATIONS = 10
DEFAULT_NPROBE = 512  # Settings.ann_nprobe


def nlist_for(n: int) -> int:
    """IVF lists for ``n`` vectors: about 4·√n, a power of two, with at least 8 vectors per list.

    >>> nlist_for(1_000_000), nlist_for(100_000), nlist_for(40)
    (4096, 1024, 4)
    """
    target = max(1.0, min(4.0 * math.sqrt(max(n, 1)), n / 8.0))
    return int(2 ** round(math.log2(target)))


def _empty(queries: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    return np.full((queries, k), -np.inf, dtype=np.float32), np.full((queries, k), -1, dtype=np.int64)


class VectorIndex:
    """A FAISS index whose ids are chunk ids; ``kind`` is "flat" (exact) or "ivf" (approximate)."""

    def __init__(self, dimension: int, index: faiss.Index | None = None, nprobe: int = DEFAULT_NPROBE) -> None:
        self.dimension = dimension
        # Any: faiss's stubs type every index as the base class, without the subclasses' fields.
        self.index: Any = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))
        self.nprobe = nprobe
        self._ivf: Any = faiss.try_extract_index_ivf(self.index)

    # -- building -------------------------------------------------------------
    @classmethod
    def build(
        cls, dimension: int, batches: Batches, n: int, threshold: int, nprobe: int = DEFAULT_NPROBE
    ) -> VectorIndex:
        """The right structure for ``n`` vectors, filled from ``batches()`` (called twice for IVF)."""
        if n < threshold:
            vectors = cls(dimension, nprobe=nprobe)
        else:
            vectors = cls(dimension, _trained_ivf(dimension, _sample(batches, n, nlist_for(n)), nlist_for(n)), nprobe)
        for ids, vecs in batches():
            vectors.add(ids, vecs)
        return vectors

    def suits(self, n: int, threshold: int) -> bool:
        """Whether this structure is still right for ``n`` vectors (else rebuild with ``build``).

        Flat up to ``threshold``; IVF down to half of it (so a few removals do
        not flip it back) and while its list count is within 2x of ``nlist_for(n)``
        (retrained when the collection has grown or shrunk about 4x).
        """
        if self._ivf is None:
            return n < threshold
        wanted = nlist_for(n)
        return n >= threshold // 2 and wanted / 2 <= self.nlist <= wanted * 2

    # -- description ------------------------------------------------------------
    @property
    def kind(self) -> str:
        return "flat" if self._ivf is None else "ivf"

    @property
    def nlist(self) -> int:
        return int(self._ivf.nlist) if self._ivf is not None else 0

    @property
    def detail(self) -> str:
        """One line for ``rag status``."""
        if self._ivf is None:
            return "exact inner product (FAISS IndexFlatIP)"
        return f"approximate: IVF-Flat, {self.nlist} lists, {min(self.nprobe, self.nlist)} probed per query"

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal)

    def ids(self) -> np.ndarray:
        """Every id in the index (unordered)."""
        if self._ivf is None:
            return faiss.vector_to_array(self.index.id_map).astype(np.int64)
        lists = self._ivf.invlists
        parts = [
            faiss.rev_swig_ptr(lists.get_ids(i), lists.list_size(i)).copy()
            for i in range(self.nlist)
            if lists.list_size(i)
        ]
        return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)

    # -- changing ---------------------------------------------------------------
    def add(self, ids: Sequence[int] | np.ndarray, vectors: np.ndarray) -> None:
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids):
            self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)

    def remove(self, ids: Sequence[int] | np.ndarray) -> int:
        """Remove ``ids`` (unknown ones are ignored); return how many went."""
        ids = np.asarray(ids, dtype=np.int64)
        if not len(ids):
            return 0
        selector = faiss.IDSelectorBatch(ids) if self._ivf is None else faiss.IDSelectorArray(ids)
        return int(self.index.remove_ids(selector))

    # -- reading ------------------------------------------------------------------
    def reconstruct(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """The stored vectors of ``ids``, shape ``(len(ids), dimension)``."""
        ids = np.asarray(ids, dtype=np.int64)
        if not len(ids):
            return np.zeros((0, self.dimension), dtype=np.float32)
        try:
            return self.index.reconstruct_batch(ids)
        except RuntimeError as e:
            raise IndexCorruptError(f"a chunk id is missing from the vector index ({e}); run `rag repair`") from e

    def search(
        self, queries: np.ndarray, k: int, allowed: Sequence[int] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(scores, ids)`` of shape ``(len(queries), k)``, best first; missing results have id -1."""
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        k = max(1, min(k, self.ntotal)) if self.ntotal else max(k, 1)
        if not self.ntotal:
            return _empty(len(queries), k)
        if allowed is not None and self._ivf is not None and len(allowed) <= EXACT_SUBSET_MAX:
            return self._search_subset(queries, k, np.asarray(allowed, dtype=np.int64))
        params: Any = faiss.SearchParametersIVF() if self._ivf is not None else faiss.SearchParameters()
        if self._ivf is not None:
            params.nprobe = self.nprobe
        selector = faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64)) if allowed is not None else None
        if selector is not None:
            params.sel = selector
        return self.index.search(queries, k, params=params)

    def _search_subset(self, queries: np.ndarray, k: int, allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exact search among ``allowed`` ids only."""
        scores_out, ids_out = _empty(len(queries), k)
        if not len(allowed):
            return scores_out, ids_out
        scores = queries @ self.reconstruct(allowed).T
        take = min(k, len(allowed))
        for row, row_scores in enumerate(scores):
            top = np.argpartition(-row_scores, take - 1)[:take]
            top = top[np.argsort(-row_scores[top], kind="stable")]
            scores_out[row, :take], ids_out[row, :take] = row_scores[top], allowed[top]
        return scores_out, ids_out

    # -- files ----------------------------------------------------------------------
    def save(self, path: Path) -> None:
        """Write to ``path`` atomically: a temporary file, fsync, then rename.

        The bytes go through Python's file object, not FAISS's own: FAISS only prints a
        failed close (a full disk) and would leave a short file behind; Python raises.
        """
        tmp = path.with_name(path.name + ".tmp")
        try:
            with open(tmp, "wb") as f:
                writer = faiss.PyCallbackIOWriter(f.write)  # type: ignore[attr-defined]  # missing from the stubs
                faiss.write_index(self.index, writer)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)  # a full disk leaves no half-written file behind
            raise

    @classmethod
    def load(cls, path: Path, dimension: int, nprobe: int = DEFAULT_NPROBE) -> VectorIndex:
        """Read a saved index; its kind is read from the file itself."""
        try:
            index = faiss.read_index(str(path))
        except RuntimeError as e:
            raise IndexCorruptError(f"{path}: cannot read the vector index ({e}); run `rag repair`") from e
        if index.d != dimension:
            raise IndexCorruptError(f"{path}: vectors have dimension {index.d}, expected {dimension}; run `rag repair`")
        return cls(dimension, index, nprobe)


def _sample(batches: Batches, n: int, nlist: int) -> np.ndarray:
    """About ``TRAIN_POINTS_PER_LIST * nlist`` vectors spread evenly over the batches."""
    step = max(1, n // (TRAIN_POINTS_PER_LIST * nlist))
    seen, parts = 0, []
    for _, vecs in batches():
        first = (-seen) % step
        parts.append(np.asarray(vecs[first::step], dtype=np.float32))
        seen += len(vecs)
    return np.ascontiguousarray(np.vstack(parts)) if parts else np.zeros((0, 0), dtype=np.float32)


def _trained_ivf(dimension: int, sample: np.ndarray, nlist: int) -> faiss.Index:
    """An empty IVF-Flat index with centroids trained on ``sample`` and a direct map."""
    nlist = max(1, min(nlist, len(sample)))
    index = faiss.index_factory(dimension, f"IVF{nlist},Flat", faiss.METRIC_INNER_PRODUCT)
    ivf = faiss.extract_index_ivf(index)
    ivf.cp.niter = TRAIN_ITERATIONS
    ivf.cp.min_points_per_centroid = 1  # small (test) collections: no warning spam
    index.train(sample)
    ivf.set_direct_map_type(faiss.DirectMap.Hashtable)  # type: ignore[attr-defined]  # missing from the stubs
    return index
