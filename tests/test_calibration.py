"""Calibration on the shared dev set: answers marked "likely" are right more often than "uncertain" ones.

Reads ``<repo>/../shared/devsets/qa.jsonl`` (the team's public development data: SQuAD 2.0
paragraphs with unanswerable questions; see its README). Without it the test fails and says
where the file belongs: the reader's confidence is fitted on it, so a run that cannot check it
must not pass quietly. An ordering test, not a timing one: a fixed, seeded sample of
``SAMPLE`` questions, asked through ``rag eval qa``'s runner with every article of the file
ingested (the others are distractors), the real MiniLM and the real pipeline.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from rag.evaluation.metrics import contains_answer, mean
from rag.evaluation.runner import QAReport, run_qa
from rag.generation.wording import describe
from rag.settings import Settings

pytestmark = pytest.mark.slow  # asks the pipeline a hundred questions

ROOT = Path(__file__).resolve().parents[1]
DEVSETS = ROOT.parent / "shared" / "devsets"
SEED = 11
SAMPLE = 100  # of 328 questions; the ordering holds by a wide margin at this size (see the asserts)


def devset_questions() -> list[str]:
    path = DEVSETS / "qa.jsonl"
    if not path.is_file():
        pytest.fail(
            f"{path} is missing: the calibration test reads the shared dev set from <repo>/../shared/devsets "
            f"(put the team's devsets folder there, or a symbolic link to it)"
        )
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def report(tmp_path_factory, minilm) -> QAReport:
    rows = devset_questions()
    random.Random(SEED).shuffle(rows)  # every article stays in the file; the first SAMPLE questions are asked
    shuffled = tmp_path_factory.mktemp("calibration") / "qa_shuffled.jsonl"
    shuffled.write_text("\n".join(rows) + "\n", encoding="utf-8")
    settings = Settings(index_dir=tmp_path_factory.mktemp("calibration-index") / "index", generator="extractive")
    return run_qa(shuffled, settings, limit=SAMPLE, embedder=minilm)


def test_the_sample_is_both_kinds_of_question(report: QAReport) -> None:
    assert report.questions == SAMPLE and report.documents == 32
    assert report.answerable >= 60 and report.unanswerable >= 15


def test_short_answers_marked_likely_are_right_more_often(report: QAReport) -> None:
    shorts = [i for i in report.items if i.answers and i.short_answer is not None]
    likely = [i.exact_match for i in shorts if describe(i.short_answer_confidence) == "likely"]
    uncertain = [i.exact_match for i in shorts if describe(i.short_answer_confidence) == "uncertain"]
    assert len(likely) >= 8 and len(uncertain) >= 8
    assert mean(likely) > mean(uncertain) + 0.2
    assert report.scores.exact_when_likely == pytest.approx(mean(likely))


def test_answers_marked_likely_hold_the_answer_more_often(report: QAReport) -> None:
    answered = [i for i in report.items if i.answers and not i.abstained]
    likely = [float(contains_answer(i.answer_text, i.answers)) for i in answered if describe(i.confidence) == "likely"]
    uncertain = [
        float(contains_answer(i.answer_text, i.answers)) for i in answered if describe(i.confidence) == "uncertain"
    ]
    assert len(likely) >= 8 and len(uncertain) >= 8
    assert mean(likely) > mean(uncertain)


def test_unanswerable_questions_are_declined_or_uncertain(report: QAReport) -> None:
    unanswerable = [i for i in report.items if not i.answers]
    confident = [i for i in unanswerable if not i.abstained and describe(i.short_answer_confidence) == "likely"]
    assert len(confident) / len(unanswerable) < 0.25
    assert json.dumps([i.confidence for i in report.items])  # confidences are plain numbers or None
