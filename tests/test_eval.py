"""Tests for ``rag eval qa`` and ``rag eval summarize`` (rag/evaluation/runner.py, cli.py, dataset.py).

Both commands run end to end on the tiny eval files with the real MiniLM
embedder and FAISS, through ``rag.cli.main`` and once through the installed
``rag`` console script. The numbers depend on the models, so the tests check
structure and the relations that must hold between the numbers (aggregates
are the means of the items, EM 1 implies F1 1, recall@k >= recall@1, every
quote is an exact span), not particular scores. The metric functions
themselves are tested against hand-worked examples in tests/test_metrics.py.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rag.cli import main
from rag.evaluation.metrics import lead_n, mean
from rag.evaluation.runner import OUTCOMES, _ingest, temporary_index, valid_citations
from rag.settings import Settings
from rag.storage.sqlite import DB_NAME

ROOT = Path(__file__).resolve().parents[1]
TINY_QA = ROOT / "tests" / "data" / "eval_tiny_qa.jsonl"
TINY_SUMMARIES = ROOT / "tests" / "data" / "eval_tiny_summaries.jsonl"


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def run_main(argv: list[str]) -> tuple[int, str, str]:
    """``rag.cli.main(argv)`` with stdout and stderr captured."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def untouched_index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An --index-dir that must hold no index after the runs: eval uses a temporary index."""
    return tmp_path_factory.mktemp("eval") / "index-must-not-appear"


@pytest.fixture(scope="module")
def qa_json(untouched_index_dir: Path) -> dict[str, Any]:
    code, out, _ = run_main(["--index-dir", str(untouched_index_dir), "eval", "qa", str(TINY_QA), "--json"])
    assert code == 0
    return json.loads(out)


@pytest.fixture(scope="module")
def summary_json(untouched_index_dir: Path) -> dict[str, Any]:
    code, out, _ = run_main(
        ["--index-dir", str(untouched_index_dir), "eval", "summarize", str(TINY_SUMMARIES), "--json"]
    )
    assert code == 0
    return json.loads(out)


# -- rag eval qa ---------------------------------------------------------------------
def test_qa_json_counts_and_generator(qa_json: dict[str, Any]) -> None:
    assert qa_json["file"] == str(TINY_QA)
    assert (qa_json["questions"], qa_json["answerable"], qa_json["unanswerable"]) == (5, 4, 1)
    assert qa_json["documents"] == 3  # three distinct contexts, one shared by two questions
    assert qa_json["k"] == Settings().top_k
    assert (qa_json["requested_generator"], qa_json["generator"]) == ("auto", "extractive")
    assert qa_json["model"] == Settings().embedder_model
    assert [i["id"] for i in qa_json["items"]] == [r["id"] for r in _rows(TINY_QA)]


def test_qa_extractive_citations_are_all_valid(qa_json: dict[str, Any]) -> None:
    cited = sum(i["citations"] for i in qa_json["items"])
    assert cited >= 1
    assert sum(i["valid_citations"] for i in qa_json["items"]) == cited
    assert qa_json["scores"]["citation_validity"] == 1.0


def test_qa_item_metrics_hang_together(qa_json: dict[str, Any]) -> None:
    for item in qa_json["items"]:
        assert item["outcome"] in OUTCOMES
        if not item["answers"]:
            assert item["exact_match"] is item["f1"] is item["recall_at_1"] is item["recall_at_k"] is None
            assert item["outcome"] in ("right_abstention", "answered_unanswerable")
            continue
        assert item["recall_at_1"] <= item["recall_at_k"]
        assert (item["hit_rank"] == 1) == (item["recall_at_1"] == 1.0)
        assert 0.0 <= item["exact_match"] <= item["f1"] <= 1.0
        assert (item["outcome"] == "exact") == (item["exact_match"] == 1.0)
        expected = item["short_answer"] if item["short_answer"] is not None else item["answer_text"]
        assert item["prediction"] == expected
        assert item["latency_s"] > 0


