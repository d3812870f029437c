"""Readers: text encodings, markdown, HTML, PDF (wrapped lines, pages), stdin and folders.

Files are real files written in tmp_path (PDFs by hand, as PDF syntax, so no
PDF-writing library is needed); the committed fixtures are in tests/data.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from conftest import DATA, parse_facts
from rag.errors import BadInputError
from rag.ingest import MAX_FILE_BYTES, load_paths, read_file
from rag.ingest.html import read_html
from rag.ingest.pdf import join_wrapped_lines, read_pdf
from rag.ingest.identity import document_id
from rag.ingest.text import decode_bytes, looks_binary
from rag.sentences import split_sentences


def write_pdf(path: Path, pages: list[list[str]]) -> Path:
    """A minimal valid PDF: one Helvetica text line per entry of each page's list."""

    def escape(line: str) -> str:
        return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    objects = {1: b"<< /Type /Catalog /Pages 2 0 R >>", 3: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"}
    kids = []
    for n, lines in enumerate(pages):
        page, content = 4 + 2 * n, 5 + 2 * n
        ops = " ".join(f"({escape(line)}) Tj T*" for line in lines)
        stream = f"BT /F1 11 Tf 14 TL 72 760 Td {ops} ET".encode("latin-1")
        objects[page] = (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {content} 0 R >>"
        ).encode()
        objects[content] = b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream)
        kids.append(f"{page} 0 R")
    objects[2] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>".encode()
    out, offsets = bytearray(b"%PDF-1.4\n"), {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (number, objects[number])
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offsets[n] for n in sorted(objects))
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))
    return path


def facts_for(name: str) -> list[dict]:
    return [f for f in parse_facts() if f["file"] == name and "sentence" in f]


# ---- plain text and encodings ---------------------------------------------------------------
def test_text_file_is_read_exactly() -> None:
    path = DATA / "bridge_reopens.txt"
    doc = read_file(path)
    assert doc.text == path.read_text(encoding="utf-8").replace("\r\n", "\n")
    assert doc.source == os.path.realpath(path) and doc.id == document_id(doc.source, doc.text)
    assert doc.title.startswith("Kessel Bridge") and doc.metadata == {}


@pytest.mark.parametrize(
    ("data", "text", "meta"),
    [
        ("Café au lait in Zürich.".encode("utf-8"), "Café au lait in Zürich.", {}),
        (b"\xef\xbb\xbfWith a BOM.", "With a BOM.", {}),
        ("Café au lait in Zürich.".encode("latin-1"), "Café au lait in Zürich.", {"encoding": "cp1252"}),
        ("“Quoted” – dash".encode("cp1252"), "“Quoted” – dash", {"encoding": "cp1252"}),
        (
            b"caf\xc3\xa9 " * 30 + b"bad \xff byte",
            "café " * 30 + "bad \ufffd byte",
            {"encoding": "utf-8", "replaced_bytes": 1},
        ),
        ("Zürich in UTF-16.".encode("utf-16"), "Zürich in UTF-16.", {"encoding": "utf-16"}),
        (b"\x81\x8d odd", "\x81\x8d odd", {"encoding": "latin-1"}),
    ],
)
def test_decoding_is_sensible_and_recorded(data: bytes, text: str, meta: dict) -> None:
    assert decode_bytes(data, "x.txt") == (text, meta)


