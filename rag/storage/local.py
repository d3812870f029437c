"""The local search engine (``Settings.search_engine = "local"``): FAISS + BM25 files beside the store.

Each committed generation ``g`` of the store has ``vectors-<g>.faiss``
(rag/storage/vectors.py) and the folder ``bm25-<g>/`` (rag/storage/lexical.py)
in the index folder. Both are derived: a file that is missing, damaged or
out of step with the store (another count of chunks) is rebuilt in memory
from the store when it is read, and ``rag repair`` writes it again. Each
structure is loaded the first time it is needed, so listing documents loads
neither and a dense search never loads BM25.

The manifest records the BM25 tokenizer (rag/tokens.py ``TOKENIZER_VERSION``);
BM25 files made with another one are rebuilt in memory when read and
reported by ``problems`` until ``rag repair`` (or the next write) saves them
again. Writes follow rag/storage/index.py: ``begin`` loads both structures, the
store's transaction changes them in place, ``fit`` restructures them when
the collection crossed a size boundary (exact below ``ann_threshold``
chunks, IVF above) or BM25 asks for compaction, ``save`` writes them under
the new generation before the store commits, and ``committed`` deletes the
older generations' files. Sharding across machines is left out.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Sequence

from rag.errors import IndexCorruptError
from rag.storage.base import EngineStatus, Ranked, Store
from rag.tokens import TOKENIZER_VERSION

if TYPE_CHECKING:
    import numpy as np

    from rag.storage.lexical import LexicalIndex
    from rag.storage.vectors import VectorIndex

LEXICAL = f"bm25/{TOKENIZER_VERSION}"  # recorded in the manifest: how the BM25 files were tokenized


class LocalEngine:
    """FAISS vectors and BM25 keywords of one generation, as files in ``folder`` (a SearchEngine)."""

    def __init__(self, folder: Path, store: Store, ann_threshold: int, ann_nprobe: int) -> None:
        self.folder = Path(folder)
        self.store = store
        self.ann_threshold = ann_threshold
        self.ann_nprobe = ann_nprobe
        self.generation = -1
        self.dimension = 0
        self._vectors: VectorIndex | None = None
        self._lexical: LexicalIndex | None = None
        self._lexical_current = True  # the saved BM25 files use today's tokenizer

    def close(self) -> None:
        """Nothing to let go of: the files are read whole."""

    # -- files ---------------------------------------------------------------------
    def vector_path(self, generation: int) -> Path:
        return self.folder / f"vectors-{generation}.faiss"

    def lexical_path(self, generation: int) -> Path:
        return self.folder / f"bm25-{generation}"

    def disk_bytes(self) -> int:
        files = [*self.folder.glob("vectors-*.faiss"), *self.folder.glob("bm25-*/**/*")]
        return sum(p.stat().st_size for p in files if p.is_file())

    # -- showing a generation ----------------------------------------------------------
    def open(self, generation: int, dimension: int, recorded: Mapping[str, str]) -> None:
        if (generation, dimension) != (self.generation, self.dimension):
            self.generation, self.dimension = generation, dimension
            self._vectors = self._lexical = None
        self._lexical_current = recorded.get("lexical", LEXICAL) == LEXICAL

    def manifest(self) -> dict[str, str]:
        return {"index_kind": self.vectors.kind if self.dimension else "flat", "lexical": LEXICAL}

    @property
    def vectors(self) -> VectorIndex:
        """The shown generation's vector index (loaded, or rebuilt from the store, on first use)."""
        if self._vectors is None:
            self._vectors = self._load_vectors()
        return self._vectors

    @property
    def lexical(self) -> LexicalIndex:
        """The shown generation's BM25 index (loaded, or rebuilt from the store, on first use)."""
        if self._lexical is None:
            self._lexical = self._load_lexical()
        return self._lexical

    def _load_vectors(self) -> VectorIndex:
        from rag.storage.vectors import VectorIndex

        path = self.vector_path(self.generation)
        try:
            vectors = VectorIndex.load(path, self.dimension, self.ann_nprobe) if path.exists() else None
        except (IndexCorruptError, OSError):  # a writer removed it meanwhile, or it is damaged
            vectors = None
        if vectors is not None and vectors.ntotal == self.store.count_chunks():
            return vectors
        return self._vectors_from_store()

    def _load_lexical(self) -> LexicalIndex:
        from rag.storage.lexical import LexicalIndex

        path = self.lexical_path(self.generation)
        try:
            lexical = LexicalIndex.load(path) if path.is_dir() and self._lexical_current else None
        except (IndexCorruptError, OSError):  # a writer removed it meanwhile, or it is damaged
            lexical = None
        if lexical is not None and lexical.ntotal == self.store.count_chunks():
            return lexical
        return LexicalIndex.build(self.store.chunk_texts())

    def _vectors_from_store(self) -> VectorIndex:
        """Exact or approximate by the number of chunks, filled from the store's vectors."""
        from rag.storage.vectors import VectorIndex

        n = self.store.count_chunks()
        return VectorIndex.build(self.dimension, self.store.vectors, n, self.ann_threshold, self.ann_nprobe)

    # -- reading -----------------------------------------------------------------------
    def dense(
        self, vector: np.ndarray, k: int, allowed: Sequence[int] | None, doc_ids: Sequence[str] | None = None
    ) -> Ranked:
        if not self.dimension or k <= 0 or self.vectors.ntotal == 0:
            return []
        scores, ids = self.vectors.search(vector, k, allowed)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def keyword(
        self, text: str, k: int, allowed: Sequence[int] | None, doc_ids: Sequence[str] | None = None
    ) -> Ranked:
        if not self.dimension or k <= 0:
            return []
        return self.lexical.search(text, k, allowed)

    def fused(
        self, vector: np.ndarray, text: str, k: int, allowed: Sequence[int] | None, rrf_k: int,
        doc_ids: Sequence[str] | None = None,
    ) -> Ranked | None:
        return None  # rag/retrieval.py fuses FAISS and BM25 results itself

    def vectors_of(self, ids: Sequence[int]) -> np.ndarray:
        return self.vectors.reconstruct(ids)

    # -- writing -----------------------------------------------------------------------
    def begin(self) -> None:
        self._vectors, self._lexical = self.vectors, self.lexical  # both loaded before they change

    def add(self, ids: Sequence[int], vectors: np.ndarray, texts: Sequence[str]) -> None:
        self.vectors.add(ids, vectors)
        self.lexical.add(ids, texts)

    def remove(self, ids: Sequence[int], doc_ids: Sequence[str] = ()) -> int:
        removed = self.vectors.remove(ids)
        self.lexical.remove(ids)
        return removed

    def rebuild(self) -> None:
        from rag.storage.lexical import LexicalIndex

        self._vectors = self._vectors_from_store()
        self._lexical = LexicalIndex.build(self.store.chunk_texts())

    def reset(self, dimension: int) -> None:
        """Empty structures for vectors of ``dimension`` (before the store is refilled)."""
        from rag.storage.lexical import LexicalIndex
        from rag.storage.vectors import VectorIndex

        self.dimension = dimension
        self._vectors = VectorIndex(dimension, nprobe=self.ann_nprobe)
        self._lexical = LexicalIndex()

    def fit(self) -> None:
        from rag.storage.lexical import LexicalIndex

        if not self.vectors.suits(self.store.count_chunks(), self.ann_threshold):
            self._vectors = self._vectors_from_store()
        if self.lexical.needs_compaction():
            self._lexical = LexicalIndex.build(self.store.chunk_texts())

    def save(self, generation: int) -> None:
        self.vectors.save(self.vector_path(generation))
        self.lexical.save(self.lexical_path(generation))

    def discard(self, generation: int) -> None:
        self.vector_path(generation).unlink(missing_ok=True)
        shutil.rmtree(self.lexical_path(generation), ignore_errors=True)
        self.generation, self._vectors, self._lexical = -1, None, None

    def committed(self, generation: int) -> None:
        self.generation, self._lexical_current = generation, True
        keep = {self.vector_path(generation).name, self.lexical_path(generation).name}
        for old in [*self.folder.glob("vectors-*.faiss*"), *self.folder.glob("bm25-*")]:
            if old.name in keep:
                continue
            if old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
            else:
                old.unlink(missing_ok=True)

    # -- checking ----------------------------------------------------------------------
    def problems(self, stored: set[int]) -> list[str]:
        problems: list[str] = []
        for name in ("FAISS", "BM25"):
            found: set[int] = set()
            if self.dimension:
                found = set((self.vectors if name == "FAISS" else self.lexical).ids().tolist())
            if stored != found:
                problems.append(
                    f"{len(stored - found)} chunks missing from {name}, {len(found - stored)} {name} ids "
                    f"with no chunk; run `rag repair`"
                )
        if stored and not self.vector_path(self.generation).exists():
            problems.append(f"vector file for generation {self.generation} is missing; run `rag repair`")
        if stored and not self.lexical_path(self.generation).is_dir():
            problems.append(f"BM25 folder for generation {self.generation} is missing; run `rag repair`")
        elif stored and not self._lexical_current:
            problems.append("the BM25 index was made by an older tokenizer; run `rag repair`")
        return problems

    def describe(self) -> EngineStatus:
        if not self.dimension:
            return EngineStatus("flat", "empty", 0, "empty", 0)
        vectors, lexical = self.vectors, self.lexical
        return EngineStatus(vectors.kind, vectors.detail, vectors.ntotal, lexical.detail, lexical.ntotal)
