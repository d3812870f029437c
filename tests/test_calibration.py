"""Calibration on the shared dev set: answers marked "likely" are right more often than "uncertain" ones.

Reads ``shared/devsets/qa.jsonl`` next to the repository (the team's development data, see
its README); a clone without it has nothing to calibrate against, so the test says so and skips.
An ordering test, not a timing one: every other question of the file, the real MiniLM, the
real pipeline through ``rag eval qa``'s runner.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.evaluation.metrics import contains_answer, mean
from rag.evaluation.runner import run_qa
from rag.generation.confidence import describe
from rag.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def devsets() -> Path | None:
    """``shared/devsets`` beside the repository or one of its parent folders (worktrees sit deeper)."""
    for folder in [ROOT.parent, *ROOT.parent.parents]:
        if (folder / "shared" / "devsets" / "qa.jsonl").is_file():
            return folder / "shared" / "devsets"
    return None


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    found = devsets()
    if found is None:
        pytest.skip("no shared/devsets/qa.jsonl beside this clone: nothing to calibrate against")
    rows = (found / "qa.jsonl").read_text(encoding="utf-8").splitlines()
    subset = tmp_path_factory.mktemp("calibration") / "qa_half.jsonl"
    subset.write_text("\n".join(rows[::2]) + "\n", encoding="utf-8")
    settings = Settings(index_dir=tmp_path_factory.mktemp("calibration-index") / "index", generator="extractive")
    return run_qa(subset, settings)


def test_short_answers_marked_likely_are_right_more_often(report) -> None:
    shorts = [i for i in report.items if i.answers and i.short_answer is not None]
    likely = [i.exact_match for i in shorts if describe(i.short_answer_confidence) == "likely"]
    uncertain = [i.exact_match for i in shorts if describe(i.short_answer_confidence) == "uncertain"]
    assert len(likely) >= 10 and len(uncertain) >= 10
    assert mean(likely) > mean(uncertain) + 0.2
    assert report.scores.exact_when_likely == pytest.approx(mean(likely))


def test_answers_marked_likely_hold_the_answer_more_often(report) -> None:
    answered = [i for i in report.items if i.answers and not i.abstained]
    likely = [float(contains_answer(i.answer_text, i.answers)) for i in answered if describe(i.confidence) == "likely"]
    uncertain = [float(contains_answer(i.answer_text, i.answers)) for i in answered if describe(i.confidence) == "uncertain"]
    assert len(likely) >= 10 and len(uncertain) >= 10
    assert mean(likely) > mean(uncertain)


def test_unanswerable_questions_are_declined_or_uncertain(report) -> None:
    unanswerable = [i for i in report.items if not i.answers]
    assert unanswerable
    confident = [i for i in unanswerable if not i.abstained and describe(i.short_answer_confidence) == "likely"]
    assert len(confident) / len(unanswerable) < 0.25
    assert json.dumps([i.confidence for i in report.items])  # confidences are plain numbers or None
