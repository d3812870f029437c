"""Read evaluation sets: question files and summary files in JSON Lines.

A question line is ``{"id", "context", "question", "answers": [...]}`` (an
empty ``answers`` list marks an unanswerable question); a summary line is
``{"id", "article", "reference"}`` with an optional ``"dataset"`` name (results
are also reported per dataset). Other fields are ignored, blank lines are
skipped. Every problem raises BadInputError naming the file and line. Leaves
out running anything: rag/evaluation/runner.py does that.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from rag.errors import BadInputError


@dataclass(frozen=True)
class QAItem:
    """One question about ``context``; ``answers`` empty means unanswerable."""

    id: str
    context: str
    question: str
    answers: tuple[str, ...]
    line: int


@dataclass(frozen=True)
class SummaryItem:
    """One article with a reference summary written by a person."""

    id: str
    article: str
    reference: str
    line: int
    dataset: str = ""  # the optional "dataset" field (e.g. "XSum (test split)"), to report each part


QA_EXAMPLE = '{"id": "q1", "context": "<article>", "question": "...", "answers": ["..."]}'
SUMMARY_EXAMPLE = '{"id": "a1", "article": "<article>", "reference": "<summary>"}'


def _rows(path: Path, example: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` for each non-blank line of ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise BadInputError(f"{path}: no such file; give a JSON Lines file, one object per line like {example}") from e
    except (OSError, UnicodeDecodeError) as e:
        raise BadInputError(f"{path}: cannot read it as UTF-8 text ({e}); save it as UTF-8 JSON Lines") from e
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise BadInputError(
                f"{path}:{number}: not valid JSON ({e.msg}); each line must be one object like {example}"
            ) from e
        if not isinstance(row, dict):
            raise BadInputError(f"{path}:{number}: expected a JSON object, got {type(row).__name__}; write {example}")
        yield number, row


def _text_field(path: Path, number: int, row: dict[str, Any], name: str, example: str) -> str:
    value = row.get(name)
    if not isinstance(value, str) or not value.strip():
        problem = "is missing" if name not in row else "must be a non-empty string"
        raise BadInputError(f"{path}:{number}: field {name!r} {problem}; each line looks like {example}")
    return value


def _answers_field(path: Path, number: int, row: dict[str, Any]) -> tuple[str, ...]:
    answers = row.get("answers")
    if not isinstance(answers, list) or not all(isinstance(a, str) and a.strip() for a in answers):
        raise BadInputError(
            f"{path}:{number}: field 'answers' must be a list of non-empty strings "
            f"(an empty list [] marks an unanswerable question)"
        )
    return tuple(answers)


def _check_ids(path: Path, ids: list[tuple[str, int]]) -> None:
    if not ids:
        raise BadInputError(f"{path}: holds no items; add one JSON object per line")
    seen: dict[str, int] = {}
    for item_id, number in ids:
        if item_id in seen:
            raise BadInputError(f"{path}:{number}: id {item_id!r} repeats line {seen[item_id]}; ids must be unique")
        seen[item_id] = number


def load_qa(path: Path) -> list[QAItem]:
    """The questions of a QA file, in file order."""
    items = []
    for number, row in _rows(path, QA_EXAMPLE):
        item_id, context, question = (_text_field(path, number, row, name, QA_EXAMPLE)
                                      for name in ("id", "context", "question"))
        items.append(QAItem(item_id, context, question, answers=_answers_field(path, number, row), line=number))
    _check_ids(path, [(i.id, i.line) for i in items])
    return items


def load_summaries(path: Path) -> list[SummaryItem]:
    """The articles and reference summaries of a summary file, in file order."""
    items = []
    for number, row in _rows(path, SUMMARY_EXAMPLE):
        item_id, article, reference = (_text_field(path, number, row, name, SUMMARY_EXAMPLE)
                                       for name in ("id", "article", "reference"))
        dataset = row.get("dataset")
        items.append(SummaryItem(item_id, article, reference, line=number,
                                 dataset=dataset if isinstance(dataset, str) else ""))
    _check_ids(path, [(i.id, i.line) for i in items])
    return items