def test_binary_data_is_told_apart_from_text() -> None:
    assert looks_binary(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert looks_binary(bytes(range(1, 32)) * 20)  # control bytes without any NUL
    assert not looks_binary("Ordinary words, tabs\tand\nnewlines; café.".encode("utf-8"))
    assert not looks_binary("UTF-16 has NUL bytes".encode("utf-16"))
    with pytest.raises(BadInputError, match=r"x\.txt: looks like a binary file"):
        decode_bytes(b"PK\x03\x04\x14\x00\x00\x00", "x.txt")


def test_non_utf8_files_get_a_note_naming_file_and_encoding(tmp_path: Path) -> None:
    latin = tmp_path / "latin.txt"
    latin.write_bytes("Der Bürgermeister eröffnete die Brücke.".encode("latin-1"))
    clean = tmp_path / "clean.txt"
    clean.write_text("Plain UTF-8 text about a bridge.", encoding="utf-8")
    result = load_paths([str(latin), str(clean)])
    texts = [d.text for d in result.documents]
    assert texts == ["Der Bürgermeister eröffnete die Brücke.", "Plain UTF-8 text about a bridge."]
    assert len(result.notes) == 1 and result.notes[0].startswith(f"{latin}: not UTF-8, read as Windows-1252")
    assert "re-save the file as UTF-8" in result.notes[0] and not result.problems


# ---- markdown and HTML --------------------------------------------------------------------------
def test_markdown_loses_markup_and_keeps_fact_sentences() -> None:
    doc = read_file(DATA / "marathon_guide.md")
    for fact in facts_for("marathon_guide.md"):
        assert fact["sentence"] in doc.text
    assert "**" not in doc.text and "](" not in doc.text and not doc.text.lstrip().startswith("#")


def test_html_keeps_the_article_and_drops_the_furniture() -> None:
    doc = read_file(DATA / "library_news.html")
    assert doc.title == "Central Library to Open on Sundays After Record Year"
    for fact in facts_for("library_news.html"):
        assert fact["sentence"] in doc.text
    assert "<script>alert(1)</script>" in doc.text
    junk = ("Accept all cookies", "Grove Furniture", "Fast Flow Plumbing", "adSlot", "Sponsored", "All rights reserved")
    assert not [j for j in junk if j in doc.text]


def test_html_fragment_without_html_tag_is_read(tmp_path: Path) -> None:
    path = tmp_path / "fragment.html"
    path.write_text(
        "<h1>Budget passes</h1><p>The council approved the budget on Monday after a long debate about "
        "road repairs and school funding.</p><p>The vote was 7 to 2.</p>",
        encoding="utf-8",
    )
    doc = read_html(path)
    assert "The council approved the budget on Monday" in doc.text and "<p>" not in doc.text


@pytest.mark.parametrize(
    "body",
    [
        (
            "<script>document.write('Breaking news')</script><nav><a href='/'>Home</a> | <a href='/a'>About</a></nav>"
            "<footer>(c) Example News. All rights reserved.</footer>"
        ),
        (
            "<script src='app.js'></script><noscript>Please enable JavaScript to view this page.</noscript>"
            "<div id='app'></div>"
        ),
    ],
)
def test_html_with_scripts_and_no_article_body_is_refused(tmp_path: Path, body: str) -> None:
    path = tmp_path / "app.html"
    path.write_text(f"<html><head><title>News</title><script>var t = 1;</script></head><body>{body}</body></html>")
    with pytest.raises(BadInputError, match=r"app\.html: no article text found in the HTML"):
        read_html(path)


# ---- PDF ------------------------------------------------------------------------------------------
def test_wrapped_lines_are_joined_and_real_breaks_kept() -> None:
    text = (
        "Annual Report\n"
        "Water use fell by a quar-\nter this year, Mr.\nQuinn told the board on a\nrainy Monday evening.\n"
        "Prices rise in April, e.g.\nfor households, by a small\namount.\n"
        "\n"
        "Plans for next year:\n• a new plant at Elm Ford\n• more pipes"
    )
    assert join_wrapped_lines(text) == (
        "Annual Report\n"
        "Water use fell by a quarter this year, Mr. Quinn told the board on a rainy Monday evening.\n"
        "Prices rise in April, e.g. for households, by a small amount.\n"
        "\n"
        "Plans for next year:\n• a new plant at Elm Ford\n• more pipes"
    )


def test_pdf_fact_sentences_are_whole_and_on_their_page() -> None:
    doc = read_pdf(DATA / "two_pages.pdf")
    assert doc.title == "Millbrook Water Board Annual Report"
    sentences = {doc.text[s:e] for s, e in split_sentences(doc.text)}
    facts = facts_for("two_pages.pdf")
    assert len(facts) == 4
    for fact in facts:
        start = doc.text.index(fact["sentence"])  # exact: no line break left inside
        assert doc.page_at(start) == fact["page"] == doc.page_at(start + len(fact["sentence"]) - 1)
        assert fact["sentence"] in sentences


def test_pdf_page_spans_are_exact(tmp_path: Path) -> None:
    path = write_pdf(
        tmp_path / "council.pdf",
        [
            ["Council Report", "The council agreed an exam-", "ple budget for the town on", "Monday, officials said."],
            [],  # a page without text
            ["Roads come first, the mayor", "said on Tuesday."],
        ],
    )
    doc = read_pdf(path)
    page1 = "Council Report\nThe council agreed an example budget for the town on Monday, officials said."
    page3 = "Roads come first, the mayor said on Tuesday."
    assert doc.text == f"{page1}\n\n{page3}"
    assert [(p.page, doc.text[p.start : p.end]) for p in doc.pages] == [(1, page1), (3, page3)]
    assert doc.page_at(doc.text.index("example")) == 1 and doc.page_at(doc.text.index("mayor")) == 3


# ---- stdin, folders, limits -----------------------------------------------------------------------
def test_stdin_text_and_bytes() -> None:
    from_text = load_paths(["-"], stdin=io.StringIO("A note from stdin. The meeting moved to Thursday."))
    assert from_text.documents[0].source == "stdin" and from_text.documents[0].text.startswith("A note")
    raw = io.TextIOWrapper(io.BytesIO("Grüße aus München.".encode("latin-1")), encoding="utf-8")
    from_bytes = load_paths(["-"], stdin=raw)
    assert from_bytes.documents[0].text == "Grüße aus München."
    assert from_bytes.notes and from_bytes.notes[0].startswith("stdin: not UTF-8")
    missing = load_paths(["-"], stdin=None)
    assert not missing.documents and "no standard input" in str(missing.problems[0])
    big = load_paths(["-"], stdin=io.TextIOWrapper(io.BytesIO(b"word " * 100), encoding="utf-8"), max_bytes=100)
    assert not big.documents and "standard input" in str(big.problems[0]) and "over the" in str(big.problems[0])


def test_folders_are_walked_in_order_skipping_hidden_and_reporting_the_rest(tmp_path: Path) -> None:
    (tmp_path / "b" / "deep").mkdir(parents=True)
    (tmp_path / ".git").mkdir()
    (tmp_path / "a.txt").write_text("First article. It is short.")
    (tmp_path / "b" / "deep" / "c.md").write_text("# Third\n\nThird article.")
    (tmp_path / "b" / "b.txt").write_text("Second article.")
    (tmp_path / ".hidden.txt").write_text("Hidden article.")
    (tmp_path / ".git" / "config.txt").write_text("Not an article.")
    (tmp_path / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF")
    result = load_paths([str(tmp_path)])
    assert [Path(d.source).name for d in result.documents] == ["a.txt", "b.txt", "c.md"]
    expected = f"{tmp_path / 'photo.jpg'}: unsupported file type '.jpg'; use one of "
    assert [str(p) for p in result.problems] == [expected + ".htm, .html, .markdown, .md, .pdf, .text, .txt"]


def test_symlink_loop_in_a_folder_is_reported_once_and_files_read_once(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "story.txt").write_text("A story about a loop.")
    os.symlink("..", tmp_path / "sub" / "back")
    result = load_paths([str(tmp_path)])
    assert [d.text for d in result.documents] == ["A story about a loop."]
    assert len(result.problems) == 1 and "symbolic link loop" in str(result.problems[0])
    assert str(result.problems[0]).startswith(str(tmp_path / "sub" / "back"))


def test_a_folder_linked_twice_is_read_once(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "story.txt").write_text("A story filed once.")
    os.symlink("../b", tmp_path / "a" / "also_b")
    result = load_paths([str(tmp_path)])
    assert [d.text for d in result.documents] == ["A story filed once."]
    assert [str(p) for p in result.problems] == [
        f"{tmp_path / 'b'}: the same folder as one already read (via a symbolic link); skipped so its files go in once"
    ]


def test_size_limit_is_checked_before_reading(tmp_path: Path) -> None:
    exact = tmp_path / "exact.txt"
    exact.write_text("x" * 99 + ".")
    over = tmp_path / "over.txt"
    over.write_text("y" * 100 + ".")
    result = load_paths([str(exact), str(over)], max_bytes=100)
    assert [Path(d.source).name for d in result.documents] == ["exact.txt"]
    assert str(result.problems[0]) == (
        f"{over}: the file is 0.0 MB (101 bytes), over the 0.0 MB limit for one article; "
        "split it into one file per article, or raise the limit (max_file_bytes)"
    )
    assert MAX_FILE_BYTES == 20_000_000


def test_missing_path_is_reported() -> None:
    result = load_paths(["/no/such/file.txt"])
    assert [str(p) for p in result.problems] == ["/no/such/file.txt: no such file or folder; check the path"]
