"""Tests for rag/evaluation/metrics.py, plus sanity checks of the eval set and fixtures.

Every expected number below was worked out by hand; the comments show the work.
"""

from __future__ import annotations

import doctest
import html
import json
import re
from pathlib import Path

import pypdf
import pytest

from rag.evaluation import metrics
from rag.evaluation.metrics import (
    contains_answer,
    exact_match,
    lead_n,
    mean,
    normalize_answer,
    percentile,
    recall_at_k,
    rouge_scores,
    token_f1,
)
from rag.sentences import split_sentences

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
EVAL_QA = ROOT / "eval" / "qa.jsonl"
EVAL_SUMMARIES = ROOT / "eval" / "summaries.jsonl"
TINY_QA = DATA / "eval_tiny_qa.jsonl"
TINY_SUMMARIES = DATA / "eval_tiny_summaries.jsonl"


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def test_docstring_examples_hold() -> None:
    result = doctest.testmod(metrics)
    assert result.attempted >= 15
    assert result.failed == 0


# --- SQuAD normalization, EM, F1 -------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("The Cat", "cat"),
        ("  hello,   world!! ", "hello world"),
        ("an Apple a day", "apple day"),
        ("theatre another", "theatre another"),  # articles only as whole words
        ("U.S.A.", "usa"),
        ("twenty-one", "twentyone"),  # punctuation is deleted, not replaced by a space
        ("Ms. O'Neil's", "ms oneils"),
        ("A", ""),
    ],
)
def test_normalize_answer_matches_squad(raw: str, normalized: str) -> None:
    assert normalize_answer(raw) == normalized


def test_exact_match_normalizes_and_takes_any_gold() -> None:
    assert exact_match("Paris", ["paris."]) == 1.0
    assert exact_match("the Paris", ["London", "Paris"]) == 1.0
    assert exact_match("Paris France", ["Paris"]) == 0.0
    assert exact_match("Paris", []) == 0.0
    assert exact_match("", []) == 0.0


def test_token_f1_partial_overlap_by_hand() -> None:
    # pred "big red dog" (3 tokens), gold "red dog barked" (3): common 2 -> P = R = 2/3, F1 = 2/3.
    assert token_f1("the big red dog", ["a red dog barked"]) == pytest.approx(2 / 3)
    # pred 5 tokens, gold 2, common 2: P = 2/5, R = 1, F1 = 2 * 0.4 / 1.4 = 4/7.
    assert token_f1("about 80,000 people in valley", ["80,000 people"]) == pytest.approx(4 / 7)


def test_token_f1_counts_repeats_once_and_takes_best_gold() -> None:
    # "dog dog dog" vs "dog": common 1 -> P = 1/3, R = 1, F1 = 0.5.
    assert token_f1("dog dog dog", ["dog"]) == pytest.approx(0.5)
    assert token_f1("red dog", ["cat", "red dog"]) == 1.0
    assert token_f1("", ["red dog"]) == 0.0
    assert token_f1("red dog", []) == 0.0


def test_contains_answer_uses_whole_normalized_words() -> None:
    assert contains_answer("Drivers face a fine of 80 Euros.", ["80 euros"])
    assert contains_answer("It was built in 1968", ["nope", "1968"])
    assert not contains_answer("It cost 180 euros.", ["80 euros"])
    assert not contains_answer("Anything at all", [])
    assert not contains_answer("The answer", ["the"])  # normalizes to nothing


# --- Retrieval -------------------------------------------------------------------


def test_recall_at_k_for_one_query() -> None:
    flags = [False, True, False]
    assert recall_at_k(flags, 1) == 0.0
    assert recall_at_k(flags, 2) == 1.0
    assert recall_at_k(flags, 10) == 1.0  # k beyond the list looks at everything
    assert recall_at_k([], 5) == 0.0
    with pytest.raises(ValueError, match="k >= 1"):
        recall_at_k(flags, 0)


def test_mean_of_per_query_recalls() -> None:
    queries = [[True], [False, True], [False, False], [False, False, True]]
    # k=2: hits for queries 1 and 2 only -> 2/4.
    assert mean([recall_at_k(q, 2) for q in queries]) == 0.5
    assert mean([]) == 0.0


# --- Lead-n baseline -------------------------------------------------------------


def test_lead_n_skips_headline_and_joins_with_newlines() -> None:
    text = "Bridge Reopens\n\nThe bridge opened on Monday. Cars returned. Mr. Lee cheered. Shops too"
    # The headline is short and has no final punctuation, so it is skipped.
    assert lead_n(text, 3) == "The bridge opened on Monday.\nCars returned.\nMr. Lee cheered."
    assert lead_n(text, 10).count("\n") == 3  # all four sentences, no headline


