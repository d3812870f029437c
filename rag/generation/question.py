"""Type a question from its wh-word and the head noun that follows it.

"How many households..." asks for a count of households, "how much did it
cost" for money, "what position did he play" for a role, "what year" for a
year, "is it..." for yes or no. The type is a ``QuestionType``: a ``kind``
(below), the head noun (the thing asked about, "households"), the wh-phrase as
written ("how many households", used to turn an answer sentence into a cloze
of the question) and the answer ``family`` a candidate span must belong to.
Rules only: question classifiers trained on labelled data are left out.

>>> classify("How many households will the farm supply?")
QuestionType(kind='count', family='number', head='households', wh_phrase='How many households')
>>> classify("What position did he play?").kind
'role'
>>> classify("Is the bridge open?").kind
'yesno'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Kinds grouped by the family of span that can answer them.
FAMILIES: dict[str, tuple[str, ...]] = {
    "number": ("count", "money", "amount", "measure", "duration", "age", "percent"),
    "date": ("date", "year", "time"),
    "person": ("person",),
    "place": ("place",),
    "name": ("organization", "work"),
    "phrase": ("role", "thing", "reason", "manner", "yesno"),
}
FAMILY_OF = {kind: family for family, kinds in FAMILIES.items() for kind in kinds}

_WH = re.compile(r"\b(how|what|which|who|whom|whose|when|where|why)\b", re.I)
_AUX = (
    "is|are|was|were|be|been|do|does|did|done|has|have|had|can|could|will|would|shall|should|may|might|must|"
    "'s|’s"
)
_YESNO = re.compile(rf"^\s*(?:{_AUX}|isn't|wasn't|aren't|doesn't|didn't|hasn't|haven't|won't|can't)\b", re.I)
# Words that end the noun phrase after "what/which": verbs, prepositions, pronouns.
_PHRASE_END = re.compile(
    rf"^(?:{_AUX}|in|on|at|of|for|to|from|by|with|about|after|before|during|into|onto|over|under|between|"
    r"among|through|against|within|without|across|around|near|per|than|as|besides|like|out|up|that|which|"
    r"who|it|he|she|they|this|these|those|the|a|an|his|her|its|their|there|not|also)$",
    re.I,
)
# Common verbs that follow a subject noun phrase ("which company made ...", "what metal rose").
_VERB = re.compile(
    r"^(?:gave|rose|came|made|won|took|held|led|ran|began|went|got|saw|wrote|sold|bought|built|fell|grew|"
    r"left|lost|paid|put|said|sent|set|told|became|brought|caught|chose|drew|drove|fought|found|hit|kept|"
    r"knew|met|meant|read|rode|sang|shot|spoke|spent|stood|struck|taught|thought|threw|wore|comprise|"
    r"include|contain|play|own|produce|make|have|get|give|take|become|remain|stand|mean|[a-z]{3,}ed|[a-z]{3,}ly)$"
)
_HOW = {
    "many": "count", "much": "amount", "long": "duration", "old": "age", "far": "measure", "big": "measure",
    "large": "measure", "high": "measure", "tall": "measure", "deep": "measure", "wide": "measure",
    "heavy": "measure", "fast": "measure", "often": "count", "close": "measure", "hot": "measure",
    "cold": "measure", "late": "time", "early": "time", "soon": "duration",
}
_MONEY_WORDS = re.compile(
    r"\b(cost|costs|costing|spend|spent|pay|paid|price|budget|fund|funding|funded|invest|invested|money|fee|"
    r"fine|salary|wage|worth|raise|raised|earn|earned|gross|grossed|revenue|profit|loss|donat\w*|compensation|"
    r"make|made|sell|sold|charge|charged)\b",
    re.I,
)
_HEAD_KIND: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^(?:years?|decades?|century|centuries)$"), "year"),
    (re.compile(
        r"^(?:dates?|days?|months?|seasons?|nights?|mornings?|evenings?|weekends?|weeks?|period|era)$"), "date"),
    (re.compile(r"^(?:time|hour)$"), "time"),
    (re.compile(r"^(?:percentage|percent|proportion|share|fraction|rate)$"), "percent"),
    (re.compile(
        r"^(?:number|amount|sum|total|population|distance|height|depth|length|weight|size|capacity|speed|"
        r"temperature|score|attendance|turnout|magnitude|figure|count|tally|toll)$"), "amount"),
    (re.compile(r"^(?:price|cost|budget|fee|fine|salary|wage|revenue|profit|deficit|debt|value)$"), "money"),
    (re.compile(
        r"^(?:person|man|woman|minister|official|player|scientist|researcher|author|artist|director|chairman|"
        r"chair|mayor|leader|president|coach|driver|candidate|winner|founder|actor|actress|writer|singer|"
        r"composer|producer|character|king|queen|emperor|premier|governor|designer|engineer|reviewer|villain)s?$"),
     "person"),
    (re.compile(
        r"^(?:city|cities|country|countries|town|region|state|village|island|county|province|district|street|"
        r"port|river|place|location|continent|area|venue|building|bridge|mountain|range|lake|sea|airport|"
        r"station|capital|nation|territory)s?$"), "place"),
    (re.compile(
        r"^(?:company|companies|firm|team|organi[sz]ation|agency|group|party|club|university|school|airline|"
        r"ministry|band|brand|newspaper|magazine|ship|museum|hospital|studio|publisher|network|channel|"
        r"console|exchange|manufacturer|developer|sites?|websites?|publications?)s?$"), "organization"),
    (re.compile(r"^(?:film|movie|game|book|song|album|novel|show|series|episode|title|play|opera)s?$"), "work"),
    (re.compile(r"^(?:position|role|job|title|rank|post|occupation|profession|office)s?$"), "role"),
]
_WH_KIND = {"who": "person", "whom": "person", "whose": "person", "when": "date", "where": "place",
            "why": "reason"}
# Default head noun per kind, for comparing a candidate's context with what is asked.
DEFAULT_HEAD = {"person": "person", "place": "place", "date": "date", "year": "year", "time": "time",
                "money": "money", "duration": "time", "age": "age", "percent": "percent", "reason": "reason",
                "organization": "organization"}


@dataclass(frozen=True)
class QuestionType:
    """What a question asks for."""

    kind: str
    family: str
    head: str | None
    wh_phrase: str


_PREPOSITION = frozenset(
    "in on at to from by with for into over under near through across about after before during out up down "
    "off around between against within the a an his her its their".split()
)


def _noun_phrase(words: list[str]) -> list[str]:
    """The words after a wh-word up to the first verb, preposition or pronoun."""
    if len(words) >= 2 and words[0].lower() in ("kind", "type", "sort", "form") and words[1].lower() == "of":
        words = words[2:]  # "what kind of device" asks about a device
    out: list[str] = []
    for i, word in enumerate(words):
        following = words[i + 1].lower() if i + 1 < len(words) else ""
        if _PHRASE_END.match(word) or not re.match(r"^[\w'’-]+$", word) or _VERB.match(word):
            break
        if word.endswith("s") and following in _PREPOSITION and out:
            break  # "which product features the ...", "which range lies to ...": a verb
        out.append(re.sub(r"['’]s?$", "", word))
        if re.search(r"['’]s?$", word):
            continue  # a possessive: the head comes after it ("the country's inflation rate")
        if word.endswith("s") and len(word) > 3 and word.islower() and not word.endswith("ss"):
            break  # a plural noun ends the phrase: "how many boroughs comprise ..."
    return out


def _after_copula(words: list[str]) -> list[str]:
    """"What is the name of the area..." -> the head noun phrase "name of the area" -> "area"."""
    rest = [w for w in words[1:] if w.lower() not in ("the", "a", "an")]
    phrase = _noun_phrase(rest)
    if phrase and phrase[-1].lower() in ("name", "kind", "type", "sort", "title") and len(rest) > len(phrase) + 1:
        tail = [w for w in rest[len(phrase) + 1 :] if w.lower() not in ("the", "a", "an")]
        return _noun_phrase(tail) or phrase
    return phrase


def _kind_of_head(head: str | None) -> str | None:
    if head is None:
        return None
    for pattern, kind in _HEAD_KIND:
        if pattern.match(head.lower()):
            return kind
    return None


def _how(question: str, following: list[str]) -> tuple[str, str | None, int]:
    """Kind, head noun and phrase length (after "how") of a "how ..." question."""
    if not following:
        return "manner", None, 0
    word = following[0].lower()
    if word not in _HOW:
        return "manner", None, 0
    kind = _HOW[word]
    phrase = _noun_phrase(following[1:]) if word in ("many", "much") else []
    head = phrase[-1].lower() if phrase else None
    if word == "much":
        kind = "money" if head == "money" or (head is None and _MONEY_WORDS.search(question)) else "amount"
    return kind, head, 1 + len(phrase)


def classify(question: str) -> QuestionType:
    """The ``QuestionType`` of ``question`` (kind "thing" when nothing more specific is known)."""
    text = " ".join(question.split())
    match = _WH.search(text)
    if match is None or (_YESNO.match(text) and match.start() > 0 and not re.search(r"\bor\b", text)):
        kind = "yesno" if _YESNO.match(text) else "thing"
        return QuestionType(kind, FAMILY_OF[kind], None, "what")
    wh = match.group(1).lower()
    following = re.findall(r"[\w'’-]+|\S", text[match.end():])
    if wh == "how":
        kind, head, used = _how(text, following)
    elif wh in ("what", "which"):
        used = 0
        if following and re.match(rf"^(?:{_AUX})$", following[0], re.I):
            copula = re.match(r"^(?:is|are|was|were|'s|’s)$", following[0], re.I)
            phrase = _after_copula(following) if copula else []
        else:
            phrase = _noun_phrase(following)
            used = len(phrase)
        head = phrase[-1].lower() if phrase else None
        kind = _kind_of_head(head) or "thing"
        if kind == "amount" and _MONEY_WORDS.search(text):
            kind = "money"
    else:
        kind, head, used = _WH_KIND[wh], None, 0
        if wh == "whose":
            used = len(_noun_phrase(following))
    wh_phrase = " ".join([match.group(1)] + following[:used])
    return QuestionType(kind, FAMILY_OF[kind], head, wh_phrase)


def head_or_default(qtype: QuestionType) -> str | None:
    """The head noun, else a word naming what the kind asks for ("person" for who)."""
    return qtype.head or DEFAULT_HEAD.get(qtype.kind)
