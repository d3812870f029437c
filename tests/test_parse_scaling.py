"""Linear time: 4x the input takes about 4x the time (at most 7x allowed for noise), for every parser on hostile input.

Each check times the same function on an input of N and 4N characters in one
run, interleaved, in CPU time of the thread (so waiting for a busy machine's
cores does not count), takes the best of several repetitions of each with the
garbage collector off, and compares the ratio, not the times. A quadratic path gives about 16x. The inputs are
the ones an adversarial round found slow (one-line prose, ``" *a" * N``,
unclosed ``<!--`` and ``[a](``, blank lines) and runs of each delimiter;
sizes are chosen so the small input takes milliseconds now (and the large one
seconds before the fix).
"""

from __future__ import annotations

import gc
import time
from typing import Callable

import pytest

from conftest import DATA
from rag.chunking import chunk_spans
from rag.ingest.markdown import strip_markdown
from rag.sentences import split_sentences

# 4x the input: linear is 4x; quadratic is 16x. Linear paths measured 4.0-6.1 on a loaded
# 2-core machine (caches and clock changes that CPU time does not hide), so allow up to 7x.
MAX_GROWTH = 7.0
REPEATS = 7
PROSE = " ".join((DATA / "ferry_strike.txt").read_text(encoding="utf-8").split()) + " "


def _seconds(fn: Callable[[str], object], text: str) -> float:
    """CPU seconds of this thread: time spent waiting for a busy machine's cores is not counted."""
    start = time.thread_time()
    fn(text)
    return time.thread_time() - start


def growth(fn: Callable[[str], object], unit: str, chars: int) -> float:
    """Best time on ``4 * chars`` characters of ``unit`` repeated over best time on ``chars``."""
    small = (unit * (chars // len(unit) + 1))[:chars]
    large = (unit * (4 * chars // len(unit) + 1))[: 4 * chars]
    best_small = best_large = float("inf")
    gc_was_on = gc.isenabled()
    gc.disable()
    try:
        for _ in range(REPEATS):
            best_small = min(best_small, _seconds(fn, small))
            best_large = min(best_large, _seconds(fn, large))
    finally:
        if gc_was_on:
            gc.enable()
    return best_large / best_small


SENTENCE_INPUTS = {
    "one-line prose": (PROSE, 40_000),
    "initials": ("A. ", 20_000),
    "abbreviations": ("Mr. Dr. ", 20_000),
    "a run of dots": (".", 100_000),
    "dots without spaces": ("x.", 50_000),
    "quotes after ends": ('end." "Next', 30_000),
}
MARKDOWN_INPUTS = {
    "prose": (PROSE, 100_000),
    "unmatched stars": (" *a", 30_000),
    "unclosed comments": ("<!--", 30_000),
    "unclosed links": ("[a](", 30_000),
    "unclosed images": ("![a](", 30_000),
    "open brackets": ("[", 30_000),
    "unmatched bold": ("**a", 30_000),
    "unmatched underscores": ("__a", 30_000),
    "blank lines": ("\n", 30_000),
    "blank lines with spaces": ("\n \n", 30_000),
    "unmatched backticks": ("`a", 30_000),
}
CHUNK_INPUTS = {
    "one-line prose": (PROSE, 40_000),
    "one long word": ("a", 100_000),
    "tiny sentences": ("A. ", 20_000),
    "paragraph per sentence": ("One sentence here.\n\n", 20_000),
}


@pytest.mark.parametrize("unit,chars", SENTENCE_INPUTS.values(), ids=SENTENCE_INPUTS.keys())
def test_sentence_splitting_is_linear(unit: str, chars: int) -> None:
    assert growth(split_sentences, unit, chars) < MAX_GROWTH


@pytest.mark.parametrize("unit,chars", MARKDOWN_INPUTS.values(), ids=MARKDOWN_INPUTS.keys())
def test_markdown_stripping_is_linear(unit: str, chars: int) -> None:
    assert growth(strip_markdown, unit, chars) < MAX_GROWTH


@pytest.mark.parametrize("unit,chars", CHUNK_INPUTS.values(), ids=CHUNK_INPUTS.keys())
def test_chunking_is_linear(unit: str, chars: int) -> None:
    assert growth(chunk_spans, unit, chars) < MAX_GROWTH


def test_a_one_line_article_is_cut_at_its_sentences() -> None:
    text = PROSE * 30
    sentences = split_sentences(text)
    assert len(sentences) > 30 and all(text[s:e].strip() == text[s:e] for s, e in sentences)
    ends = {e for _, e in sentences}
    spans = chunk_spans(text, max_chars=400, overlap_chars=100)
    assert spans[0][0] == 0 and spans[-1][1] == len(text.rstrip())
    assert all(0 < end - start <= 400 for start, end in spans)
    assert all(a[0] < b[0] and not text[a[1] : b[0]].strip() for a, b in zip(spans, spans[1:], strict=False))
    assert sum(end in ends for _, end in spans) >= 0.9 * len(spans)  # chunks end where sentences do


def test_markdown_rules_still_strip_what_they_did() -> None:
    text = (
        "# Title\n\nSome **bold**, *em*, __strong__ and `code`.\n\n- item one\n> quoted\n\n"
        "[link](http://x/a_(b)) ![img](http://x/p.png) <!-- note --> ---\n***\n"
    )
    assert strip_markdown(text) == (
        "Title\n\nSome bold, em, strong and code.\n\nitem one\nquoted\n\nlink   ---\n\n"
    )