def test_lead_n_keeps_a_first_line_that_is_a_sentence() -> None:
    text = "The bridge opened. Cars returned.\nShops cheered."
    assert lead_n(text, 2) == "The bridge opened.\nCars returned."
    quoted = 'He said "we are open."\nCars returned.'
    assert lead_n(quoted, 1) == 'He said "we are open."'


def test_lead_n_keeps_a_long_unpunctuated_first_line() -> None:
    long_line = "word " * 40  # 200 characters: too long to be a headline
    text = long_line + "\nSecond line."
    assert lead_n(text, 1) == long_line.strip()
    with pytest.raises(ValueError):
        lead_n(text, 0)


def test_lead_n_on_an_eval_article_returns_exact_sentences() -> None:
    article = _rows(EVAL_SUMMARIES)[0]["article"]
    lead = lead_n(article)
    lines = lead.split("\n")
    assert len(lines) == 3
    assert all(line in article for line in lines)
    assert article.split("\n", 1)[0] not in lead


# --- ROUGE -----------------------------------------------------------------------


def test_rouge_identical_and_disjoint() -> None:
    text = "The council approved the plan. Shops objected."
    assert rouge_scores(text, text) == {"rouge1": 1.0, "rouge2": 1.0, "rougeLsum": 1.0}
    assert rouge_scores("Dogs bark loudly.", "Fish swim quietly.") == {
        "rouge1": 0.0,
        "rouge2": 0.0,
        "rougeLsum": 0.0,
    }
    assert rouge_scores("", text)["rouge1"] == 0.0


def test_rouge_partial_overlap_by_hand() -> None:
    # Tokens: the cat sat on the mat / the cat lay on the mat.
    # Unigrams shared: the x2, cat, on, mat = 5 of 6 each side -> F = 5/6.
    # Bigrams shared: "the cat", "on the", "the mat" = 3 of 5 -> F = 3/5.
    # LCS: the cat on the mat = 5 of 6 -> F = 5/6.
    scores = rouge_scores("The cat sat on the mat.", "The cat lay on the mat.")
    assert scores["rouge1"] == pytest.approx(5 / 6)
    assert scores["rouge2"] == pytest.approx(3 / 5)
    assert scores["rougeLsum"] == pytest.approx(5 / 6)


def test_rouge_lsum_compares_sentence_by_sentence() -> None:
    # Swapped sentences: a plain LCS over all tokens finds only 3 of 6 in order,
    # the per-sentence union LCS finds all 6, so Lsum = 1.0 shows sentences were split.
    prediction = "Wages fell again. Prices rose sharply."
    reference = "Prices rose sharply. Wages fell again."
    scores = rouge_scores(prediction, reference)
    assert scores["rougeLsum"] == pytest.approx(1.0)
    assert scores["rouge2"] < 1.0  # "sharply wages" vs "again prices" differ


# --- Percentile ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "p", "expected"),
    [
        ([1.0, 2.0, 3.0, 4.0], 50, 2.5),  # rank 1.5 -> halfway between 2 and 3
        ([1.0, 2.0, 3.0, 4.0], 0, 1.0),
        ([1.0, 2.0, 3.0, 4.0], 100, 4.0),
        ([10.0, 20.0, 30.0], 90, 28.0),  # rank 1.8 -> 20 + 0.8 * 10
        ([30.0, 10.0, 20.0], 50, 20.0),  # input order does not matter
        ([5.0], 73, 5.0),
        ([0.1, 0.2, 0.4, 0.8, 1.6], 95, 1.44),  # rank 3.8 -> 0.8 + 0.8 * 0.8
    ],
)
def test_percentile_interpolates_like_numpy(values: list[float], p: float, expected: float) -> None:
    assert percentile(values, p) == pytest.approx(expected)


def test_percentile_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="at least one"):
        percentile([], 50)
    with pytest.raises(ValueError, match="between 0 and 100"):
        percentile([1.0], 101)


# --- The eval set ----------------------------------------------------------------


@pytest.mark.parametrize("path", [EVAL_QA, TINY_QA], ids=["eval", "tiny"])
def test_qa_answers_are_substrings_of_context_and_ids_unique(path: Path) -> None:
    rows = _rows(path)
    ids = [row["id"] for row in rows]
    assert len(ids) == len(set(ids))
    for row in rows:
        assert set(row) == {"id", "context", "question", "answers"}
        assert row["question"].strip().endswith("?")
        assert len(row["answers"]) <= 3
        for answer in row["answers"]:
            assert answer and answer in row["context"], (row["id"], answer)


