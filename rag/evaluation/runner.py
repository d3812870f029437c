"""Run rag on an evaluation set and score it: questions (run_qa) and summaries (run_summaries).

Each run builds a throwaway index in a temporary folder, so the user's index
is never touched. QA: every distinct context of the file becomes a document
(each question has the others as distractors); each question is searched
(recall@1 and @k: a hit is a retrieved chunk of the question's own document
holding a gold answer) and asked through ``Rag.ask`` (EM/F1 on the
short answer when there is one, else on the answer's sentences; containment;
citation validity; abstention; latency). Unanswerable questions (no gold
answers) only count for abstention and latency. Summaries: each article's
short briefing (``Rag.brief(..., length="short")``, three sentences) and its
Lead-3 are scored by ROUGE against the reference in the same run. Latency
is wall time per ``ask``/``brief`` call after one untimed warm-up call, so it
leaves out loading models.

Returns frozen dataclasses; formatting and printing are the CLI's job
(rag/evaluation/cli.py). Leaves out significance tests and multi-run averages.
"""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Mapping, Sequence, TypeVar

from rag.core import Rag
from rag.errors import BadInputError, DocumentNotFoundError
from rag.evaluation.dataset import QAItem, SummaryItem, load_qa, load_summaries
from rag.evaluation.metrics import (
    ROUGE_TYPES,
    contains_answer,
    exact_match,
    lead_n,
    mean,
    percentile,
    recall_at_k,
    rouge_scores,
    token_f1,
)
from rag.generation.wording import describe
from rag.ingest.text import text_document
from rag.settings import Settings
from rag.types import Answer, Document

if TYPE_CHECKING:
    from rag.embedding import Embedder

Progress = Callable[[int, int], None]
T = TypeVar("T")
LEAD_SENTENCES = 3

# What happened to one question, from best to worst for answerable ones.
OUTCOMES = (
    "exact",  # the scored answer equals a gold answer (EM 1)
    "wrong_span",  # the answer sentence holds a gold answer, the short answer is another span
    "no_short_answer",  # the answer sentence holds a gold answer, no short answer was given
    "wrong_sentence",  # retrieval found the answer within k, the answer holds no gold answer
    "retrieval_miss",  # no retrieved chunk of the question's document holds a gold answer
    "wrong_abstention",  # abstained on an answerable question
    "right_abstention",  # abstained on an unanswerable question
    "answered_unanswerable",  # answered a question no article answers
)


@dataclass(frozen=True)
class QAItemResult:
    """One question: what rag said and how it scored (None where a metric does not apply)."""

    id: str
    question: str
    answers: tuple[str, ...]
    prediction: str  # the text EM and F1 score: the short answer, else the answer sentences
    answer_text: str  # the answer's sentences joined, without [n] markers
    short_answer: str | None
    abstained: bool
    outcome: str
    exact_match: float | None
    f1: float | None
    contains_answer: bool | None
    recall_at_1: float | None
    recall_at_k: float | None
    hit_rank: int | None  # rank of the first retrieved chunk that is a hit
    own_document_rank: int | None  # rank of the first retrieved chunk of the question's document
    citations: int
    valid_citations: int
    latency_s: float
    confidence: float | None = None  # the answer's calibrated confidence (None: abstained or not estimated)
    short_answer_confidence: float | None = None


@dataclass(frozen=True)
class QAScores:
    """Averages over a QA run; EM, F1, containment and recall over answerable questions only."""

    recall_at_1: float
    recall_at_k: float
    exact_match: float
    f1: float
    containment: float
    citation_validity: float | None  # None when no answer cited anything
    abstention_rate: float
    right_abstention: float | None  # share of unanswerable questions abstained on
    wrong_abstention: float | None  # share of answerable questions abstained on
    latency_p50_s: float
    latency_p95_s: float
    outcomes: Mapping[str, int]
    # Calibration of short answers on answerable questions: share marked "likely", and the exact
    # match of those marked "likely" and of those marked "uncertain" (None when there are none).
    likely_share: float | None = None
    exact_when_likely: float | None = None
    exact_when_uncertain: float | None = None


