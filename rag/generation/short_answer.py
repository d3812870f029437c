"""Find the short answer inside an answer sentence: the smallest span of the type asked for.

The question's wording decides the type (a quantity for "how much" or "what
rate", a date or time for "when", a person for "who", a place for "where", a
name for "which company"); regular expressions find candidate spans of that
type in the sentence; a candidate followed by the noun the question counts
("how many workers") wins, then the one nearest to the words the sentence
shares with the question, unless it only repeats the question. Spans are
offsets into the sentence, so the short answer is an exact quote. Questions
of other kinds ("what", "why") get no short answer: the whole sentence is the
answer then. Named-entity models are left out.
"""

from __future__ import annotations

import re

from rag.tokens import STOPWORDS, content_terms, stem, words

_MONTH = (
    r"(?:Jan(?:uary|\.)?|Feb(?:ruary|\.)?|Mar(?:ch|\.)?|Apr(?:il|\.)?|May|June?|July?|Aug(?:ust|\.)?|"
    r"Sep(?:t(?:ember)?|\.)?|Oct(?:ober|\.)?|Nov(?:ember|\.)?|Dec(?:ember|\.)?)"
)
_WEEKDAY = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_NUMBER_WORD = (
    r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    r"sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|"
    r"hundred|a dozen|dozens|hundreds|thousands|half a|a half)"
)
_MAGNITUDE = r"(?:\s(?:million|billion|trillion|thousand|hundred|bn|m)\b)*"
_UNIT = (
    r"(?:%|\s?(?:percent|per cent|percentage points?|euros?|dollars?|pounds?|pence|cents?|yen|francs?|"
    r"kronor|krona|rupees?|yuan|km/h|mph|kilometres?|kilometers?|km|metres?|meters?|m|centimetres?|"
    r"centimeters?|cm|millimetres?|mm|miles?|feet|foot|ft|inches|kilograms?|kg|grams?|g|tonnes?|tons?|"
    r"litres?|liters?|gallons?|hectares?|acres?|degrees(?: Celsius| Fahrenheit)?|°C|°F|hours?|minutes?|"
    r"seconds?|days?|weeks?|months?|years?|decades?|centuries|points?|votes?|goals?|seats?)\b)"
)
_AMOUNT = rf"(?:[$€£¥]\s?)?\d[\d,]*(?:\.\d+)?{_MAGNITUDE}{_UNIT}?"
_WORD_AMOUNT = rf"\b{_NUMBER_WORD}(?:[- ]{_NUMBER_WORD})*\b(?!-){_MAGNITUDE}{_UNIT}?"
_NAME_WORD = r"[A-Z][\w’'-]+"
_NAME = rf"{_NAME_WORD}(?:\s+(?:(?:of|de|van|von|der|la|al|bin|du)\s+)?(?:[A-Z]\.\s*)*{_NAME_WORD})*"

