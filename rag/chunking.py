"""Cut a document into overlapping chunks along sentence and paragraph lines.

Pure: no models, no I/O. Every chunk is an exact slice of the document text,
``text[chunk.start:chunk.end] == chunk.text``. A sentence is split (at word
boundaries) only when it alone is longer than ``max_chars``. Chunks may span
short paragraphs, but a chunk that would end mid-way into a new paragraph ends
at the paragraph break instead when that keeps it at least half full. Overlap
is made of whole trailing sentences of the previous chunk. Token counting is
left out: characters are a good enough proxy for MiniLM's 256-token window.
Time is linear in the text: sentence splitting is (rag/sentences.py), each
chunk looks at only the units inside it, and pages are found by binary search.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Callable

from rag.sentences import split_paragraphs, split_sentences
from rag.types import Chunk, Document


@dataclass(frozen=True)
class _Unit:
    start: int
    end: int
    paragraph: int


def _split_long(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    """Split one over-long sentence at whitespace into pieces of at most ``max_chars``."""
    pieces: list[tuple[int, int]] = []
    while end - start > max_chars:
        cut = text.rfind(" ", start + 1, start + max_chars + 1)
        if cut <= start:
            cut = start + max_chars
        pieces.append((start, cut))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if end > start:
        pieces.append((start, end))
    return pieces


def _units(text: str, max_chars: int) -> list[_Unit]:
    units: list[_Unit] = []
    for p, (p_start, p_end) in enumerate(split_paragraphs(text)):
        for s_start, s_end in split_sentences(text, p_start, p_end):
            for a, b in _split_long(text, s_start, s_end, max_chars):
                units.append(_Unit(a, b, p))
    return units


def _pack(units: list[_Unit], first: int, max_chars: int) -> int:
    """Index one past the last unit of the chunk starting at ``first``."""
    last = first + 1
    while last < len(units) and units[last].end - units[first].start <= max_chars:
        last += 1
    if last < len(units):
        # Prefer ending at a paragraph break that keeps the chunk at least half full.
        for cut in range(last, first, -1):
            if units[cut].paragraph != units[cut - 1].paragraph:
                if units[cut - 1].end - units[first].start >= max_chars // 2:
                    return cut
                break
    return last


def _overlap_start(units: list[_Unit], first: int, last: int, overlap_chars: int) -> int:
    """First unit of the next chunk: trailing whole sentences within ``overlap_chars``."""
    nxt = last
    while nxt - 1 > first and units[last - 1].end - units[nxt - 1].start <= overlap_chars:
        nxt -= 1
    return nxt


def chunk_spans(text: str, max_chars: int = 400, overlap_chars: int = 100) -> list[tuple[int, int]]:
    """Chunk ``text`` into ``(start, end)`` spans.

    >>> chunk_spans("One. Two. Three.", max_chars=10, overlap_chars=0)
    [(0, 9), (10, 16)]
    """
    if max_chars <= 0 or overlap_chars < 0 or overlap_chars >= max_chars:
        raise ValueError("need max_chars > 0 and 0 <= overlap_chars < max_chars")
    units = _units(text, max_chars)
    spans: list[tuple[int, int]] = []
    first = 0
    while first < len(units):
        last = _pack(units, first, max_chars)
        spans.append((units[first].start, units[last - 1].end))
        if last >= len(units):
            break
        first = _overlap_start(units, first, last, overlap_chars)
    return spans


def _page_of(document: Document) -> Callable[[int], int | None]:
    """``document.page_at`` by binary search (page spans are in order): no scan per chunk."""
    starts = [span.start for span in document.pages]

    def page_at(offset: int) -> int | None:
        i = bisect.bisect_right(starts, offset) - 1
        if i >= 0 and offset < document.pages[i].end:
            return document.pages[i].page
        return None

    return page_at


def chunk_document(document: Document, max_chars: int = 400, overlap_chars: int = 100) -> list[Chunk]:
    """Chunks of ``document`` with ``id=0`` (the store assigns real ids)."""
    page_at = _page_of(document)
    return [
        Chunk(
            id=0,
            doc_id=document.id,
            start=start,
            end=end,
            text=document.text[start:end],
            page=page_at(start),
        )
        for start, end in chunk_spans(document.text, max_chars, overlap_chars)
    ]
