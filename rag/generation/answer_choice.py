"""Choose the answer sentence(s) and the short answer of a ``Reading``, with confidences.

With the weights fitted on the shared dev set (rag/generation/weights.py):

1. every candidate span gets a score (``SPAN_MODEL``, a conditional logit over
   the question's candidates);
2. every closely read sentence gets a score from its own relevance and its
   best span's score (``SENTENCE_MODEL``): the answer sentence is the best,
   so a sentence that only restates the question (no span left in it) loses;
3. the short answer is the best span of that sentence, or of the sentence it
   carries on into ("He is also...");
4. a second sentence is cited too when the first is not clearly the one
   (``SECOND_SENTENCE_BELOW``);
5. ``SHORT_MODEL`` and ``ANSWER_MODEL`` turn the scores into calibrated
   probabilities that the short answer, and the cited sentences, hold a right
   answer.

No features are computed here (rag/generation/reader.py does that).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from rag.candidates import Candidate
from rag.generation.reader import Reading
from rag.generation.reader_models import ReaderModels
from rag.generation.spans import Span
from rag.generation.weights import READER
from rag.tokens import content_terms, idf_weights


@dataclass(frozen=True)
class Choice:
    """The chosen evidence, short answer and how sure the reader is of each."""

    sentences: tuple[Candidate, ...]  # cited answer sentences, best first
    short: tuple[Candidate, Span] | None  # the sentence holding the short answer, and the span in it
    short_confidence: float  # P(the short answer is right)
    confidence: float  # P(the cited sentences hold a right answer), from the reader alone


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())
    return e / e.sum()


SENTENCE_MODEL_FEATURES = ("cos", "lex", "passage", "best_span", "typed")


def sentence_rows(reading: Reading, span_logits: np.ndarray, models: ReaderModels = READER) -> np.ndarray:
    """Sentence-model features of the closely read sentences: relevance, best span score, and
    whether a span of the kind asked for is there at all (a "who" sentence that names nobody loses)."""
    owner = np.array([i for i, _, _ in reading.spans])
    typed = reading.span_columns(("type_match",))[:, 0] if len(reading.spans) else np.zeros(0)
    rows = []
    for i in reading.pool:
        mine = owner == i if len(owner) else np.zeros(0, dtype=bool)
        best = float(span_logits[mine].max()) if mine.any() else models.no_span_logit
        rows.append([*reading.sentence_features[i], best, float(typed[mine].max()) if mine.any() else 0.0])
    return np.array(rows)


@dataclass(frozen=True)
class Evidence:
    """The chosen sentences and span, and the features the confidence models read."""

    sentences: tuple[Candidate, ...]
    short: tuple[Candidate, Span] | None
    features: np.ndarray  # one row of CONFIDENCE_FEATURES


CONFIDENCE_FEATURES = (
    "sentence_p", "span_p", "span_margin", "cos", "lex", "best_cosine", "names_missing", "terms_missing",
    "names_unmatched", "numbers_unmatched", "type_missing",
)
TYPED_FAMILIES = ("number", "date", "person", "place", "name")
_NUMBER = re.compile(r"\d[\d,.]*\d|\d")
_NAME = re.compile(r"(?<!^)(?<![.?!]\s)\b[A-Z][\w’'-]+")


def coverage(reading: Reading) -> tuple[float, float]:
    """(names, terms) the passages lack: how many capitalised words of the question (after its
    first word) appear nowhere in them, at most 2; and the idf-weighted share of its content
    words they lack. A question about "Radar Princess" over passages about "Twilight Princess"
    is likely not answered by them."""
    text = " ".join(s.text for s in reading.sentences)
    lowered = text.lower()
    names = [w for w in _NAME.findall(reading.question.strip()) if w.lower() not in lowered]
    have = set(content_terms(text))
    terms = set(content_terms(reading.question))
    idf = idf_weights([content_terms(s.text) for s in reading.sentences])
    rare = max(idf.values(), default=1.0)
    total = sum(idf.get(t, rare) for t in terms)
    missing = sum(idf.get(t, rare) for t in terms if t not in have) / total if total else 0.0
    return float(min(len(names), 2)), missing


def unmatched(question: str, evidence: str) -> tuple[float, float]:
    """How many capitalised words and numbers of the question the evidence lacks (each at most 2):
    a question about "26 December" answered from a sentence saying "26 October" is likely a trap."""
    lowered = evidence.lower()
    names = [w for w in _NAME.findall(question.strip()) if w.lower() not in lowered]
    numbers = [n for n in _NUMBER.findall(question) if n not in evidence]
    return float(min(len(names), 2)), float(min(len(numbers), 2))


def _best_span(
    reading: Reading, span_logits: np.ndarray, sentence: int, models: ReaderModels
) -> tuple[int | None, float, float]:
    """(span index, its softmax share among the sentence's spans, its margin over the runner-up)."""
    mine = [k for k, (i, _, _) in enumerate(reading.spans) if i == sentence]
    if not mine or reading.qtype.kind == "yesno":
        return None, 0.0, 0.0
    local = _softmax(span_logits[mine])
    ranked = np.argsort(-local, kind="stable")
    k = mine[int(ranked[0])]
    margin = float(span_logits[k] - span_logits[mine[int(ranked[1])]]) if len(mine) > 1 else models.lone_span_margin
    return k, float(local[ranked[0]]), margin


def weigh(reading: Reading, models: ReaderModels = READER) -> Evidence:
    """Pick the answer sentence(s) and short answer span with ``models``."""
    span_logits = models.span.logit(reading.span_columns(models.span.names)) if len(reading.spans) else np.zeros(0)
    sentence_p = _softmax(models.sentence.logit(sentence_rows(reading, span_logits, models)))
    order = np.argsort(-sentence_p, kind="stable")
    top = int(order[0])
    best = reading.sentences[reading.pool[top]]
    k, span_p, margin = _best_span(reading, span_logits, reading.pool[top], models)
    short = (reading.spans[k][1], reading.spans[k][2]) if k is not None else None
    cited = [best]
    if short is not None and short[0] is not best:
        cited.append(short[0])  # the short answer is in the sentence that carries this one on
    if len(order) > 1 and sentence_p[top] < models.second_sentence_below:
        cited.append(reading.sentences[reading.pool[int(order[1])]])
    i = reading.pool[top]
    typed = reading.span_columns(("type_match",))[k, 0] if k is not None else 0.0
    type_missing = float(reading.qtype.family in TYPED_FAMILIES and typed < 1.0)  # asked "who", names nobody
    features = np.array([[float(sentence_p[top]), span_p, margin, reading.sentence_features[i, 0],
                          reading.sentence_features[i, 1], reading.best_cosine, *coverage(reading),
                          *unmatched(reading.question, " ".join(c.text for c in cited)), type_missing]])
    return Evidence(tuple(dict.fromkeys(cited)), short, features)


def choose(reading: Reading, models: ReaderModels = READER) -> Choice:
    """The answer to ``reading.question`` from the closely read sentences, with its confidences."""
    evidence = weigh(reading, models)
    short_confidence = float(models.short.probability(evidence.features)[0]) if evidence.short else 0.0
    confidence = float(models.answer.probability(evidence.features)[0])
    return Choice(evidence.sentences, evidence.short, short_confidence, confidence)