PATTERNS: dict[str, list[re.Pattern[str]]] = {
    "number": [
        # "2 hours and 10 minutes", "17 to 12", "38 million euros", "3.5%"
        re.compile(rf"{_AMOUNT}(?:(?:,? and |\s)\d[\d,]*(?:\.\d+)?{_UNIT})?(?:\sto\s\d[\d,]*(?:\.\d+)?)?"),
        re.compile(_WORD_AMOUNT, re.I),
    ],
    "date": [
        re.compile(rf"\b{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:\s+and\s+\d{{1,2}})?(?:,?\s+\d{{4}})?"),
        re.compile(rf"\b\d{{1,2}}(?:st|nd|rd|th)?(?:\s+and\s+\d{{1,2}})?\s+{_MONTH}(?:\s+\d{{4}})?"),
        re.compile(rf"\b(?:early |mid-|late )?{_MONTH}\s+\d{{4}}\b"),
        re.compile(rf"\b(?:last |next |this )?{_WEEKDAY}(?:\s+(?:morning|afternoon|evening|night))?\b"),
        re.compile(r"\b(?:early |mid-|late |the )?(?:1[5-9]|20)\d{2}s?\b"),
        re.compile(r"\b(?:the )?year \d{1,4}(?: (?:AD|BC|BCE|CE))?\b|\b(?:AD|CE) \d{1,4}\b|\b\d{1,4} (?:AD|BC|BCE|CE)\b"),
        re.compile(r"\b(?:about |some |nearly |almost |more than )?[\d,]+(?:\.\d+)? (?:years|decades|centuries|millennia|months|weeks|days) (?:ago|earlier|before)\b"),
        re.compile(rf"\b(?:in |this |last |next )?(?:spring|summer|autumn|fall|winter|{_MONTH})\b"),
        re.compile(r"\b\d{1,2}(?::\d{2})?\s?(?:a\.m\.|p\.m\.|am|pm)(?=\W|$)|\b\d{1,2}:\d{2}\b|\b(?:noon|midnight)\b"),
    ],
    "name": [re.compile(rf"\b{_NAME}")],
    # People: two or more capitalized words (Tom Reyes), lists of them, or a name after a title.
    "person": [
        re.compile(rf"\b{_NAME_WORD}(?:\s+(?:[A-Z]\.\s*)*{_NAME_WORD})+(?:(?:,\s|\sand\s|,\sand\s){_NAME_WORD}(?:\s+{_NAME_WORD})+)*"),
        re.compile(rf"\b(?:Mr|Mrs|Ms|Dr)\.\s(?P<span>{_NAME_WORD})"),
    ],
    # Places: a capitalized name after a preposition of place.
    "place": [re.compile(rf"\b(?:in|at|near|from|to|outside|across|inside)\s(?:the\s)?(?P<span>{_NAME})")],
}
_NOT_PERSON_BEFORE = re.compile(r"\b(?:in|at|near|from|of|outside|across|the)\s+$")
# Capitalized only because they open a sentence or clause: "For Eastfield", "The Council".
_LEADING_FUNCTION_WORD = re.compile(
    r"^(?:For|In|The|A|An|But|And|At|On|By|With|After|Before|When|While|As|Since|If|Although|Despite|"
    r"During|From|To|Of|Under|Over|Its|His|Her|Their|This|That|These|Those|Then|Now|Yet|So)\s+"
)
_NUMERIC_NOUNS = (
    r"rate|level|percentage|share|proportion|fraction|number|amount|sum|price|cost|total|budget|margin|"
    r"fine|penalty|salary|wage|distance|temperature|speed|height|depth|length|weight|score|population|"
    r"value|figure|size|capacity|attendance|turnout|deficit|debt|revenue|profit|loss|fee|duration"
)
_TYPES: list[tuple[str, re.Pattern[str]]] = [
    ("date", re.compile(r"^\s*(when|since when)\b|\b(what|which) (years?|dates?|days?|months?|decades?|century|time|nights?|mornings?|evenings?|weekends?|weeks?|seasons?)\b|\bhow long ago\b|\bat what time\b", re.I)),
    ("number", re.compile(rf"\bhow (much|many|long|far|old|big|large|high|fast|often|close|deep|tall|heavy|hot|cold|wide|late|early)\b|\bby (how|what)\b|\bat what (level|rate|price|speed)\b|\b(what|which)\b(\s+[\w'’-]+){{0,6}}\s+({_NUMERIC_NOUNS})\b", re.I)),
    ("person", re.compile(r"^\s*(who|whom|whose)\b|\b(which|what) (person|minister|official|player|scientist|researcher|author|artist|director|chairman|chair|mayor|leader|president|coach|driver|candidate|winner|founder)\b", re.I)),
    ("place", re.compile(r"^\s*where\b|\b(which|what|in what) (city|country|town|region|state|village|island|county|province|district|street|port|river)\b", re.I)),
    ("name", re.compile(r"\b(which|what) (company|firm|team|organi[sz]ation|agency|group|party|club|university|school|airline|ministry|band|brand|newspaper|ship|museum|hospital)\b", re.I)),
]
# "said on Wednesday": in news, a date right after a reporting verb dates the report, not the event.
_REPORTED = re.compile(r"\b(?:said|says|announced|reported|told|confirmed|stated|added)\s+(?:on\s+|late\s+|early\s+)?$", re.I)
_REPORTING_QUESTION = re.compile(r"\b(?:say|said|announce|report|tell|told|confirm|state)", re.I)
_COUNTED = re.compile(
    r"\bhow (?:many|much)\s+(?:of\s+the\s+)?(?:(?:extra|more|additional|new|other|different|separate|full|total)\s+)*(\w+)", re.I
)
_CALENDAR_WORD = re.compile(rf"^(?:{_WEEKDAY}|{_MONTH})$")
# The unit a question's wording implies: "how far" wants a length, "how old" an age...
_UNIT_WANTED: list[tuple[re.Pattern[str], re.Pattern[str]]] = [
    (re.compile(r"\bhow (far|deep|tall|high|wide)\b|\b(distance|height|depth|length)\b", re.I),
     re.compile(r"\b(?:km|kilometres?|kilometers?|metres?|meters?|m|cm|centimetres?|mm|miles?|feet|ft|inches)\b")),
    (re.compile(r"\bhow (much|many) (money|did .* cost|does .* cost)|\b(cost|price|budget|fine|penalty|fee|salary|wage|revenue|profit)\b", re.I),
     re.compile(r"[$€£¥]|\b(?:euros?|dollars?|pounds?|pence|cents?|yen|francs?|kronor|krona|rupees?|yuan)\b")),
    (re.compile(r"\bhow long\b|\b(duration)\b", re.I),
     re.compile(r"\b(?:hours?|minutes?|seconds?|days?|weeks?|months?|years?|decades?)\b")),
    (re.compile(r"\b(percentage|rate|share|proportion)\b", re.I), re.compile(r"%|\bper ?cent\b")),
    (re.compile(r"\bhow old\b|\bage\b", re.I), re.compile(r"\byears?\b|\b-year-old\b")),
]


