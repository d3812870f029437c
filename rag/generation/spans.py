"""Candidate short answers inside a sentence: typed spans and runs of content words.

Three sources, all offsets into the sentence (so a short answer is an exact quote):

- typed spans from regular expressions: amounts kept whole with their
  magnitude and unit ("8.5 million Swiss francs", "about 14,000"), dates
  (days, months, years from 1000 on, three-digit years after "in"/"by",
  centuries, decades, clock times) and capitalised names;
- runs of content words: maximal spans with no stopword and no punctuation
  ("portable media players", "14,000 households");
- runs joined by "of", "and", "the" or list commas ("Westminster and Lambeth
  Bridges", "Oujda, Tangier and Erfoud").

Each candidate carries the answer families it can belong to (number, date,
person, place, name, phrase; see rag/generation/question.py). Candidates made
only of words the question already contains are dropped, and so is a date
right after a reporting verb ("said on Wednesday" dates the report, not the
event) unless the question asks what was said. Named-entity and parsing
models are left out.

>>> [c.text for c in candidates("It cost 8.5 million Swiss francs in 911.", "What did it cost?")]
['cost 8.5 million Swiss francs', '8.5 million Swiss francs', 'Swiss', '911']
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.tokens import STOPWORDS, content_terms

_MONTH = (
    r"(?:Jan(?:uary|\.)?|Feb(?:ruary|\.)?|Mar(?:ch|\.)?|Apr(?:il|\.)?|May|June?|July?|Aug(?:ust|\.)?|"
    r"Sep(?:t(?:ember)?|\.)?|Oct(?:ober|\.)?|Nov(?:ember|\.)?|Dec(?:ember|\.)?)"
)
_WEEKDAY = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_NUMBER_WORD = (
    r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    r"sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|"
    r"hundred|a dozen|dozens|hundreds|thousands|half a|a half|a million|a billion|a thousand|a hundred|several)"
)
_ORDINAL_WORD = (
    r"(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|thirteenth|"
    r"fourteenth|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|twentieth|twenty-first)"
)
_MAGNITUDE = r"(?:[\s-](?:million|billion|trillion|thousand|hundred|bn|m)\b)*"
_CURRENCY_WORD = (
    r"(?:(?:Swiss |US |U\.S\. |Hong Kong |Canadian |Australian |New Zealand |Singapore )?(?:francs?|dollars?)|"
    r"euros?|pounds?(?: sterling)?|pence|cents?|yen|kronor|krona|kroner|rupees?|yuan|renminbi|RMB|CHF|USD|EUR|GBP|"
    r"roubles?|rubles?|lira|zloty|won|pesos?|reais|rand|dinars?|dirhams?|riyals?)"
)
_UNIT = (
    rf"(?:%|\s?(?:percent|per cent|percentage points?|{_CURRENCY_WORD}|km/h|mph|kilometres?|kilometers?|km|"
    r"metres?|meters?|m|centimetres?|centimeters?|cm|millimetres?|mm|miles?|feet|foot|ft|inches|"
    r"square (?:miles|kilometres|kilometers|metres|meters|feet)|sq mi|km2|km²|kilograms?|kg|grams?|g|"
    r"tonnes?|tons?|litres?|liters?|gallons?|hectares?|acres?|degrees(?: Celsius| Fahrenheit)?|°C|°F|"
    r"hours?|minutes?|seconds?|days?|weeks?|months?|years?|decades?|centuries|points?|votes?|goals?|"
    r"seats?|megawatts?|gigawatts?|kilowatts?|MW|GW|kW|kWh|MWh|GWh|GB|MB|TB|kB|volts?|V|Hz|MHz|GHz|"
    r"magnitude|times)\b)"
)
_CURRENCY_SIGN = r"(?:(?:US|HK|A|C|NZ|S)?[$€£¥]\s?)"
_APPROX = (
    r"(?:(?:about|around|approximately|nearly|almost|over|under|more than|less than|fewer than|at least|"
    r"up to|some|roughly|an estimated|as many as|as much as)\s)"
)
_AMOUNT = rf"{_CURRENCY_SIGN}?\d[\d,]*(?:\.\d+)?{_MAGNITUDE}{_UNIT}?"
_WORD_AMOUNT = rf"\b{_NUMBER_WORD}(?:[- ]{_NUMBER_WORD})*\b(?!-){_MAGNITUDE}{_UNIT}?"
_NAME_WORD = r"[A-Z][\w’'&-]*"
_NAME = rf"{_NAME_WORD}(?:\s+(?:(?:of|de|van|von|der|la|al|bin|du|and the|of the)\s+)?(?:[A-Z]\.\s*)*{_NAME_WORD})*"

PATTERNS: dict[str, list[re.Pattern[str]]] = {
    "number": [
        # "2 hours and 10 minutes", "17 to 12", "38 million euros", "3.5%", "3,000 to 5,000"
        re.compile(
            rf"{_APPROX}?{_AMOUNT}(?:(?:,? and |\s)\d[\d,]*(?:\.\d+)?{_UNIT})?(?:\s(?:to|and|or)\s{_AMOUNT})?"
        ),
        re.compile(rf"\b{_APPROX}?{_WORD_AMOUNT}", re.I),
        re.compile(r"\b\d[\d,.]* out of \d[\d,.]*\b"),
    ],
    "date": [
        re.compile(rf"\b{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:\s+and\s+\d{{1,2}})?(?:,?\s+\d{{3,4}})?"),
        re.compile(
            rf"\b\d{{1,2}}(?:st|nd|rd|th)?(?:\s+and\s+\d{{1,2}})?\s+{_MONTH}(?:,?\s+\d{{3,4}})?"
        ),
        re.compile(rf"\b(?:early |mid-|late )?{_MONTH}\s+\d{{3,4}}\b"),
        re.compile(rf"\b(?:last |next |this )?{_WEEKDAY}(?:\s+(?:morning|afternoon|evening|night))?\b"),
        re.compile(r"\b(?:early |mid-|late |the )?(?:1\d|20)\d{2}s?\b(?!\s?%|[.,]\d)"),
        re.compile(
            r"\b(?:the )?year \d{1,4}(?: (?:AD|BC|BCE|CE))?\b|\b(?:AD|CE) \d{1,4}\b|\b\d{1,4} (?:AD|BC|BCE|CE)\b"
        ),
        re.compile(
            rf"\b(?:the )?(?:early |mid-|late |mid )?(?:\d{{1,2}}(?:st|nd|rd|th)|{_ORDINAL_WORD})[- ]"
            r"centur(?:y|ies)(?: (?:AD|BC|BCE|CE))?\b",
            re.I,
        ),
        re.compile(
            r"\b(?i:in|by|since|from|until|till|around|circa|year|before|after) (?P<span>\d{3})\b(?!\s?(?:%|[A-Za-z]))"
        ),
        re.compile(
            r"\b(?:about |some |nearly |almost |more than )?[\d,]+(?:\.\d+)? "
            r"(?:years|decades|centuries|millennia|months|weeks|days|minutes|hours) "
            r"(?:ago|earlier|before|after|later)\b"
        ),
        re.compile(
            rf"\b(?:in |this |last |next )?(?:(?:early |late )?(?:spring|summer|autumn|fall|winter)|{_MONTH})\b"
        ),
        re.compile(
            r"\b\d{1,2}(?::\d{2}){0,2}\s?(?:a\.m\.|p\.m\.|am|pm|AM|PM)(?:\s+[A-Z][\w ]*Time)?(?=\W|$)"
            r"|\b\d{1,2}:\d{2}(?::\d{2})?\b|\b(?:noon|midnight)\b"
        ),
    ],
    "name": [re.compile(rf"\b{_NAME}")],
}
# Capitalised only because they open a sentence or clause: "For Eastfield", "The Council".
_LEADING_FUNCTION_WORD = re.compile(
    r"^(?:(?:For|In|The|A|An|But|And|At|On|By|With|After|Before|When|While|As|Since|If|Although|Despite|"
    r"During|From|To|Of|Under|Over|Its|His|Her|Their|This|That|These|Those|Then|Now|Yet|So|He|She|It|They|"
    r"We|I|There|Some|Many|Most|All|Both|Each|However|Meanwhile|Also)\s+)+"
)
_CALENDAR_WORD = re.compile(rf"^(?:{_WEEKDAY}|{_MONTH})$")
_TITLE = re.compile(
    r"^(?:Mr|Mrs|Ms|Dr|Prof|Sir|Lady|Lord|Mayor|President|Premier|Minister|King|Queen|Senator|Judge)\.?\s"
)
# "said on Wednesday": in news, a date right after a reporting verb dates the report, not the event.
_REPORTED = re.compile(
    r"\b(?:said|says|announced|reported|told|confirmed|stated|added)\s+(?:on\s+|late\s+|early\s+)?$", re.I
)
_REPORTING_QUESTION = re.compile(r"\b(?:say|said|announce|report|tell|told|confirm|state)", re.I)
# The boundaries an answer span may start or end at. Not rag.tokens' word pattern, on purpose:
# that one makes matching terms (BM25, overlap) and so splits "42-megawatt" into "42" and
# "megawatt" (a question about megawatts should match) and drops "$"; an answer span must
# neither start nor end inside "42-megawatt", "AT&T" or "$5.25". Changing rag.tokens' pattern
# instead would change every keyword index (its TOKENIZER_VERSION). Terms inside a span are
# still rag.tokens' (``content_terms``), so matching is the same everywhere.
_TOKEN = re.compile(r"(?:[$€£¥]\s?)?\d(?:[\d,.]*\d)?%?|[^\W_][\w’'&-]*")
_JOINERS = frozenset({"of", "and", "the", "of the", "and the", "de", "on", "for"})
MAX_CANDIDATE_WORDS = 10


@dataclass(frozen=True)
class Span:
    """A candidate answer ``sentence[start:end]`` and the answer families it may belong to."""

    start: int
    end: int
    text: str
    families: frozenset[str]


def _strip(sentence: str, start: int, end: int) -> tuple[int, int]:
    """Trim spaces and trailing punctuation (but keep "a.m.")."""
    text = sentence[start:end]
    trimmed = re.sub(r"['’]s?$", "", text.strip(" ,;:\"'“”‘’()"))
    if not re.search(r"\b[ap]\.m\.$|\b[A-Z]\.$", trimmed):
        trimmed = trimmed.rstrip(".")
    if not trimmed:
        return start, start
    start = start + text.index(trimmed)
    return start, start + len(trimmed)


def _typed(sentence: str) -> dict[tuple[int, int], set[str]]:
    found: dict[tuple[int, int], set[str]] = {}
    for family, patterns in PATTERNS.items():
        for pattern in patterns:
            for m in pattern.finditer(sentence):
                start, end = m.span("span") if "span" in m.groupdict() else m.span()
                if family == "name":
                    lead = _LEADING_FUNCTION_WORD.match(sentence[start:end])
                    start += lead.end() if lead else 0
                    if _CALENDAR_WORD.match(sentence[start:end]):
                        continue
                start, end = _strip(sentence, start, end)
                if end > start:
                    found.setdefault((start, end), set()).add(family)
                    approx = re.match(_APPROX, sentence[start:end]) if family == "number" else None
                    if approx and start + approx.end() < end:  # "about 4.8 million" and "4.8 million"
                        found.setdefault((start + approx.end(), end), set()).add(family)
                    title = _TITLE.match(sentence[start:end]) if family == "name" else None
                    if title:  # "Mayor Elena Marić" and "Elena Marić"
                        found.setdefault((start + title.end(), end), set()).add(family)
    return found


def token_spans(sentence: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each word or number ("$5.25", "80%", "Azkaban's") in ``sentence``."""
    return [m.span() for m in _TOKEN.finditer(sentence)]


