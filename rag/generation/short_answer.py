"""Find the short answer inside an answer sentence: the smallest span of the type asked for.

The question's wording decides the type (a number for "how much", a date for
"when", a name for "who", a place for "where"); regular expressions find
candidate spans of that type in the sentence; the candidate nearest to the
words the sentence shares with the question wins, unless it only repeats the
question. Spans are offsets into the sentence's text, so the short answer is
an exact quote. Types outside these four ("what", "why") get no short answer:
the whole sentence is the answer then. Named-entity models are left out.
"""

from __future__ import annotations

import re

from rag.tokens import content_terms, words

_MONTH = (
    r"(?:Jan(?:uary|\.)?|Feb(?:ruary|\.)?|Mar(?:ch|\.)?|Apr(?:il|\.)?|May|June?|July?|Aug(?:ust|\.)?|"
    r"Sep(?:t(?:ember)?|\.)?|Oct(?:ober|\.)?|Nov(?:ember|\.)?|Dec(?:ember|\.)?)"
)
_WEEKDAY = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_NUMBER_WORDS = (
    r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|"
    r"fifty|hundred|a dozen|dozens|hundreds|thousands|half)"
)
_MAGNITUDE = r"(?:\s(?:million|billion|trillion|thousand|hundred|percent|per cent|percentage points?))*"

_NAME = re.compile(r"\b(?:[A-Z][\w’'-]*\.?(?:\s+(?:of|de|van|von|der|la|al|bin)\s+|\s+)?)*[A-Z][\w’'-]+")

PATTERNS: dict[str, list[re.Pattern[str]]] = {
    "number": [
        re.compile(rf"(?:[$€£¥]\s?)?\d[\d,]*(?:\.\d+)?(?:\s?%)?{_MAGNITUDE}(?:\s?(?:km|kg|mph|m|ft|miles|tons|tonnes|degrees|°C|°F))?"),
        re.compile(rf"\b{_NUMBER_WORDS}(?:[- ]{_NUMBER_WORDS})*{_MAGNITUDE}\b", re.I),
    ],
    "date": [
        re.compile(rf"\b{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?"),
        re.compile(rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH}(?:\s+\d{{4}})?"),
        re.compile(rf"\b(?:early |mid-|late )?{_MONTH}\s+\d{{4}}\b"),
        re.compile(rf"\b(?:last |next |this )?{_WEEKDAY}\b"),
        re.compile(r"\b(?:early |mid-|late |the )?(?:1[5-9]|20)\d{2}s?\b"),
        re.compile(r"\b(?:the )?year \d{1,4}(?: (?:AD|BC|BCE|CE))?\b|\b(?:AD|CE) \d{1,4}\b|\b\d{1,4} (?:AD|BC|BCE|CE)\b"),
        re.compile(rf"\b(?:in |this |last |next )?(?:spring|summer|autumn|fall|winter|{_MONTH})\b"),
    ],
    "name": [_NAME],
    # People: two or more capitalized words (Tom Reyes), or one after a title (President Trump).
    "person": [
        re.compile(r"\b[A-Z][\w’'-]+(?:\s+(?:[A-Z]\.\s*)*[A-Z][\w’'-]+)+"),
        re.compile(r"\b(?:Mr|Mrs|Ms|Dr)\.\s(?P<span>[A-Z][\w’'-]+)"),
    ],
    # Places: a capitalized name after a preposition of place.
    "place": [re.compile(r"\b(?:in|at|near|from|to|of|outside|across)\s(?:the\s)?(?P<span>" + _NAME.pattern + ")")],
}
_NOT_PERSON_BEFORE = re.compile(r"\b(?:in|at|near|from|to|of|outside|across|the)\s+$")

_TYPES: list[tuple[str, re.Pattern[str]]] = [
    ("date", re.compile(r"^\s*(when|since when)\b|\b(what|which) (year|date|day|month|decade|century)\b|\bhow long ago\b", re.I)),
    ("number", re.compile(r"\bhow (much|many|long|far|old|big|large|high|fast|often)\b|\bwhat (percentage|share|proportion|fraction|number|amount|sum|price|cost|rate|total)\b|\bby how\b", re.I)),
    ("person", re.compile(r"^\s*(who|whom|whose)\b", re.I)),
    ("place", re.compile(r"^\s*where\b|\b(which|what) (city|country|town|region|state|village|island|county|province)\b", re.I)),
    ("name", re.compile(r"\b(which|what) (company|firm|person|city|country|town|team|organi[sz]ation|agency|group|minister|official|party|state|region|club|university|school|airline|ministry)\b", re.I)),
]


def question_type(question: str) -> str | None:
    """ "number", "date", "person", "place", "name" or None: the kind of answer ``question`` asks for."""
    for kind, pattern in _TYPES:
        if pattern.search(question):
            return kind
    return None


def _candidates(sentence: str, kind: str) -> list[tuple[int, int]]:
    spans = {
        m.span("span") if "span" in m.groupdict() else m.span()
        for p in PATTERNS[kind]
        for m in p.finditer(sentence)
        if m.group().strip()
    }
    # Keep the longest of overlapping candidates (e.g. "June 9, 2025" over "2025").
    ordered = sorted(spans, key=lambda s: (s[0], -(s[1] - s[0])))
    kept: list[tuple[int, int]] = []
    for span in ordered:
        if kept and span[0] < kept[-1][1]:
            continue
        kept.append(span)
    return kept


# "said on Wednesday": in news, a date right after a reporting verb dates the report, not the event.
_REPORTED = re.compile(r"\b(?:said|says|announced|reported|told|confirmed|stated|added)\s+(?:on\s+|late\s+|early\s+)?$", re.I)
_REPORTING_QUESTION = re.compile(r"\b(?:say|said|announce|report|tell|told|confirm|state)", re.I)


def _anchors(sentence: str, question: str) -> list[int]:
    """Positions in ``sentence`` of words it shares with the question."""
    wanted = set(content_terms(question))
    return [m.start() for m in re.finditer(r"\w+", sentence) if content_terms(m.group()) and content_terms(m.group())[0] in wanted]


def short_answer_span(question: str, sentence: str) -> tuple[int, int] | None:
    """``(start, end)`` in ``sentence`` of the short answer, or None."""
    kind = question_type(question)
    if kind is None:
        return None
    question_words = set(words(question))
    candidates = []
    for start, end in _candidates(sentence, kind):
        text = sentence[start:end].strip(" ,.;:")
        if not text or set(words(text)) <= question_words:
            continue
        if kind == "person" and _NOT_PERSON_BEFORE.search(sentence[:start]):
            continue  # "near the village of Hollin" is a place
        if kind in ("name", "place") and start == 0 and len(words(text)) == 1:
            continue  # a capitalized first word is usually not a name
        if kind == "date" and _REPORTED.search(sentence[:start]) and not _REPORTING_QUESTION.search(question):
            continue
        start = sentence.index(text, start)
        candidates.append((start, start + len(text)))
    if not candidates:
        return None
    anchors = _anchors(sentence, question) or [0]
    return min(candidates, key=lambda s: min(abs(s[0] - a) for a in anchors))
