"""The local search engine (``Settings.search_engine = "local"``): FAISS + BM25 files beside the store.

Each committed generation ``g`` of the store has ``vectors-<g>.faiss``
(rag/storage/vectors.py) and the folder ``bm25-<g>/`` (rag/storage/lexical.py)
in the index folder. Both are derived from the store, and the commit that
makes them current records in the store's manifest the size and SHA-256 of
each of their files and how many chunks each holds (rag/storage/checksums.py).
A file is loaded the first time it is needed (listing documents loads
neither; a dense search never loads BM25) and trusted only after its size,
checksum and count match that record: a missing, truncated, garbled or
miscounted file raises IndexCorruptError with ``rag repair``, which rebuilds
it from the store. Nothing is rebuilt silently on open: at a million chunks
that would take minutes on every command.

The manifest records the BM25 tokenizer (rag/tokens.py ``TOKENIZER_VERSION``);
BM25 files made with another one are refused when read (run ``rag repair``),
and the next write rebuilds them. Writes follow rag/storage/index.py:
``begin`` loads both structures, the store's transaction changes them in
place, ``fit`` restructures them when the collection crossed a size boundary
(exact below ``ann_threshold`` chunks, IVF above) or BM25 asks for
compaction, ``save`` writes them under the new generation before the store
commits (a full disk removes what it wrote and raises DiskFullError), and
``committed`` deletes the older generations' files. Sharding across machines
is left out.
"""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Sequence

