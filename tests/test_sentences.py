"""Sentence splitting on news prose: abbreviations, quotes, decimals, line breaks."""

from __future__ import annotations

from rag.sentences import split_paragraphs, split_sentences


def texts(text: str) -> list[str]:
    spans = split_sentences(text)
    for s, e in spans:
        assert text[s:e] == text[s:e].strip()
    return [text[s:e] for s, e in spans]


def test_abbreviations_initials_and_decimals_do_not_end_sentences():
    text = "U.S. President Donald Trump met Mr. Rutte. Growth was 3.5% in Jan. 2024, said J. Smith. Done."
    assert texts(text) == [
        "U.S. President Donald Trump met Mr. Rutte.",
        "Growth was 3.5% in Jan. 2024, said J. Smith.",
        "Done.",
    ]


def test_closing_quotes_stay_with_their_sentence():
    text = '"We must act," he said. "Now." She left! Why? Because.'
    assert texts(text) == ['"We must act," he said.', '"Now."', "She left!", "Why?", "Because."]


def test_lowercase_continuation_is_not_a_boundary():
    assert texts("The figure was approx. five times higher. Next.") == [
        "The figure was approx. five times higher.",
        "Next.",
    ]


def test_line_breaks_are_boundaries_and_paragraphs():
    text = "Headline without a stop\n\nFirst para. Second sentence.\nLine two"
    assert texts(text) == ["Headline without a stop", "First para.", "Second sentence.", "Line two"]
    assert [text[s:e] for s, e in split_paragraphs(text)] == [
        "Headline without a stop",
        "First para. Second sentence.",
        "Line two",
    ]


def test_subrange_offsets_are_absolute():
    text = "Zero. One two. Three four five."
    spans = split_sentences(text, 6, len(text))
    assert [text[s:e] for s, e in spans] == ["One two.", "Three four five."]
    assert spans[0][0] == 6