@dataclass(frozen=True)
class QAReport:
    """A QA run: what ran on what, the scores, and every question's result."""

    file: str
    requested_generator: str
    generator: str
    model: str
    k: int
    documents: int
    questions: int
    answerable: int
    unanswerable: int
    scores: QAScores
    items: tuple[QAItemResult, ...]


@dataclass(frozen=True)
class SummaryItemResult:
    """One article: the briefing and Lead-3 (one sentence per line) and their ROUGE F1."""

    id: str
    summary: str
    lead: str
    rouge: Mapping[str, float]
    lead_rouge: Mapping[str, float]
    abstained: bool
    citations: int
    valid_citations: int
    latency_s: float


@dataclass(frozen=True)
class SummaryRow:
    """Mean ROUGE F1 of one system; the Lead-3 row has no citations or latency."""

    system: str
    rouge1: float
    rouge2: float
    rougeLsum: float
    citation_validity: float | None
    latency_p50_s: float | None
    latency_p95_s: float | None


@dataclass(frozen=True)
class SummaryReport:
    """A summary run: rag's row, the Lead-3 row, and every article's result."""

    file: str
    requested_generator: str
    generator: str
    model: str
    articles: int
    rows: tuple[SummaryRow, ...]
    items: tuple[SummaryItemResult, ...]
    # Per dataset named in the file (empty when the file names none): (dataset, articles, rag's row, Lead-3's).
    by_dataset: tuple[tuple[str, int, SummaryRow, SummaryRow], ...] = ()


# -- shared helpers -------------------------------------------------------------
@contextmanager
def temporary_index(settings: Settings, embedder: Embedder | None = None) -> Iterator[Rag]:
    """A Rag over an empty index in a temporary folder, deleted afterwards (``embedder``: use this
    one instead of the configured one, as ``Rag`` allows for tests and benchmarks).

    Model files derived once (ONNX exports) stay in the one model cache,
    ``settings.cache_dir``; nothing is written next to the user's index.
    """
    with tempfile.TemporaryDirectory(prefix="rag-eval-") as folder:
        with Rag(settings.with_(index_dir=Path(folder)), embedder=embedder) as rag:
            yield rag


def valid_citations(index: Rag, answer: Answer) -> int:
    """How many of the answer's citations quote exactly the span of the stored document they name."""
    valid = 0
    for c in answer.citations:
        try:
            text = index.document(c.doc_id).text
        except DocumentNotFoundError:
            continue
        valid += int(text[c.start : c.end] == c.quote)
    return valid


def _validity(items: Sequence[QAItemResult] | Sequence[SummaryItemResult]) -> float | None:
    total = sum(i.citations for i in items)
    return sum(i.valid_citations for i in items) / total if total else None


def _ingest(index: Rag, texts: Mapping[str, str], file_name: str) -> dict[str, Document]:
    """Add each ``{item id: text}`` as a document; the same text is one document."""
    documents = {
        item_id: text_document(text, source=f"{file_name}#{item_id}", title_hint=item_id)
        for item_id, text in texts.items()
    }
    index.ingest(list(documents.values()))
    return documents


def _generator(index: Rag) -> tuple[str, str]:
    """The concrete generator name and model id (made once, failing early)."""
    generator = index.generator()
    return generator.name, generator.model_id


def _first(items: list[T], limit: int | None) -> list[T]:
    if limit is None:
        return items
    if limit < 1:
        raise BadInputError(f"--limit must be at least 1, got {limit}; leave it out to run every item")
    return items[:limit]


def answer_text(answer: Answer) -> str:
    """The answer's sentences joined with spaces, without [n] citation markers."""
    return " ".join(s.text for s in answer.sentences)


# -- questions --------------------------------------------------------------------
def _outcome(item: QAItem, answer: Answer, em: float, contained: bool, found: bool) -> str:
    if not item.answers:
        return "right_abstention" if answer.abstained else "answered_unanswerable"
    if answer.abstained:
        return "wrong_abstention"
    if em == 1.0:
        return "exact"
    if contained:
        return "wrong_span" if answer.short_answer is not None else "no_short_answer"
    return "wrong_sentence" if found else "retrieval_miss"