from rag.errors import IndexCorruptError, IndexMismatchError, RagError
from rag.storage.base import EngineStatus, Ranked, Store
from rag.storage.checksums import Record, checksums, damage, dumps, loads
from rag.storage.failures import write_error
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
        self._recorded: Mapping[str, str] = {}  # the manifest of the shown generation
        self._written: Record = {}  # checksums of the files ``save`` wrote

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

    def _damaged(self, what: str, detail: str) -> IndexCorruptError:
        return IndexCorruptError(
            f"{self.folder}: the {what} of generation {self.generation} {detail}; "
            f"run `rag repair` to rebuild it from the store"
        )

    def _verify(self, what: str, prefix: str, count_key: str, full: bool = True) -> None:
        """Check the shown generation's files named ``prefix``... against the manifest's record."""
        record = loads(self._recorded.get("files"))
        if record is None or not any(name.startswith(prefix) for name in record):
            raise self._damaged(what, "has no checksums recorded (written by an older rag, or the manifest is damaged)")
        found = damage(self.folder, record, prefix, full)
        if found:
            raise self._damaged(what, f"is damaged ({'; '.join(found[:3])})")
        if count_key not in self._recorded:
            raise self._damaged(what, "has no chunk count recorded")

    def _check_count(self, what: str, count: int, count_key: str) -> None:
        recorded = int(self._recorded.get(count_key, -1))
        if count != recorded:
            raise self._damaged(what, f"holds {count} chunks where {recorded} were written")

    # -- showing a generation ----------------------------------------------------------
    def open(self, generation: int, dimension: int, recorded: Mapping[str, str]) -> None:
        if (generation, dimension) != (self.generation, self.dimension):
            self.generation, self.dimension = generation, dimension
            self._vectors = self._lexical = None
        self._recorded = dict(recorded)

    def manifest(self) -> dict[str, str]:
        """Kind, tokenizer, and the checksums and counts of what ``save`` wrote (called after it)."""
        return {
            "index_kind": self.vectors.kind if self.dimension else "flat",
            "lexical": LEXICAL,
            "files": dumps(self._written),
            "vector_count": str(self.vectors.ntotal if self.dimension else 0),
            "lexical_count": str(self.lexical.ntotal if self.dimension else 0),
        }

    @property
    def vectors(self) -> VectorIndex:
        """The shown generation's vector index (loaded and verified on first use)."""
        if self._vectors is None:
            self._vectors = self._load_vectors()
        return self._vectors

    @property
    def lexical(self) -> LexicalIndex:
        """The shown generation's BM25 index (loaded and verified on first use)."""
        if self._lexical is None:
            self._lexical = self._load_lexical()
        return self._lexical

    def _load_vectors(self) -> VectorIndex:
        from rag.storage.vectors import VectorIndex

        if self.generation <= 0:  # nothing committed yet
            return VectorIndex(self.dimension, nprobe=self.ann_nprobe)
        path = self.vector_path(self.generation)
        self._verify("vector index", path.name, "vector_count")
        try:
            vectors = VectorIndex.load(path, self.dimension, self.ann_nprobe)
        except (IndexCorruptError, OSError) as e:
            raise self._damaged("vector index", f"cannot be read ({e})") from e
        self._check_count("vector index", vectors.ntotal, "vector_count")
        return vectors

    def _load_lexical(self) -> LexicalIndex:
        from rag.storage.lexical import LexicalIndex

        if self.generation <= 0:
            return LexicalIndex()
        if self._recorded.get("lexical", LEXICAL) != LEXICAL:
            raise IndexMismatchError(
                f"{self.folder}: the BM25 index was made by an older tokenizer "
                f"({self._recorded.get('lexical')}, this rag uses {LEXICAL}); run `rag repair` to rebuild it "
                f"from the store (nothing is re-embedded)"
            )
        path = self.lexical_path(self.generation)
        self._verify("BM25 index", path.name + "/", "lexical_count")
        try:
            lexical = LexicalIndex.load(path)
        except (IndexCorruptError, OSError) as e:
            raise self._damaged("BM25 index", f"cannot be read ({e})") from e
        self._check_count("BM25 index", lexical.ntotal, "lexical_count")
        return lexical

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
        """Load both structures before they change; BM25 of an older tokenizer is rebuilt by this write."""
        from rag.storage.lexical import LexicalIndex

        self._vectors = self.vectors
        if self._recorded.get("lexical", LEXICAL) != LEXICAL and self.generation > 0:
            self._lexical = LexicalIndex.build(self.store.chunk_texts())
        self._lexical = self.lexical

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
        """Write both structures as ``generation`` and record their checksums (DiskFullError on a full disk)."""
        paths = (self.vector_path(generation), self.lexical_path(generation))
        try:
            self.vectors.save(paths[0])
            self.lexical.save(paths[1])
            self._written = checksums(self.folder, paths)
        except (OSError, RuntimeError) as e:  # FAISS reports a failed write as a RuntimeError
            raise write_error(e, self.folder) or e from e

    def discard(self, generation: int) -> None:
        for path in (self.vector_path(generation), self.lexical_path(generation)):
            for leftover in (path, path.with_name(path.name + ".tmp")):
                with contextlib.suppress(OSError):  # a read-only folder: nothing was written there either
                    shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink(missing_ok=True)
        self.generation, self._vectors, self._lexical = -1, None, None

    def committed(self, generation: int) -> None:
        self.generation = generation
        self._recorded = {**self._recorded, **self.manifest(), "generation": str(generation)}
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
        """Every file verified byte for byte against its record, then its ids against the store's."""
        if not self.dimension or self.generation <= 0:
            never = f"{len(stored)} chunks are stored but no search index was ever committed; run `rag repair`"
            return [never] if stored else []
        self._vectors = self._lexical = None  # load again from disk, verifying every byte
        problems: list[str] = []
        for name, load in (("FAISS", lambda: self.vectors), ("BM25", lambda: self.lexical)):
            try:
                found = set(load().ids().tolist())
            except RagError as e:
                problems.append(str(e))
                continue
            if stored != found:
                problems.append(
                    f"{len(stored - found)} chunks missing from {name}, {len(found - stored)} {name} ids "
                    f"with no chunk; run `rag repair`"
                )
        return problems

    def describe(self) -> EngineStatus:
        if not self.dimension:
            return EngineStatus("flat", "empty", 0, "empty", 0)
        try:
            vectors, lexical = self.vectors, self.lexical
        except RagError as e:
            return EngineStatus("unreadable", str(e), 0, "unreadable", 0)
        return EngineStatus(vectors.kind, vectors.detail, vectors.ntotal, lexical.detail, lexical.ntotal)
