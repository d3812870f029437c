"""PDF reading is bounded page by page: operators per page and per file, time, extracted text.

The hostile PDFs of the adversarial round are built here from raw bytes
(tests/pdf_bytes.py): one page of 400,000 ``Tj`` operators in a few KB, 20
pages sharing one such stream, a form XObject drawn over and over, and long
documents that pass the extracted-text limit early. Tests that need many
heavy pages lower the limits (module attributes of rag/ingest/limits.py, read
at call time) so they stay quick; the 400,000-operator cases use the real ones.
Where a test compares work, it does so as a ratio of CPU time in one run.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from pdf_bytes import build_pdf, show_text_stream, text_page_stream
from rag.chunking import chunk_document
from rag.errors import BadInputError
from rag.ingest import limits, load_paths, read_file

HEAVY = show_text_stream(400_000, word=b"(a) Tj ", per_line=10**9)
LINES = [f"Line {n} of the council report says the budget passed on Monday." for n in range(30)]


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _cpu_seconds(path: Path) -> float:
    start = time.thread_time()
    load_paths([str(path)])
    return time.thread_time() - start


def test_one_page_of_400000_operators_is_left_out_not_read(tmp_path: Path) -> None:
    path = _write(tmp_path, "heavy.pdf", build_pdf([HEAVY]))
    assert path.stat().st_size < 10_000
    with pytest.raises(BadInputError) as caught:
        read_file(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: no readable text") and "more than 50,000 drawing operators" in message


def test_twenty_pages_sharing_one_heavy_stream_cost_about_one(tmp_path: Path) -> None:
    one = _write(tmp_path, "one.pdf", build_pdf([HEAVY]))
    twenty = _write(tmp_path, "twenty.pdf", build_pdf([HEAVY], pages=[0] * 20))
    result = load_paths([str(twenty)])
    assert not result.documents and "pages 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 and 10 more" in str(result.problems[0])
    ratio = min(_cpu_seconds(twenty) for _ in range(2)) / min(_cpu_seconds(one) for _ in range(2))
    assert ratio < 3  # the shared stream is given up on once, not parsed 20 times


def test_heavy_pages_are_left_out_with_a_note_and_the_rest_is_exact(tmp_path: Path) -> None:
    light = text_page_stream(LINES[:5])
    path = _write(tmp_path, "mixed.pdf", build_pdf([light, HEAVY, text_page_stream(LINES[5:9])], pages=[0, 1, 2, 1]))
    result = load_paths([str(path)])
    (document,) = result.documents
    assert [span.page for span in document.pages] == [1, 3]
    assert document.metadata["skipped_pages"] == [2, 4]
    assert result.notes == [
        f"{path}: page(s) 2, 4 left out: each holds more than 50,000 drawing operators, or a drawing too damaged "
        f"to read (a map, a chart or a damaged page)"
    ]
    for span in document.pages:
        assert "Line" in document.text[span.start : span.end]
    for chunk in chunk_document(document, 120, 30):
        assert document.text[chunk.start : chunk.end] == chunk.text and chunk.page in (1, 3)


def test_a_form_drawn_over_and_over_counts_against_its_page(tmp_path: Path) -> None:
    form = text_page_stream(["A line drawn by a form."] * 20)
    page = b"/X0 Do\n" * 5_000
    path = _write(tmp_path, "forms.pdf", build_pdf([text_page_stream(LINES[:3]), page], forms=[form]))
    result = load_paths([str(path)])
    (document,) = result.documents
    assert document.metadata["skipped_pages"] == [2] and "Line 0" in document.text
    assert "A line drawn by a form" not in document.text


def test_a_form_too_big_to_parse_makes_its_page_heavy_at_once(tmp_path: Path) -> None:
    page = b"/X0 Do\n" * 50
    path = _write(tmp_path, "bigform.pdf", build_pdf([text_page_stream(LINES[:3]), page], forms=[HEAVY]))
    (document,) = load_paths([str(path)]).documents
    assert document.metadata["skipped_pages"] == [2]


def test_extracted_text_limit_is_checked_page_by_page(tmp_path: Path) -> None:
    page = text_page_stream(LINES)  # about 2,000 characters a page
    path = _write(tmp_path, "long.pdf", build_pdf([page], pages=[0] * 200))
    limit = r"long\.pdf: the extracted text passes the 0\.0 MB \(10,000 characters\) limit for one article at page 6;"
    with pytest.raises(BadInputError, match=limit):
        read_file(path, max_bytes=10_000)
    (document,) = load_paths([str(path)]).documents  # the default limit takes all 200 pages
    assert [span.page for span in document.pages] == list(range(1, 201))


def test_operators_per_file_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_PDF_PAGE_OPERATORS", 2_000)
    monkeypatch.setattr(limits, "MAX_PDF_OPERATORS", 10_000)
    streams = [show_text_stream(3_000 + n) for n in range(12)]  # twelve distinct heavy pages
    path = _write(tmp_path, "many.pdf", build_pdf([text_page_stream(LINES[:2]), *streams]))
    with pytest.raises(BadInputError) as caught:
        read_file(path)
    assert str(caught.value) == (
        f"{path}: the PDF holds more drawing instructions than rag reads in one file (10,000 operators or "
        f"60 seconds, reached at page 6); split it, or save its text as .txt"
    )


def test_reading_time_has_a_backstop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_PDF_SECONDS", 0.0)
    path = _write(tmp_path, "slow.pdf", build_pdf([text_page_stream(LINES[:2])] * 3))
    with pytest.raises(BadInputError, match=r"slow\.pdf: .*\(1,000,000 operators or 0 seconds, reached at page 1\)"):
        read_file(path)


def test_the_limits_are_stated_for_the_help() -> None:
    text = limits.limits_help(5_000_000)
    assert "at most 5.0 MB (a PDF 50.0 MB on disk)" in text
    assert f"more than {limits.MAX_PDF_PAGE_OPERATORS:,} drawing operators" in text
    assert f"more than {limits.MAX_HTML_DEPTH:,} levels deep" in text