def test_eval_qa_counts() -> None:
    rows = _rows(EVAL_QA)
    answerable = [row for row in rows if row["answers"]]
    unanswerable = [row for row in rows if not row["answers"]]
    assert len(answerable) >= 30
    assert len(unanswerable) >= 5
    assert len({row["context"] for row in rows}) == 10


def test_eval_summaries_cover_the_qa_articles() -> None:
    rows = _rows(EVAL_SUMMARIES)
    assert len({row["id"] for row in rows}) == len(rows) == 10
    assert {row["article"] for row in rows} == {row["context"] for row in _rows(EVAL_QA)}
    for row in rows:
        assert 250 <= len(row["article"].split()) <= 450, row["id"]
        assert 2 <= len(split_sentences(row["reference"])) <= 4, row["id"]
        headline = row["article"].split("\n", 1)[0]
        assert headline not in lead_n(row["article"]), row["id"]


def test_tiny_sets_are_built_from_the_fixture_articles() -> None:
    fixtures = {p.read_text(encoding="utf-8").rstrip("\n") for p in DATA.glob("*.txt")}
    qa = _rows(TINY_QA)
    summaries = _rows(TINY_SUMMARIES)
    assert len(qa) == 5 and sum(1 for row in qa if not row["answers"]) == 1
    assert len({row["context"] for row in qa}) == 3
    assert len(summaries) == 2
    assert {row["context"] for row in qa} <= fixtures
    assert {row["article"] for row in summaries} <= fixtures


# --- Fixture articles and FACTS.md -----------------------------------------------


def _facts() -> dict[str, list[tuple[str, str]]]:
    """FACTS.md as {file: [(question, sentence), ...]}, unrelated questions under "?"."""
    facts: dict[str, list[tuple[str, str]]] = {}
    current, question = "", ""
    for line in (DATA / "FACTS.md").read_text(encoding="utf-8").splitlines():
        if heading := re.match(r"## (\S+)$", line):
            current = heading.group(1)
            facts[current] = []
        elif q := re.match(r"- Q: (.+)$", line):
            question = q.group(1)
        elif s := re.match(r"\s+Sentence: (.+)$", line):
            facts[current].append((question, s.group(1)))
        elif u := re.match(r"- Unrelated: (.+)$", line):
            facts[current].append(("?", u.group(1)))
    return facts


def _pdf_pages() -> list[str]:
    reader = pypdf.PdfReader(DATA / "two_pages.pdf")
    return [" ".join(page.extract_text().split()) for page in reader.pages]


def test_facts_cover_every_fixture_with_an_unrelated_question() -> None:
    facts = _facts()
    suffixes = {".txt", ".md", ".html", ".pdf"}
    fixtures = {p.name for p in DATA.iterdir() if p.suffix in suffixes and p.name != "FACTS.md"}
    assert set(facts) == fixtures
    for name, items in facts.items():
        assert sum(1 for q, _ in items if q != "?") >= 2, name
        assert sum(1 for q, _ in items if q == "?") == 1, name


def test_fact_sentences_are_single_sentences_of_their_fixture() -> None:
    for name, items in _facts().items():
        if name.endswith(".pdf"):
            continue
        text = (DATA / name).read_text(encoding="utf-8")
        if name.endswith(".html"):  # each tag ends a line, as a block element would
            text = html.unescape(re.sub(r"<[^>]+>", "\n", text))
        sentences = {text[s:e] for s, e in split_sentences(text)}
        for question, sentence in items:
            if question != "?":
                assert sentence in sentences, (name, sentence)


def test_text_fixtures_have_a_headline_and_fit_the_length() -> None:
    for path in DATA.glob("*.txt"):
        text = path.read_text(encoding="utf-8")
        headline = text.split("\n", 1)[0]
        assert headline and not headline.endswith((".", "!", "?")), path.name
        assert 200 <= len(text.split()) <= 400, path.name


def test_pdf_has_two_pages_of_extractable_text_with_their_facts() -> None:
    pages = _pdf_pages()
    assert len(pages) == 2
    for question, sentence in _facts()["two_pages.pdf"]:
        if page := re.search(r"\(page (\d)\)$", question):
            index = int(page.group(1)) - 1
            assert sentence in pages[index], sentence
            assert sentence not in pages[1 - index]


def test_html_fixture_has_boilerplate_script_and_escaped_script_text() -> None:
    page = (DATA / "library_news.html").read_text(encoding="utf-8")
    body = page[page.index("<article") : page.index("</article>")]
    assert "<title>Central Library to Open on Sundays After Record Year" in page
    assert "<script" in body  # a real script inside the article body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body  # shown as text
    for boilerplate in ("<nav", "<header", "<footer", "Accept all cookies", "ADVERTISEMENT"):
        assert boilerplate in page
    assert body.count("<p>") >= 6
