"""The ``rag eval qa`` and ``rag eval summarize`` commands: parsers, tables and JSON.

``add_eval_commands`` is called by rag/cli.py's ``build_parser``; it imports
nothing heavy, so ``rag --help`` stays instant. Handlers import and run
rag/evaluation/runner.py (ROUGE, NLTK) and format its reports: a table on the terminal
(scores as percentages, latency in seconds) or, with ``--json``, the whole
report with every item. Leaves out comparing runs with each other.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from rag.frontend import progress_bar, settings_from
from rag.generation.registry import CHOICES

if TYPE_CHECKING:
    from rag.evaluation.runner import QAReport, SummaryReport

Handler = Callable[[argparse.Namespace], int]
Command = Callable[..., argparse.ArgumentParser]

QA_LEGEND = (
    "Scores are percentages over answerable questions; abstain is over all questions.\n"
    "R@k: a retrieved chunk of the question's own article holds a gold answer. EM/F1: SQuAD exact match and\n"
    "token F1 of the short answer (else the answer sentence). contains: the answer holds a gold answer.\n"
    "cites ok: citations whose quote equals its source span. abst|unans: abstained on unanswerable questions\n"
    "(higher is better); abst|ans: abstained on answerable ones (lower is better). p50/p95: seconds per question."
)
SUMMARY_LEGEND = (
    "ROUGE F1 (percent, stemmed, one sentence per line) against the reference summaries. The briefing is the\n"
    "short one (three sentences), like for like with Lead-3 (the article's first three sentences).\n"
    "cites ok: citations whose quote equals its source span. p50/p95: seconds per article."
)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


# -- formatting -------------------------------------------------------------------
def percent(value: float | None) -> str:
    """``0.4567`` -> ``"45.7"``; None (does not apply) -> ``"-"``."""
    return "-" if value is None else f"{100 * value:.1f}"


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to fit: the first left-aligned, the others right-aligned."""
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        first = cells[0].ljust(widths[0])
        return "  ".join([first, *(c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))]).rstrip()

    return "\n".join(line(r) for r in [headers, *rows])


def _generator_line(requested: str, generator: str, model: str) -> str:
    how = f" (asked for {requested})" if requested != generator else ""
    return f"generator: {generator}{how}, model {model}"


def qa_text(report: QAReport) -> str:
    """The QA report as a header, a one-row table, the outcome counts and a legend."""
    s = report.scores
    headers = ["generator", "R@1", f"R@{report.k}", "EM", "F1", "contains", "cites ok", "abstain",
               "abst|unans", "abst|ans", "p50 s", "p95 s"]
    row = [report.generator, percent(s.recall_at_1), percent(s.recall_at_k), percent(s.exact_match),
           percent(s.f1), percent(s.containment), percent(s.citation_validity), percent(s.abstention_rate),
           percent(s.right_abstention), percent(s.wrong_abstention),
           seconds(s.latency_p50_s), seconds(s.latency_p95_s)]
    outcomes = ", ".join(f"{name} {count}" for name, count in s.outcomes.items())
    calibration = []
    if s.likely_share is not None:
        calibration = [
            f"short answers marked likely: {percent(s.likely_share)}% of them, exact {percent(s.exact_when_likely)}; "
            f"marked uncertain: exact {percent(s.exact_when_uncertain)}",
        ]
    return "\n".join([
        f"{report.file}: {report.questions} questions ({report.answerable} answerable, "
        f"{report.unanswerable} unanswerable) over {report.documents} articles, k={report.k}",
        _generator_line(report.requested_generator, report.generator, report.model),
        "",
        table(headers, [row]),
        "",
        f"outcomes: {outcomes}",
        *calibration,
        "",
        QA_LEGEND,
    ])


