"""How sure an answer is, in the words every front end shows: CLI text, --json, Markdown, the web UI.

A short answer always says "likely" or "uncertain" (never a bare guess), the answer as a whole
says how likely it is to be right, and a citation's support keeps its own meaning: the quote is
verbatim, which says nothing about whether a short answer drawn from it is right. Rendered from
typed Answer records, as the front ends do.
"""

from __future__ import annotations

import pytest

from rag.generation.wording import LIKELY_AT, describe
from rag.render import answer_json, answer_markdown, answer_text
from rag.types import Answer, Citation, Document, Sentence
from rag.web.render import answer_html, sources_html

TEXT = "The farm will supply about 14,000 households, the operator said."
DOC = Document(id="d" * 16, title="Valmora solar", source="valmora.txt", text=TEXT)
CITATION = Citation(1, DOC.id, DOC.title, DOC.source, 1, 0, len(TEXT), TEXT, 1.0)


def answer(short: str | None, short_confidence: float | None, confidence: float | None) -> Answer:
    return Answer(
        text=f"{TEXT} [1]", sentences=(Sentence(TEXT, (1,), True, "answer", 1.0),), citations=(CITATION,),
        generator="extractive", model="sentence-transformers/all-MiniLM-L6-v2", short_answer=short,
        confidence=confidence, short_answer_confidence=short_confidence,
    )


@pytest.mark.parametrize("p,words", [(0.9, "likely"), (LIKELY_AT, "likely"), (0.49, "uncertain"), (0.0, "uncertain"),
                                     (None, "")])
def test_probabilities_in_words(p: float | None, words: str) -> None:
    assert describe(p) == words


@pytest.mark.parametrize("short_confidence,label", [(0.81, "likely"), (0.2, "uncertain"), (None, "uncertain")])
def test_cli_text_labels_every_short_answer(short_confidence: float | None, label: str) -> None:
    out = answer_text(answer("about 14,000", short_confidence, 0.62))
    assert out.splitlines()[0] == f"Short answer ({label}): about 14,000"
    assert "Answer: likely right (0.62)" in out


def test_json_carries_the_numbers_and_their_words() -> None:
    data = answer_json(answer("about 14,000", 0.23456, 0.71))
    assert (data["short_answer_confidence"], data["short_answer_label"]) == (0.2346, "uncertain")
    assert (data["confidence"], data["confidence_label"]) == (0.71, "likely")
    none = answer_json(Answer("t", (), (), "extractive", "m"))
    assert none["confidence"] is None and none["confidence_label"] == "" and none["short_answer_label"] == ""


def test_markdown_download_labels_the_short_answer() -> None:
    out = answer_markdown(answer("about 14,000", 0.3, 0.4), "Ask: households")
    assert "Short answer (uncertain): about 14,000" in out and "Answer: uncertain (0.40)" in out


def test_web_ui_marks_a_guess_and_never_shows_support_one_beside_it() -> None:
    guess = answer("about 14,000", 0.2, 0.55)
    out = answer_html(guess, "ask")
    assert '<p class="rag-short rag-uncertain">' in out and ">uncertain</span> about 14,000" in out
    assert "Answer: likely right (0.55)" in out
    cards = sources_html(guess, {DOC.id: DOC}, "ask")
    assert "verbatim quote" in cards and "support 1.00" not in cards
    sure = answer_html(answer("about 14,000", 0.9, 0.9), "ask")
    assert '<p class="rag-short rag-likely">' in sure and ">likely</span>" in sure


def test_abstentions_and_briefings_claim_no_confidence() -> None:
    declined = Answer("The articles do not answer this question.", (), (), "extractive", "m", abstained=True)
    assert "Answer:" not in answer_text(declined) and "Short answer" not in answer_text(declined)
    assert "rag-answer-confidence" not in answer_html(declined, "ask")