def test_qa_aggregates_are_means_over_answerable_items(qa_json: dict[str, Any]) -> None:
    scores = qa_json["scores"]
    answerable = [i for i in qa_json["items"] if i["answers"]]
    unanswerable = [i for i in qa_json["items"] if not i["answers"]]
    for aggregate, field in [("recall_at_1", "recall_at_1"), ("recall_at_k", "recall_at_k"),
                             ("exact_match", "exact_match"), ("f1", "f1"), ("containment", "contains_answer")]:
        assert scores[aggregate] == pytest.approx(mean([float(i[field]) for i in answerable]), abs=1e-4)
    assert scores["right_abstention"] == mean([float(i["abstained"]) for i in unanswerable])
    assert scores["wrong_abstention"] == mean([float(i["abstained"]) for i in answerable])
    assert sum(scores["outcomes"].values()) == 5
    assert scores["latency_p50_s"] <= scores["latency_p95_s"]


def test_qa_table_names_the_run_and_honours_k(untouched_index_dir: Path) -> None:
    argv = ["--index-dir", str(untouched_index_dir), "eval", "qa", str(TINY_QA), "-k", "3", "--limit", "2"]
    code, out, _ = run_main(argv)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"{TINY_QA}: 2 questions (2 answerable, 0 unanswerable) over 3 articles, k=3"
    assert lines[1].startswith("generator: extractive (asked for auto)")
    header = next(line for line in lines if line.startswith("generator "))
    assert header.split() == ["generator", "R@1", "R@3", "EM", "F1", "contains", "cites", "ok", "abstain",
                              "abst|unans", "abst|ans", "p50", "s", "p95", "s"]
    row = lines[lines.index(header) + 1].split()
    assert row[0] == "extractive" and row[6] == "100.0"  # cites ok
    assert row[8] == "-"  # abst|unans: no unanswerable question among the first two
    assert any(line.startswith("outcomes: ") for line in lines)


def test_eval_never_touches_the_users_index(qa_json: dict[str, Any], summary_json: dict[str, Any],
                                            untouched_index_dir: Path) -> None:
    assert not (untouched_index_dir / DB_NAME).exists()
    assert not list(untouched_index_dir.glob("vectors-*"))
    assert not untouched_index_dir.exists()  # not even a models/ folder beside it


# -- rag eval summarize ----------------------------------------------------------------
def test_summary_json_has_rag_and_lead3_rows(summary_json: dict[str, Any]) -> None:
    assert summary_json["articles"] == 2
    tool, lead = summary_json["rows"]
    assert (tool["system"], lead["system"]) == ("extractive", "lead-3")
    assert tool["citation_validity"] == 1.0
    assert lead["citation_validity"] is lead["latency_p50_s"] is None
    items = summary_json["items"]
    for name in ("rouge1", "rouge2", "rougeLsum"):
        assert tool[name] == pytest.approx(mean([i["rouge"][name] for i in items]), abs=1e-4)
        assert lead[name] == pytest.approx(mean([i["lead_rouge"][name] for i in items]), abs=1e-4)
        assert all(0.0 < i["rouge"][name] <= 1.0 for i in items)


def test_summary_items_quote_their_article_and_lead3_is_the_first_three_sentences(
    summary_json: dict[str, Any],
) -> None:
    for item, row in zip(summary_json["items"], _rows(TINY_SUMMARIES)):
        assert item["id"] == row["id"]
        assert item["lead"] == lead_n(row["article"], 3)
        sentences = item["summary"].splitlines()
        assert 1 <= len(sentences) <= 3  # a short briefing: three sentences, like Lead-3
        assert all(s in row["article"] for s in sentences)  # extractive: exact quotes
        assert item["valid_citations"] == item["citations"] >= 1


def test_summarize_table_shows_both_rows(untouched_index_dir: Path) -> None:
    code, out, _ = run_main(["--index-dir", str(untouched_index_dir), "eval", "summarize", str(TINY_SUMMARIES),
                             "--limit", "1"])
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"{TINY_SUMMARIES}: 1 articles"
    header = next(line for line in lines if line.startswith("system "))
    assert header.split() == ["system", "ROUGE-1", "ROUGE-2", "ROUGE-Lsum", "cites", "ok", "p50", "s", "p95", "s"]
    tool, lead = lines[lines.index(header) + 1].split(), lines[lines.index(header) + 2].split()
    assert tool[0] == "extractive" and tool[4] == "100.0"
    assert lead[0] == "lead-3" and lead[4:] == ["-", "-", "-"]