def summary_text(report: SummaryReport) -> str:
    """The summary report as a header, a table with rag's row and Lead-3's, and a legend."""
    headers = ["system", "ROUGE-1", "ROUGE-2", "ROUGE-Lsum", "cites ok", "p50 s", "p95 s"]
    rows = [
        [r.system, percent(r.rouge1), percent(r.rouge2), percent(r.rougeLsum), percent(r.citation_validity),
         seconds(r.latency_p50_s), seconds(r.latency_p95_s)]
        for r in report.rows
    ]
    abstained = sum(1 for i in report.items if i.abstained)
    notes = [f"{abstained} briefing(s) came back empty (scored 0)"] if abstained else []
    if report.by_dataset:
        parts = [[f"{name} ({n})", percent(tool.rougeLsum), percent(lead.rougeLsum)]
                 for name, n, tool, lead in report.by_dataset]
        notes = [table(["dataset (articles)", f"{report.generator} R-Lsum", "lead-3 R-Lsum"], parts), "", *notes]
    return "\n".join([
        f"{report.file}: {report.articles} articles",
        _generator_line(report.requested_generator, report.generator, report.model),
        "",
        table(headers, rows),
        "",
        *notes,
        SUMMARY_LEGEND,
    ])


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rounded(v) for v in value]
    return value


def report_json(report: QAReport | SummaryReport) -> dict[str, Any]:
    """The whole report (aggregate and per item) as JSON-ready data, floats to 4 places."""
    return _rounded(asdict(report))


# -- handlers -------------------------------------------------------------------
def _progress(unit: str) -> Callable[[int, int], None] | None:
    """A progress bar on stderr when it is a terminal (rag/frontend.py), else None."""
    return progress_bar("evaluating", unit)


def _print(args: argparse.Namespace, report: QAReport | SummaryReport, text: Callable[[Any], str]) -> int:
    if args.json:
        print(json.dumps(report_json(report), indent=2, ensure_ascii=False))
    else:
        print(text(report))
    return 0


def cmd_eval_qa(args: argparse.Namespace) -> int:
    from rag.evaluation.runner import run_qa

    report = run_qa(Path(args.file), settings_from(args), limit=args.limit, progress=_progress("question"))
    return _print(args, report, qa_text)


def cmd_eval_summarize(args: argparse.Namespace) -> int:
    from rag.evaluation.runner import run_summaries

    report = run_summaries(Path(args.file), settings_from(args), limit=args.limit, progress=_progress("article"))
    return _print(args, report, summary_text)


# -- parsers --------------------------------------------------------------------
def _common_options(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("file", metavar="FILE.jsonl", help=f"JSON Lines file, one {what} per line")
    parser.add_argument("--generator", choices=CHOICES, help="who writes (default: auto)")
    parser.add_argument("--model", dest="seq2seq_model", metavar="ID_OR_DIR",
                        help="seq2seq checkpoint id or folder (default: google/flan-t5-base)")
    parser.add_argument("--max-new-tokens", type=_positive_int, help="seq2seq: longest output per call (default 160)")
    parser.add_argument("--beams", dest="num_beams", type=_positive_int, help="seq2seq: beam search width (default 4)")
    parser.add_argument("--limit", type=_positive_int, metavar="N", help=f"only the first N {what}s (default: all)")
    parser.add_argument("--json", action="store_true", help="print the full result (every item) as JSON")


def add_eval_commands(sub: Any, command: Command) -> None:
    """Add ``rag eval qa`` and ``rag eval summarize`` under the ``rag`` sub-commands ``sub``."""

    def show_help(args: argparse.Namespace) -> int:
        parser.print_help()
        return 1

    parser = command(sub, "eval", show_help, "Measure answer and summary quality on an evaluation set.",
                     "rag eval qa eval/qa.jsonl")
    nested = parser.add_subparsers(title="evaluations", metavar="SET", parser_class=type(parser))
    p = command(nested, "qa", cmd_eval_qa,
                "Ask every question of a QA file; report recall@k, EM, F1, citations, abstention, latency.",
                "rag eval qa eval/qa.jsonl -k 5 --json")
    _common_options(p, "question")
    p.add_argument("-k", type=_positive_int, dest="top_k", metavar="K", help="passages to retrieve (default 5)")
    p = command(nested, "summarize", cmd_eval_summarize,
                "Brief every article of a summary file; report ROUGE against the references and Lead-3.",
                "rag eval summarize eval/summaries.jsonl --limit 3")
    _common_options(p, "article")