def _is_stop(word: str) -> bool:
    return re.sub(r"['’]s$", "", word.lower()) in STOPWORDS


def _runs(sentence: str, tokens: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Maximal runs of content tokens separated by nothing but spaces, as token index ranges."""
    runs: list[tuple[int, int]] = []
    i = 0
    while i < len(tokens):
        if _is_stop(sentence[tokens[i][0] : tokens[i][1]]):
            i += 1
            continue
        j = i + 1
        while j < len(tokens) and not _is_stop(sentence[tokens[j][0] : tokens[j][1]]) \
                and not sentence[tokens[j - 1][1] : tokens[j][0]].strip():
            j += 1
        runs.append((i, j))
        i = j
    return runs


def _kind(word: str) -> str:
    return "cap" if word[:1].isupper() else "num" if word[:1].isdigit() or word[:1] in "$€£¥" else "low"


def _segments(sentence: str, tokens: list[tuple[int, int]], runs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Runs cut where capitalisation changes ("Filming closed | Westminster"): the name boundaries
    inside a run of content words."""
    out: list[tuple[int, int]] = []

    def kind(k: int) -> str:
        # A sentence's first word is capitalised whatever it is: it takes the kind of the next one.
        at = 1 if k == 0 and len(tokens) > 1 else k
        return _kind(sentence[tokens[at][0] : tokens[at][1]])

    for i, j in runs:
        start = i
        for k in range(i + 1, j):
            if (kind(k - 1) == "cap") != (kind(k) == "cap"):
                out.append((start, k))
                start = k
        out.append((start, j))
    return out


def _is_name_run(sentence: str, tokens: list[tuple[int, int]], run: tuple[int, int]) -> bool:
    return all(sentence[tokens[k][0]].isupper() for k in range(*run)) or all(
        sentence[tokens[k][0]].isdigit() for k in range(*run))


def _joined(sentence: str, tokens: list[tuple[int, int]], runs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Runs chained by joiners ("of", "and", "the"), or names in a list with commas, up to five runs."""
    out: list[tuple[int, int]] = []
    for a in range(len(runs)):
        end = runs[a][1]
        for b in range(a + 1, min(a + 5, len(runs))):
            gap = sentence[tokens[end - 1][1] : tokens[runs[b][0]][0]].strip()
            words = " ".join(gap.split()).lower()
            listed = re.fullmatch(r",(?:\s*(?:and|or))?(?:\s*the)?", words) and _is_name_run(
                sentence, tokens, runs[a]) and _is_name_run(sentence, tokens, runs[b]) and (
                sentence[tokens[runs[a][0]][0]].isdigit() == sentence[tokens[runs[b][0]][0]].isdigit())
            if words not in _JOINERS and not listed:
                break
            end = runs[b][1]
            out.append((runs[a][0], end))
    return out


def _families(text: str, typed: set[str], at_start: bool = False) -> frozenset[str]:
    families = set(typed) - {"name"}
    named = "name" in typed or (re.fullmatch(rf"(?:{_NAME_WORD}|of|and|the|de|,|\s|\d)+", text) and text[:1].isupper())
    if named and not (at_start and " " not in text):  # a lone capitalised first word is usually not a name
        families.add("name")
    if not families:
        families.add("phrase")
    return frozenset(families)


def _only_question_words(text: str, question_terms: set[str]) -> bool:
    terms = content_terms(text)
    return not terms or set(terms) <= question_terms


def _trim_question_words(
    sentence: str, tokens: list[tuple[int, int]], start: int, end: int, question_terms: set[str]
) -> tuple[int, int]:
    """``(start, end)`` without question words at either edge ("received perfect scores" -> "perfect")."""
    inside = [t for t in tokens if start <= t[0] and t[1] <= end]

    def asked(t: tuple[int, int]) -> bool:
        terms = content_terms(sentence[t[0] : t[1]])
        return bool(terms) and set(terms) <= question_terms

    def edge(t: tuple[int, int]) -> bool:
        return asked(t) or _is_stop(sentence[t[0] : t[1]])

    while inside and edge(inside[0]):
        inside.pop(0)
    while inside and edge(inside[-1]):
        inside.pop()
    if not inside:
        return start, end
    return _strip(sentence, inside[0][0], inside[-1][1])


def candidates(sentence: str, question: str = "") -> list[Span]:
    """Every candidate answer span in ``sentence``, left to right, without repeats."""
    typed = _typed(sentence)
    tokens = token_spans(sentence)
    runs = _runs(sentence, tokens)
    pieces = _segments(sentence, tokens, runs)

    def named(i: int, j: int) -> bool:
        return sentence[tokens[i][0]].isupper() and sentence[tokens[j - 1][0]].isupper() and (i > 0 or j - i > 1)

    names = [p for p in pieces if named(*p)] + [p for p in _joined(sentence, tokens, pieces) if named(*p)]
    # "12.5 million animals": a number inside a run starts a candidate of its own
    counted = [(k, j) for i, j in runs for k in range(i + 1, j) if sentence[tokens[k][0]].isdigit()]
    spans: dict[tuple[int, int], set[str]] = {key: set(fams) for key, fams in typed.items()}
    for i, j in runs + _joined(sentence, tokens, runs) + names + counted:
        if j - i <= MAX_CANDIDATE_WORDS:
            key = _strip(sentence, tokens[i][0], tokens[j - 1][1])
            spans.setdefault(key, set())
    for start, end in [k for k, fams in typed.items() if "number" in fams]:
        for key in [k for k in spans if k[0] == start and k[1] < end]:
            if re.fullmatch(rf"{_CURRENCY_SIGN}?[\d,.]+{_MAGNITUDE}", sentence[key[0] : key[1]]):
                del spans[key]  # "8.5 million" of "8.5 million Swiss francs": an amount stays whole
    question_terms = set(content_terms(question))
    for start, end in list(spans):
        trimmed = _trim_question_words(sentence, tokens, start, end, question_terms)
        if trimmed != (start, end):
            spans.setdefault(trimmed, set())
    out = []
    for (start, end), fams in sorted(spans.items()):
        text = sentence[start:end]
        if end <= start or len(text.split()) > MAX_CANDIDATE_WORDS or _only_question_words(text, question_terms):
            continue
        if "date" in fams and _REPORTED.search(sentence[:start]) and not _REPORTING_QUESTION.search(question):
            continue
        out.append(Span(start, end, text, _families(text, fams, at_start=not sentence[:start].strip())))
    return out
