"""Source sentences of passages: the units a generator quotes and a citation points at.

``sentence_candidates`` splits each passage's chunk into sentences
(rag/sentences.py) and keeps each distinct sentence once, with its exact
span in its document. Used by the extractive generator (which quotes them)
and by rag/citations.py (which attributes written sentences to them).
Sentences shorter than ``MIN_WORDS`` words are left out.
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
    position: int  # order of the sentence within its document
    span: SourceSpan
    text: str


def is_prose(text: str) -> bool:
    """A full sentence (not a headline, byline or button label).

    >>> is_prose("The council approved the plan on Monday."), is_prose("Read more")
    (True, False)
    """
    return len(words(text)) >= 6 and text.rstrip()[-1:] in ".!?\"'”’)"


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
            if (doc.id, start) in seen or len(words(text)) < MIN_WORDS or (prose_only and not is_prose(text)):
                continue
            seen.add((doc.id, start))
            out.append(Candidate(doc_index, start, SourceSpan(doc.id, chunk.id, start, end), text))
    return out