def _first_rank(flags: Sequence[bool]) -> int | None:
    return next((rank for rank, flag in enumerate(flags, start=1) if flag), None)


def score_question(index: Rag, item: QAItem, document: Document, k: int) -> QAItemResult:
    """Search and ask one question; score retrieval, the answer and its citations."""
    hits = index.search(item.question, k=k)
    own = [h.chunk.doc_id == document.id for h in hits]
    flags = [o and contains_answer(h.chunk.text, item.answers) for o, h in zip(own, hits, strict=True)]
    started = time.perf_counter()
    answer = index.ask(item.question, k=k)
    latency = time.perf_counter() - started
    text = answer_text(answer)
    prediction = answer.short_answer if answer.short_answer is not None else text
    answerable = bool(item.answers)
    em = exact_match(prediction, item.answers)
    contained = contains_answer(text, item.answers)
    return QAItemResult(
        id=item.id, question=item.question, answers=item.answers, prediction=prediction, answer_text=text,
        short_answer=answer.short_answer, abstained=answer.abstained,
        outcome=_outcome(item, answer, em, contained, any(flags)),
        exact_match=em if answerable else None,
        f1=token_f1(prediction, item.answers) if answerable else None,
        contains_answer=contained if answerable else None,
        recall_at_1=recall_at_k(flags, 1) if answerable else None,
        recall_at_k=recall_at_k(flags, k) if answerable else None,
        hit_rank=_first_rank(flags), own_document_rank=_first_rank(own),
        citations=len(answer.citations), valid_citations=valid_citations(index, answer), latency_s=latency,
        confidence=answer.confidence, short_answer_confidence=answer.short_answer_confidence,
    )


def _calibration(answerable: Sequence[QAItemResult]) -> dict[str, float | None]:
    """How often short answers marked likely / uncertain are exactly right."""
    shorts = [i for i in answerable if i.short_answer is not None and i.short_answer_confidence is not None]
    likely = [float(i.exact_match or 0.0) for i in shorts if describe(i.short_answer_confidence) == "likely"]
    uncertain = [float(i.exact_match or 0.0) for i in shorts if describe(i.short_answer_confidence) == "uncertain"]
    return {
        "likely_share": len(likely) / len(shorts) if shorts else None,
        "exact_when_likely": mean(likely) if likely else None,
        "exact_when_uncertain": mean(uncertain) if uncertain else None,
    }


def qa_scores(items: Sequence[QAItemResult]) -> QAScores:
    """Aggregate per-question results (answer metrics over answerable questions only)."""
    answerable = [i for i in items if i.answers]
    unanswerable = [i for i in items if not i.answers]
    latencies = [i.latency_s for i in items]
    counts = Counter(i.outcome for i in items)

    def avg(name: str) -> float:
        return mean([float(getattr(i, name)) for i in answerable])

    return QAScores(
        recall_at_1=avg("recall_at_1"), recall_at_k=avg("recall_at_k"),
        exact_match=avg("exact_match"), f1=avg("f1"), containment=avg("contains_answer"),
        citation_validity=_validity(items),
        abstention_rate=mean([float(i.abstained) for i in items]),
        right_abstention=mean([float(i.abstained) for i in unanswerable]) if unanswerable else None,
        wrong_abstention=mean([float(i.abstained) for i in answerable]) if answerable else None,
        latency_p50_s=percentile(latencies, 50), latency_p95_s=percentile(latencies, 95),
        outcomes={name: counts[name] for name in OUTCOMES if counts[name]},
        **_calibration(answerable),
    )