def question_type(question: str) -> str | None:
    """ "number", "date", "person", "place", "name" or None: the kind of answer ``question`` asks for.

    >>> [question_type(q) for q in ["When did it open?", "What was the inflation rate?", "Who won?", "Why?"]]
    ['date', 'number', 'person', None]
    """
    for kind, pattern in _TYPES:
        if pattern.search(question):
            return kind
    return None


def counted_noun(question: str) -> str | None:
    """The stemmed noun a "how many/much" question counts ("how many workers" -> "worker")."""
    match = _COUNTED.search(question)
    if not match or match.group(1).lower() in STOPWORDS:
        return None
    return stem(match.group(1).lower())


def _candidates(sentence: str, kind: str) -> list[tuple[int, int]]:
    spans = set()
    for pattern in PATTERNS[kind]:
        for m in pattern.finditer(sentence):
            start, end = m.span("span") if "span" in m.groupdict() else m.span()
            if kind in ("person", "name", "place"):
                lead = _LEADING_FUNCTION_WORD.match(sentence[start:end])
                start += lead.end() if lead else 0
            if end > start:
                spans.add((start, end))
    # Keep the longest of overlapping candidates (e.g. "June 9, 2025" over "2025").
    ordered = sorted(spans, key=lambda s: (s[0], -(s[1] - s[0])))
    kept: list[tuple[int, int]] = []
    for span in ordered:
        if kept and span[0] < kept[-1][1]:
            continue
        kept.append(span)
    return kept


def _anchors(sentence: str, question: str) -> list[int]:
    """Positions in ``sentence`` of words it shares with the question."""
    wanted = set(content_terms(question))
    return [m.start() for m in re.finditer(r"\w+", sentence) if (t := content_terms(m.group())) and t[0] in wanted]


def _keep(question: str, sentence: str, kind: str, start: int, end: int) -> bool:
    text = sentence[start:end]
    if not text.strip() or set(words(text)) <= set(words(question)):
        return False
    if kind == "person" and _NOT_PERSON_BEFORE.search(sentence[:start]):
        return False  # "near the village of Hollin" is a place
    if kind in ("name", "place") and start == 0 and len(words(text)) == 1:
        return False  # a capitalized first word is usually not a name
    if kind in ("name", "place", "person") and _CALENDAR_WORD.match(text):
        return False  # "on Saturday", "in March" are times, not names
    if kind == "date" and _REPORTED.search(sentence[:start]) and not _REPORTING_QUESTION.search(question):
        return False
    return True


def typed_spans(question: str, sentence: str) -> list[tuple[int, int]]:
    """Every candidate span in ``sentence`` of the kind ``question`` asks for."""
    kind = question_type(question)
    if kind is None:
        return []
    out = []
    for start, end in _candidates(sentence, kind):
        text = sentence[start:end].strip(" ,;:")
        text = text if re.search(r"\b[ap]\.m\.$", text) else text.rstrip(".")
        start = sentence.index(text, start) if text else start
        if text and _keep(question, sentence, kind, start, start + len(text)):
            out.append((start, start + len(text)))
    return out


def counts_the_noun(question: str, sentence: str, span: tuple[int, int]) -> bool:
    """Whether ``span`` is followed closely by the noun a "how many" question counts."""
    noun = counted_noun(question)
    if noun is None:
        return False
    following = content_terms(sentence[span[0] : span[1] + 40])[:4]
    return noun in following


def fits_the_question(question: str, sentence: str, span: tuple[int, int]) -> bool:
    """Whether ``span`` is what the question counts ("how many workers") or carries the
    unit its wording implies (a length for "how far", money for "what did it cost")."""
    if counts_the_noun(question, sentence, span):
        return True
    text = sentence[span[0] : span[1]]
    return any(asks.search(question) and unit.search(text) for asks, unit in _UNIT_WANTED)


def short_answer_span(question: str, sentence: str) -> tuple[int, int] | None:
    """``(start, end)`` in ``sentence`` of the short answer, or None."""
    candidates = typed_spans(question, sentence)
    if not candidates:
        return None
    anchors = _anchors(sentence, question) or [0]
    return min(
        candidates,
        key=lambda s: (not fits_the_question(question, sentence, s), min(abs(s[0] - a) for a in anchors)),
    )
