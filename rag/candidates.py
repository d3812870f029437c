"""Source sentences of passages: the units a generator quotes and a citation points at.

``sentence_candidates`` splits each passage's chunk into sentences
(rag/sentences.py) and keeps each distinct sentence once, with its exact
span in its document. Used by the extractive generator (its answer reader
and its briefings quote them) and by rag/citations.py (which attributes
written sentences to them).
Sentences shorter than ``MIN_WORDS`` words are left out, and with
``prose_only`` so are headlines, bylines and button labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from rag.sentences import split_sentences
from rag.tokens import words
from rag.types import Passage, SourceSpan

MIN_WORDS = 4


@dataclass(frozen=True)
class Candidate:
    """A source sentence: where it is and how it reads."""

    doc_index: int
    position: int  # offset of the sentence in its document (orders sentences within a document)
    span: SourceSpan
    text: str


def is_prose(text: str, cut: bool = False) -> bool:
    """A full sentence (not a headline, byline or button label); ``cut``: a long sentence that the
    chunk boundary cuts, so it has no final stop.

    >>> is_prose("The council approved the plan on Monday."), is_prose("Read more")
    (True, False)
    >>> is_prose("The council approved the plan on", cut=True)
    True
    """
    count = len(words(text))
    return (count >= MIN_WORDS and text.rstrip()[-1:] in ".!?\"'”’)") or (cut and count >= 6)


def sentence_candidates(passages: Sequence[Passage], prose_only: bool = False) -> list[Candidate]:
    """Distinct sentences of the passages' chunks, in passage order."""
    seen: set[tuple[str, int]] = set()
    doc_order: dict[str, int] = {}
    out: list[Candidate] = []
    for passage in passages:
        doc, chunk = passage.document, passage.chunk
        doc_index = doc_order.setdefault(doc.id, len(doc_order))
        for start, end in split_sentences(doc.text, chunk.start, chunk.end):
            text = doc.text[start:end]
            cut = end == chunk.end and end < len(doc.text) and doc.text[end] not in "\n\r"
            if (doc.id, start) in seen or len(words(text)) < MIN_WORDS or (prose_only and not is_prose(text, cut)):
                continue
            seen.add((doc.id, start))
            out.append(Candidate(doc_index, start, SourceSpan(doc.id, chunk.id, start, end), text))
    return out