def run_qa(
    path: Path, settings: Settings, limit: int | None = None, progress: Progress | None = None,
    embedder: Embedder | None = None,
) -> QAReport:
    """Score rag on the questions of ``path`` with ``settings`` (k is ``settings.top_k``; ``embedder``:
    an embedder already loaded, instead of the configured one).

    All distinct contexts of the file are ingested, even with ``limit``, so the
    distractors are the same whatever the limit; only the first ``limit``
    questions are asked.
    """
    items = load_qa(path)
    first_by_context: dict[str, str] = {}  # context -> id of its first question, in file order
    for item in items:
        first_by_context.setdefault(item.context, item.id)
    asked = _first(items, limit)
    with temporary_index(settings, embedder) as index:
        generator, model = _generator(index)
        documents = _ingest(index, {i: c for c, i in first_by_context.items()}, path.name)
        index.ask(asked[0].question, k=settings.top_k)  # warm-up: latency excludes model loading
        results = []
        for done, item in enumerate(asked, start=1):
            document = documents[first_by_context[item.context]]
            results.append(score_question(index, item, document, settings.top_k))
            if progress:
                progress(done, len(asked))
        distinct = len({d.id for d in documents.values()})
    return QAReport(
        file=str(path), requested_generator=settings.generator, generator=generator, model=model,
        k=settings.top_k, documents=distinct, questions=len(results),
        answerable=sum(1 for r in results if r.answers), unanswerable=sum(1 for r in results if not r.answers),
        scores=qa_scores(results), items=tuple(results),
    )


# -- summaries ----------------------------------------------------------------------
def summarize_article(index: Rag, item: SummaryItem, document: Document) -> SummaryItemResult:
    """Brief one article (short: three sentences) and score it and Lead-3 against the reference."""
    started = time.perf_counter()
    answer = index.brief(doc_ids=[document.id], length="short")
    latency = time.perf_counter() - started
    summary = "\n".join(s.text for s in answer.sentences)
    lead = lead_n(item.article, LEAD_SENTENCES)
    return SummaryItemResult(
        id=item.id, summary=summary, lead=lead,
        rouge=rouge_scores(summary, item.reference), lead_rouge=rouge_scores(lead, item.reference),
        abstained=answer.abstained, citations=len(answer.citations),
        valid_citations=valid_citations(index, answer), latency_s=latency,
    )


def summary_rows(generator: str, items: Sequence[SummaryItemResult]) -> tuple[SummaryRow, SummaryRow]:
    """rag's row and the Lead-3 row: mean ROUGE F1 over the articles."""
    latencies = [i.latency_s for i in items]

    def rouge(pick: Callable[[SummaryItemResult], Mapping[str, float]]) -> dict[str, float]:
        return {name: mean([pick(i)[name] for i in items]) for name in ROUGE_TYPES}

    tool = SummaryRow(
        generator, **rouge(lambda i: i.rouge), citation_validity=_validity(items),
        latency_p50_s=percentile(latencies, 50), latency_p95_s=percentile(latencies, 95),
    )
    lead = SummaryRow(f"lead-{LEAD_SENTENCES}", **rouge(lambda i: i.lead_rouge), citation_validity=None,
                      latency_p50_s=None, latency_p95_s=None)
    return tool, lead


def run_summaries(
    path: Path, settings: Settings, limit: int | None = None, progress: Progress | None = None
) -> SummaryReport:
    """Score rag's short briefings of the articles of ``path`` (the first ``limit``) and Lead-3."""
    items = load_summaries(path)
    chosen = _first(items, limit)
    with temporary_index(settings) as index:
        generator, model = _generator(index)
        documents = _ingest(index, {i.id: i.article for i in chosen}, path.name)
        index.brief(doc_ids=[documents[chosen[0].id].id], length="short")  # warm-up, untimed
        results = []
        for done, item in enumerate(chosen, start=1):
            results.append(summarize_article(index, item, documents[item.id]))
            if progress:
                progress(done, len(chosen))
    datasets = dict.fromkeys(i.dataset for i in chosen if i.dataset)
    by_dataset = tuple(
        (name, len(part), *summary_rows(generator, part))
        for name in datasets
        for part in [[r for r, i in zip(results, chosen, strict=True) if i.dataset == name]]
    )
    return SummaryReport(
        file=str(path), requested_generator=settings.generator, generator=generator, model=model,
        articles=len(results), rows=summary_rows(generator, results), items=tuple(results),
        by_dataset=by_dataset if len(datasets) > 1 else (),
    )
