"""Read the best sentences closely: score every candidate short answer in them.

1. Every sentence of the retrieved passages gets a relevance score: MiniLM
   cosine with the question, the idf-weighted share of the question's words
   it holds, and its passage's retrieval cosine (``SENTENCE_FEATURES``).
2. The ``POOL`` best sentences, and the sentence after one of them when it
   continues it ("He is also..."), are read closely: each candidate span
   (rag/generation/spans.py) gets ``SPAN_FEATURES``:

   - ``sent_cos``, ``sent_lex``: the relevance of its sentence;
   - ``type_match``, ``type_clash``: whether the span is of the family the
     question asks for (rag/generation/question.py), or clearly not;
   - ``proximity``: closeness to the nearest question word in the sentence;
   - ``window``: idf-weighted share of the question's words within a few
     words of the span;
   - ``head_sim``: MiniLM similarity of the span and the word after it with
     the question's head noun ("households", "position", "person");
   - ``head_last``: the span ends with the head noun ("Wenchuan County");
   - ``length``: log of its word count;
   - optionally ``cloze``: MiniLM similarity between the question and the
     sentence with the span replaced by the question's wh-phrase ("supplies
     how many households"), minus the similarity with the sentence unchanged.
     It is measured by eval/fit_reader.py but not in the default model: it
     did not change the cross-validated scores and costs a MiniLM pass per
     candidate.

``Reading`` holds the raw features; rag/generation/answer_choice.py turns them
into a choice and confidences with fitted weights. No models are trained here.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from rag.candidates import Candidate, sentence_candidates
from rag.embedding import Embedder
from rag.generation.question import QuestionType, classify, head_or_default
from rag.generation.spans import Span, token_spans
from rag.generation.spans import candidates as span_candidates
from rag.sentences import split_sentences
from rag.tokens import content_terms, idf_weights, stem, weighted_overlap
from rag.types import Passage, SourceSpan

POOL = 5
WINDOW_TOKENS = 8
SENTENCE_FEATURES = ("cos", "lex", "passage")
SPAN_FEATURES = (
    "sent_cos", "sent_lex", "type_match", "type_clash", "proximity", "window", "head_sim", "head_last", "length",
)
# Measured and left out of the default model (eval/fit_reader.py --cloze): it did not change
# cross-validated EM or F1 and costs one MiniLM pass per candidate (about 60% of answer time).
CLOZE_FEATURE = "cloze"
# A sentence opening like this carries on the one before: its answer may need that one as context.
_CONTINUES = re.compile(
    r"^(?:He|She|It|They|His|Her|Its|Their|This|These|That|Those|The (?:company|firm|group|project|plan|"
    r"film|game|city|town|council|farm|government|team|club))\b"
)


@dataclass(frozen=True)
class Reading:
    """Sentences and candidate spans of one question, with their raw features."""

    question: str
    qtype: QuestionType
    sentences: tuple[Candidate, ...]  # every prose sentence of the passages
    sentence_features: np.ndarray  # (len(sentences), len(SENTENCE_FEATURES))
    pool: tuple[int, ...]  # sentences read closely, best first (indexes into sentences)
    followers: dict[int, Candidate]  # sentence index -> the following sentence it continues into
    spans: tuple[tuple[int, Candidate, Span], ...]  # (pool sentence index, sentence holding the span, span)
    span_features: np.ndarray  # (len(spans), len(span_names))
    best_cosine: float  # the best passage's retrieval cosine
    span_names: tuple[str, ...] = SPAN_FEATURES  # the columns of span_features

    def span_columns(self, names: Sequence[str]) -> np.ndarray:
        """``span_features`` restricted to ``names``, in that order."""
        return self.span_features[:, [self.span_names.index(n) for n in names]]


def _following(passages: Sequence[Passage], sentence: Candidate) -> Candidate | None:
    """The sentence after ``sentence`` when it opens like a continuation and a retrieved chunk holds it."""
    for passage in passages:
        doc, chunk = passage.document, passage.chunk
        if doc.id != sentence.span.doc_id or not chunk.start <= sentence.span.end < chunk.end:
            continue
        spans = split_sentences(doc.text, sentence.span.end, chunk.end)
        if spans and _CONTINUES.match(doc.text[spans[0][0] : spans[0][1]]):
            start, stop = spans[0]
            return Candidate(sentence.doc_index, start, SourceSpan(doc.id, chunk.id, start, stop), doc.text[start:stop])
    return None


_CURRENCY = re.compile(
    r"[$€£¥]|\b(?:euros?|dollars?|pounds?|pence|cents?|yen|francs?|kronor|krona|kroner|rupees?|yuan|renminbi|RMB|"
    r"CHF|USD|EUR|GBP|roubles?|rubles?|pesos?|dinars?|dirhams?|riyals?)\b"
)
_TIME_UNIT = re.compile(r"\b(?:seconds?|minutes?|hours?|days?|weeks?|months?|years?|decades?|centuries)\b")
_UNITS_BY_KIND: dict[str, re.Pattern[str]] = {
    "money": _CURRENCY,
    "percent": re.compile(r"%|\bper ?cent\b|\bpercentage points?\b"),
    "duration": _TIME_UNIT,
    "age": re.compile(r"\byears?\b|-year-old\b|\bmonths?\b"),
    "measure": re.compile(
        r"\b(?:km|kilometres?|kilometers?|metres?|meters?|m|cm|mm|miles?|feet|ft|inches|square|hectares?|acres?|"
        r"kg|kilograms?|grams?|tonnes?|tons?|litres?|liters?|gallons?|degrees|mph|km/h|MW|GW|kW|megawatts?|GB|TB|MB)\b"
    ),
}
_YEAR = re.compile(r"\b\d{3,4}s?\b|\bcentur(?:y|ies)\b|\b(?:AD|BC|BCE|CE)\b")


def _type_flags(qtype: QuestionType, span: Span) -> tuple[float, float]:
    """(match, clash): the span is of the kind asked for (a sum of money for "how much did it cost",
    a year for "what year"), or clearly of another (a length for a cost, a date for "who")."""
    family, fams, text = qtype.family, span.families, span.text
    if family == "number":
        if "number" not in fams:
            return 0.0, 1.0
        wanted = _UNITS_BY_KIND.get(qtype.kind)
        other = any(p.search(text) for k, p in _UNITS_BY_KIND.items() if k != qtype.kind and k != "age")
        if wanted is not None:
            return float(bool(wanted.search(text))), float(not wanted.search(text) and other)
        return 1.0, float(bool(_CURRENCY.search(text)) and qtype.kind == "count")
    if family == "date":
        if "date" not in fams:
            return 0.0, 1.0
        return (float(bool(_YEAR.search(text))), 0.0) if qtype.kind == "year" else (1.0, 0.0)
    if family == "person":  # a person is named with two words or more ("Tom Reyes", not "Roman")
        named = "name" in fams and len(text.split()) >= 2 and not re.search(r"\d", text)
        return float(named), float(bool(fams & {"number", "date"}) and "name" not in fams)
    if family in ("place", "name"):
        return float("name" in fams), float(bool(fams & {"number", "date"}) and "name" not in fams)
    return 0.0, 0.0


def _span_geometry(
    sentence: str, span: Span, tokens: list[tuple[int, int]], q_terms: set[str], idf: dict[str, float]
) -> tuple[float, float]:
    """(proximity, window) of ``span`` to the question words in ``sentence``."""
    inside = [i for i, t in enumerate(tokens) if span.start <= t[0] and t[1] <= span.end]
    if not inside:
        return 0.0, 0.0
    first, last = inside[0], inside[-1]
    terms = [content_terms(sentence[a:b]) for a, b in tokens]
    anchors = [i for i, t in enumerate(terms) if t and t[0] in q_terms and not first <= i <= last]
    distance = min((first - i if i < first else i - last for i in anchors), default=None)
    proximity = math.exp(-(distance - 1) / 4.0) if distance is not None else 0.0
    near = {
        t[0] for i, t in enumerate(terms)
        if t and (first - WINDOW_TOKENS <= i < first or last < i <= last + WINDOW_TOKENS)
    }
    total = sum(idf.get(t, 1.0) for t in q_terms)
    window = sum(idf.get(t, 1.0) for t in q_terms if t in near) / total if total else 0.0
    return proximity, window


def _head_last(span: Span, head: str | None) -> float:
    """The span ends with the head noun ("Wenchuan County" for "what county")."""
    return float(bool(head) and content_terms(span.text)[-1:] == [stem(str(head).lower())])


def _context(sentence: str, span: Span) -> str:
    nxt = re.match(r"\s*([\w’'-]+)", sentence[span.end :])
    return span.text + (" " + nxt.group(1) if nxt else "")


def _cloze(sentence: str, span: Span, wh_phrase: str) -> str:
    return f"{sentence[: span.start]}{wh_phrase.lower()}{sentence[span.end :]}"


def _rank_sentences(
    question: str, sentences: Sequence[Candidate], passages: Sequence[Passage], embedder: Embedder
) -> np.ndarray:
    """``SENTENCE_FEATURES`` of each sentence."""
    vectors = embedder.encode([question] + [c.text for c in sentences])
    cos = vectors[1:] @ vectors[0]
    terms = [content_terms(c.text) for c in sentences]
    idf = idf_weights(terms)
    query = content_terms(question)
    lex = np.array([weighted_overlap(query, t, idf) for t in terms])
    chunk_score = {p.chunk.id: p.score for p in passages}
    passage = np.array([chunk_score.get(c.span.chunk_id, 0.0) for c in sentences])
    return np.column_stack([cos, lex, passage])


def read(
    question: str, passages: Sequence[Passage], embedder: Embedder, pool: int = POOL, cloze: bool = False
) -> Reading | None:
    """Score the sentences of ``passages`` and every candidate span of the best of them
    (``cloze``: add the cloze feature as a last column)."""
    sentences = sentence_candidates(passages, prose_only=True) or sentence_candidates(passages)
    if not sentences:
        return None
    qtype = classify(question)
    sentence_features = _rank_sentences(question, sentences, passages, embedder)
    base = 0.6 * sentence_features[:, 0] + 0.4 * sentence_features[:, 1]
    chosen = tuple(int(i) for i in np.argsort(-base, kind="stable")[:pool])
    followers = {i: f for i in chosen if (f := _following(passages, sentences[i])) is not None}
    spans: list[tuple[int, Candidate, Span]] = []
    seen: set[tuple[str, int, int]] = set()
    for i in chosen:
        for holder in [h for h in (sentences[i], followers.get(i)) if h is not None]:
            for span in span_candidates(holder.text, question):
                key = (holder.span.doc_id, holder.span.start + span.start, holder.span.start + span.end)
                if key not in seen:
                    seen.add(key)
                    spans.append((i, holder, span))
    features = _span_features(question, qtype, sentences, sentence_features, spans, embedder, cloze)
    best = max((p.score for p in passages), default=0.0)
    names = SPAN_FEATURES + ((CLOZE_FEATURE,) if cloze else ())
    return Reading(question, qtype, tuple(sentences), sentence_features, chosen, followers, tuple(spans), features,
                   float(best), names)


def _span_features(
    question: str, qtype: QuestionType, sentences: Sequence[Candidate], sentence_features: np.ndarray,
    spans: Sequence[tuple[int, Candidate, Span]], embedder: Embedder, cloze: bool = False,
) -> np.ndarray:
    if not spans:
        return np.zeros((0, len(SPAN_FEATURES) + int(cloze)))
    head = head_or_default(qtype)
    q_terms = set(content_terms(question))
    idf = idf_weights([content_terms(c.text) for c in sentences])
    contexts = list(dict.fromkeys(_context(h.text, s) for _, h, s in spans))
    encoded = embedder.encode([head or question] + contexts)
    head_sim = dict(zip(contexts, encoded[1:] @ encoded[0], strict=True)) if head else {}
    tokens = {h.text: token_spans(h.text) for _, h, _ in spans}
    rows = []
    for i, holder, span in spans:
        match, clash = _type_flags(qtype, span)
        proximity, window = _span_geometry(holder.text, span, tokens[holder.text], q_terms, idf)
        rows.append([
            sentence_features[i, 0], sentence_features[i, 1], match, clash, proximity, window,
            float(head_sim.get(_context(holder.text, span), 0.0)), _head_last(span, qtype.head),
            math.log(len(span.text.split())),
        ])
    out = np.array(rows, dtype=np.float64)
    return np.column_stack([out, _cloze_scores(question, qtype, spans, embedder)]) if cloze else out


def _cloze_scores(
    question: str, qtype: QuestionType, spans: Sequence[tuple[int, Candidate, Span]], embedder: Embedder
) -> np.ndarray:
    """Similarity of the question with each span's sentence turned into a cloze ("... supplies how many
    households"), minus its similarity with the sentence as written."""
    holders = list(dict.fromkeys(h.text for _, h, _ in spans))
    encoded = embedder.encode([question] + holders + [_cloze(h.text, s, qtype.wh_phrase) for _, h, s in spans])
    q_vec = encoded[0]
    plain = dict(zip(holders, encoded[1 : 1 + len(holders)] @ q_vec, strict=True))
    return encoded[1 + len(holders) :] @ q_vec - np.array([plain[h.text] for _, h, _ in spans])
