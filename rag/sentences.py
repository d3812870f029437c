"""Split text into sentences and paragraphs as character spans.

A rule-based splitter tuned for news prose: it breaks after . ! ? (and a
closing quote or bracket) when the next word starts like a new sentence, and
at line breaks. It knows common abbreviations (Mr., U.S., Jan.), initials and
decimals (3.5%). It leaves out language-specific models (no spaCy/NLTK), so
it can be wrong on unusual text; callers only rely on spans being exact.
Time is linear in the text, on one line or many: each candidate end looks
back at most ``_WORD_LOOKBACK_CHARS`` characters for the word before it.

>>> text = 'Mr. Rutte spoke. He said "more." Then left'
>>> [text[s:e] for s, e in split_sentences(text)]
['Mr. Rutte spoke.', 'He said "more."', 'Then left']
"""

from __future__ import annotations

import re

ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof sr jr st mt gen col lt sgt capt cmdr adm gov sen rep pres
    rev hon no vs etc inc ltd co corp dept est fig al approx jan feb mar apr jun
    jul aug sep sept oct nov dec e.g i.e u.s u.k u.n e.u a.m p.m""".split()
)

# A candidate end: terminal punctuation, optional closing quotes/brackets, then space. The
# lookbehind starts a match only at the first mark of a run, so a long run of dots is read once.
_END = re.compile(r"(?<![.!?])[.!?]+[\"'”’)\]]*(?=\s)")
# The word before a dot is looked at only this far back: a longer "word" is no abbreviation.
_WORD_LOOKBACK_CHARS = 16
_PARAGRAPH = re.compile(r"\n\s*\n|\n")


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _word_before(text: str, dot: int) -> str:
    """The run of word characters and dots that ends at ``dot`` (``[\\w.]+$`` of ``text[:dot]``).

    Reads at most ``_WORD_LOOKBACK_CHARS`` back, so each call costs the same however long
    the line; a longer run is returned cut to that length (it is no abbreviation either way).

    >>> _word_before("He met Mr. Smith", 9)
    'Mr'
    """
    start = dot
    floor = max(0, dot - _WORD_LOOKBACK_CHARS)
    while start > floor and (text[start - 1].isalnum() or text[start - 1] in "_."):
        start -= 1
    return text[start:dot]


def _is_boundary(text: str, dot: int, after: int) -> bool:
    """Whether the punctuation at ``dot`` ends a sentence, given the next char at ``after``."""
    if after >= len(text):
        return True
    nxt = text[after]
    if not (nxt.isupper() or nxt.isdigit() or nxt in "\"'“‘([—-"):
        return False
    if text[dot] != ".":
        return True
    token = _word_before(text, dot).lower()
    if token.rstrip(".") in ABBREVIATIONS:
        return False
    # Initials such as "J." or "U.S" (but not a lone capital that ends a sentence at "I.").
    if len(token) == 1 and token.isalpha() and token != "i":
        return False
    return True


def _split_line(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    cursor = start
    for match in _END.finditer(text, start, end):
        stop = match.end()
        after = stop
        while after < end and text[after].isspace():
            after += 1
        if _is_boundary(text, match.start(), after if after < end else len(text)):
            s, e = _trim(text, cursor, stop)
            if e > s:
                spans.append((s, e))
            cursor = stop
    s, e = _trim(text, cursor, end)
    if e > s:
        spans.append((s, e))
    return spans


def split_paragraphs(text: str) -> list[tuple[int, int]]:
    """Spans of non-empty lines/paragraphs, whitespace trimmed."""
    spans: list[tuple[int, int]] = []
    cursor = 0
    for match in _PARAGRAPH.finditer(text):
        s, e = _trim(text, cursor, match.start())
        if e > s:
            spans.append((s, e))
        cursor = match.end()
    s, e = _trim(text, cursor, len(text))
    if e > s:
        spans.append((s, e))
    return spans


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence spans of ``text[start:end]`` as absolute offsets into ``text``."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    for p_start, p_end in split_paragraphs(text[start:end]):
        spans.extend(_split_line(text, start + p_start, start + p_end))
    return spans