@pytest.mark.slow
def test_console_script_runs_summarize() -> None:
    script = Path(sys.executable).with_name("rag")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([str(script), "eval", "summarize", str(TINY_SUMMARIES), "--limit", "1", "--json"],
                          capture_output=True, text=True, env=env, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["articles"] == 1
    assert [r["system"] for r in report["rows"]] == ["extractive", "lead-3"]


# -- the citation check itself ----------------------------------------------------------
def test_valid_citations_catches_a_quote_that_is_not_its_span() -> None:
    row = _rows(TINY_QA)[0]
    with temporary_index(Settings()) as index:
        _ingest(index, {row["id"]: row["context"]}, TINY_QA.name)
        answer = index.ask(row["question"])
        assert answer.citations
        for c in answer.citations:
            assert index.document(c.doc_id).text[c.start : c.end] == c.quote
        assert valid_citations(index, answer) == len(answer.citations)
        first = answer.citations[0]
        shifted = dataclasses.replace(first, start=first.start + 1)
        broken = dataclasses.replace(answer, citations=(shifted, *answer.citations[1:]))
        assert valid_citations(index, broken) == len(answer.citations) - 1


# -- seq2seq -------------------------------------------------------------------------
@pytest.mark.slow
def test_qa_runs_with_a_seq2seq_checkpoint(tmp_path: Path, tiny_t5_dir: Path) -> None:
    code, out, err = run_main(["--index-dir", str(tmp_path / "index"), "eval", "qa", str(TINY_QA),
                               "--generator", "seq2seq", "--model", str(tiny_t5_dir), "--max-new-tokens", "12",
                               "--beams", "1", "--json"])
    assert code == 0, err
    report = json.loads(out)
    assert (report["requested_generator"], report["generator"]) == ("seq2seq", "seq2seq")
    assert report["questions"] == 5 and len(report["items"]) == 5
    assert report["scores"]["citation_validity"] in (1.0, None)  # None: the noise cited nothing
    assert sum(i["valid_citations"] for i in report["items"]) == sum(i["citations"] for i in report["items"])
    assert not (tmp_path / "index" / DB_NAME).exists()


# -- bad input --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (['{"id": "a", "context": "Text.", "question": "Q?", "answers": ["Text"]}', "{not json"], ":2: not valid JSON"),
        (['["a", "list"]'], ":1: expected a JSON object"),
        (['{"id": "a", "context": "Text.", "answers": []}'], ":1: field 'question' is missing"),
        (['{"id": "a", "context": "Text.", "question": "Q?", "answers": "Text"}'],
         ":1: field 'answers' must be a list"),
        (['{"id": "a", "context": "Text.", "question": "Q?", "answers": []}'] * 2, ":2: id 'a' repeats line 1"),
        ([""], "holds no items"),
    ],
)
def test_bad_qa_file_is_one_line_naming_file_and_line(tmp_path: Path, lines: list[str], message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out, err = run_main(["--index-dir", str(tmp_path / "index"), "eval", "qa", str(path)])
    assert code == 1 and out == ""
    assert err.startswith(f"rag: {path}") and message in err
    assert len(err.strip().splitlines()) == 1


def test_missing_summary_file_and_bad_limit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_main(["eval", "summarize", str(tmp_path / "nope.jsonl")])
    assert code == 1 and "nope.jsonl: no such file" in err
    with pytest.raises(SystemExit) as raised:
        main(["eval", "summarize", str(TINY_SUMMARIES), "--limit", "0"])
    assert raised.value.code == 2  # a usage error
    assert "--limit" in capsys.readouterr().err


def test_eval_without_a_set_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval"]) == 1
    out = capsys.readouterr().out
    assert "qa" in out and "summarize" in out
