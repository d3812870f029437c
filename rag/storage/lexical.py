"""BM25 keyword search over chunk texts (the ``bm25s`` package), keyed by chunk id.

Dense vectors miss rare exact terms (names, codes, figures); BM25 finds them.
rag/storage/local.py keeps this index in step with the store and saves it
beside the vectors under each generation (``bm25-<gen>/``); rag/retrieval.py
fuses it with dense search.

``bm25s`` precomputes scores, so it cannot add or remove documents in place.
The index is therefore a list of immutable segments plus a set of deleted ids,
as in Lucene: an add indexes only the new chunks as a new segment, a remove
only records ids. Queries score with the statistics of the whole index, as
Lucene does: each segment's stored BM25 weights are turned back into term
counts (with the segment's idf and average length, and each row's length)
and rescored with the document frequencies and average length of all
segments; so scores equal those of one index over all rows, deleted rows
still counting in the statistics until compaction.
``needs_compaction`` tells rag/storage/local.py when to rebuild one segment from the
store: always below ``EXACT_BELOW`` rows (cheap), and on larger collections
past ``MAX_SEGMENTS`` segments or once deleted rows or rows outside the
largest segment pass a fifth of all rows. Unchanged
segments are hard-linked into the next generation's folder, not rewritten.

Terms come from rag/tokens.py (``tokenize``: the tokenizer, stopwords and
stemmer the rest of rag uses); the manifest records its version, and
rag/storage/local.py rebuilds an index made with another one.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import uuid
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Iterable, Sequence

import numpy as np

from rag.errors import IndexCorruptError
from rag.tokens import tokenize

if TYPE_CHECKING:
    import bm25s

EXACT_BELOW = 5_000  # below this many rows, every change rebuilds one exact segment
MAX_SEGMENTS = 8
MAX_STALE_FRACTION = 0.2  # deleted rows, or rows outside the largest segment
SEGMENTS_FILE = "segments.json"
DELETED_FILE = "deleted.npy"
IDS_FILE = "ids.npy"
LENGTHS_FILE = "lengths.npy"


@dataclass
class _Segment:
    """One bm25s index over some chunks; row ``i`` is chunk ``ids[i]``."""

    name: str
    bm25: bm25s.BM25
    ids: np.ndarray
    lengths: np.ndarray  # tokens per row, as bm25s counted them
    alive: np.ndarray  # False for deleted rows
    folder: Path | None = None  # where its files are on disk, for hard-linking

    @classmethod
    def from_texts(cls, ids: np.ndarray, texts: Sequence[str]) -> _Segment:
        tokens = [tokenize(t) or [""] for t in texts]
        bm25 = _bm25s().BM25()
        bm25.index(tokens, show_progress=False)
        lengths = np.array([len(t) for t in tokens], dtype=np.int32)
        return cls(uuid.uuid4().hex[:12], bm25, ids, lengths, np.ones(len(ids), dtype=bool))

    @property
    def rows(self) -> int:
        return len(self.ids)

    def doc_freq(self, token: str) -> int:
        """How many of this segment's rows hold ``token`` (its column's length in the score matrix)."""
        column = self.bm25.vocab_dict.get(token)
        if column is None:
            return 0
        indptr = self.bm25.scores["indptr"]
        return int(indptr[column + 1] - indptr[column])

    @cached_property
    def avg_length(self) -> float:
        return float(self.lengths.mean())

    def top(
        self, idf: dict[str, float], avg_length: float, k: int, allowed: np.ndarray | None
    ) -> list[tuple[int, float]]:
        """Best rows scored with the whole index's idf and average length, not this segment's."""
        data, indices, indptr = (self.bm25.scores[name] for name in ("data", "indices", "indptr"))
        k1, b = float(self.bm25.k1), float(self.bm25.b)
        scores = np.zeros(self.rows, dtype=np.float64)
        for token, weight in idf.items():
            column = self.bm25.vocab_dict.get(token)
            if column is None:
                continue
            lo, hi = int(indptr[column]), int(indptr[column + 1])
            rows = indices[lo:hi]
            lengths = self.lengths[rows]
            # bm25s stored idf * tf / (norm + tf); recover tf, rescore with the index's statistics.
            part = np.asarray(data[lo:hi], dtype=np.float64) / _idf(hi - lo, self.rows)
            tf = np.rint(part * k1 * (1 - b + b * lengths / self.avg_length) / (1.0 - part))
            scores[rows] += weight * tf / (k1 * (1 - b + b * lengths / avg_length) + tf)
        scores[~self.alive] = 0.0
        if allowed is not None:
            scores[~np.isin(self.ids, allowed)] = 0.0
        take = min(k, int((scores > 0).sum()))
        if take <= 0:
            return []
        cutoff = -np.partition(-scores, take - 1)[take - 1]
        tied = np.flatnonzero(scores >= cutoff)  # all rows tied at the cut, so ids break ties
        top = tied[np.lexsort((self.ids[tied], -scores[tied]))][:take]
        return [(int(self.ids[i]), float(scores[i])) for i in top]


def _bm25s() -> ModuleType:
    """The bm25s package, imported when first needed (it takes a second to import)."""
    import bm25s

    # bm25s sets its own logger to DEBUG on import; keep its chatter off the user's terminal.
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


def _idf(doc_freq: int, rows: int) -> float:
    """BM25 idf as bm25s computes it for its default ("lucene") method."""
    return math.log(1 + (rows - doc_freq + 0.5) / (doc_freq + 0.5))


class LexicalIndex:
    """BM25 over chunk texts, in segments; ``ids()`` are the live chunk ids."""

    def __init__(self, segments: list[_Segment] | None = None) -> None:
        self.segments: list[_Segment] = segments or []

    @classmethod
    def build(cls, batches: Iterable[Sequence[tuple[int, str]]]) -> LexicalIndex:
        """One exact segment over every ``(chunk_id, text)`` row (e.g. ``Store.chunk_texts()``)."""
        rows = [row for batch in batches for row in batch]
        index = cls()
        index.add([r[0] for r in rows], [r[1] for r in rows])
        return index

    # -- changing -------------------------------------------------------------
    def add(self, ids: Sequence[int] | np.ndarray, texts: Sequence[str]) -> None:
        """Index new chunks as a new segment."""
        if len(ids) != len(texts):
            raise ValueError("need one text per id")
        if len(ids):
            self.segments.append(_Segment.from_texts(np.asarray(ids, dtype=np.int64), texts))

    def remove(self, ids: Sequence[int] | np.ndarray) -> int:
        """Mark ``ids`` deleted (unknown ones are ignored); return how many were live."""
        ids = np.asarray(ids, dtype=np.int64)
        removed = 0
        for seg in self.segments:
            hit = np.isin(seg.ids, ids) & seg.alive
            removed += int(hit.sum())
            seg.alive[hit] = False
        return removed

    def needs_compaction(self) -> bool:
        """Whether a rebuild from the store should replace the segments now."""
        rows = sum(len(s.ids) for s in self.segments)
        stale = rows - self.ntotal
        if len(self.segments) <= 1 and stale == 0:
            return False
        if rows < EXACT_BELOW:
            return True
        outside = rows - max(len(s.ids) for s in self.segments)
        limit = MAX_STALE_FRACTION * rows
        return len(self.segments) > MAX_SEGMENTS or stale > limit or outside > limit

    # -- reading ----------------------------------------------------------------
    @property
    def ntotal(self) -> int:
        return int(sum(s.alive.sum() for s in self.segments))

    def ids(self) -> np.ndarray:
        parts = [s.ids[s.alive] for s in self.segments]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    @property
    def detail(self) -> str:
        """One line for ``rag status``."""
        deleted = sum(len(s.ids) for s in self.segments) - self.ntotal
        return f"BM25 (bm25s), {len(self.segments)} segment(s), {deleted} deleted rows pending compaction"

    def search(self, query: str, k: int, allowed: Sequence[int] | None = None) -> list[tuple[int, float]]:
        """``(chunk_id, bm25_score)`` of the ``k`` best chunks holding a query word, best first."""
        tokens = tokenize(query)
        if not tokens or k <= 0 or not self.segments:
            return []
        rows = sum(seg.rows for seg in self.segments)
        avg_length = sum(float(seg.lengths.sum()) for seg in self.segments) / rows
        idf: dict[str, float] = {}
        for token in tokens:  # a repeated query word counts again, as in bm25s
            df = sum(seg.doc_freq(token) for seg in self.segments)
            if df:
                idf[token] = idf.get(token, 0.0) + _idf(df, rows)
        if not idf:
            return []
        allowed_ids = np.asarray(allowed, dtype=np.int64) if allowed is not None else None
        found = [hit for seg in self.segments for hit in seg.top(idf, avg_length, k, allowed_ids)]
        found.sort(key=lambda hit: (-hit[1], hit[0]))
        return found[:k]

    # -- files ------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        """Write to ``folder`` atomically (a temporary folder, fsync, rename); link unchanged segments."""
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            tmp.mkdir(parents=True)
            for seg in self.segments:
                _write_segment(seg, tmp / seg.name)
            deleted = np.concatenate([s.ids[~s.alive] for s in self.segments]) if self.segments else np.zeros(0)
            np.save(tmp / DELETED_FILE, deleted.astype(np.int64))
            (tmp / SEGMENTS_FILE).write_text(json.dumps({"segments": [s.name for s in self.segments]}))
            _fsync_tree(tmp)
            shutil.rmtree(folder, ignore_errors=True)  # left by a crashed, uncommitted attempt
            os.replace(tmp, folder)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)  # a full disk leaves no half-written folder behind
            raise
        _fsync_dir(folder.parent)
        for seg in self.segments:
            seg.folder = folder / seg.name

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        """Read a saved index (score matrices memory-mapped)."""
        try:
            names = json.loads((folder / SEGMENTS_FILE).read_text())["segments"]
            deleted = np.load(folder / DELETED_FILE)
            segments = []
            for name in names:
                bm25 = _bm25s().BM25.load(str(folder / name), mmap=True, show_progress=False)
                ids, lengths = np.load(folder / name / IDS_FILE), np.load(folder / name / LENGTHS_FILE)
                segments.append(_Segment(name, bm25, ids, lengths, ~np.isin(ids, deleted), folder / name))
        except (OSError, ValueError, KeyError) as e:
            raise IndexCorruptError(f"{folder}: cannot read the BM25 index ({e}); run `rag repair`") from e
        return cls(segments)


def _write_segment(seg: _Segment, target: Path) -> None:
    """Hard-link the segment's saved files when it has some, else save it."""
    if seg.folder is not None and seg.folder.is_dir():
        try:
            target.mkdir()
            for f in seg.folder.iterdir():
                os.link(f, target / f.name)
            return
        except OSError:
            shutil.rmtree(target, ignore_errors=True)
    seg.bm25.save(str(target), show_progress=False)
    np.save(target / IDS_FILE, seg.ids)
    np.save(target / LENGTHS_FILE, seg.lengths)


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as f:
                os.fsync(f.fileno())
    for path in [folder, *(p for p in folder.rglob("*") if p.is_dir())]:
        _fsync_dir(path)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
