"""HTML and encoding edge cases: nav-only pages, deep nesting, UTF-16 without a byte-order mark."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.errors import BadInputError
from rag.ingest import limits, load_paths, read_file
from rag.ingest.text import decode_bytes, utf16_without_bom

ARTICLE = (
    "<p>The council approved the budget on Monday after a long debate about road repairs and school "
    "funding.</p><p>The vote was 7 to 2, and the new rates take effect in April.</p>"
)
GERMAN = "Der Bürgermeister eröffnete am Montag die neue Brücke über die Aln.\nDie Feier dauerte zwei Stunden."


@pytest.mark.parametrize(
    "body,shown",
    [
        ("<nav><a href='/'>Home</a> <a href='/news'>News</a> <a href='/sport'>Sport</a></nav>",
         'only navigation links: "Home News Sport"'),
        ("<a href='/'>Home</a> <a href='/news'>News</a> <a href='/sport'>Sport</a>",
         'only navigation links: "Home News Sport"'),
        ("<div>Home News Sport</div>", 'only a few words and no sentence: "Home News Sport"'),
        ("<div class='menu'>Home News Sport</div>", "only scripts, menus or other page furniture"),
    ],
    ids=["nav element", "bare links", "menu words", "menu class"],
)
def test_a_nav_only_page_is_refused_with_a_clear_message(tmp_path: Path, body: str, shown: str) -> None:
    path = tmp_path / "front.html"
    path.write_text(f"<html><head><title>Example News</title></head><body>{body}</body></html>", encoding="utf-8")
    with pytest.raises(BadInputError) as caught:
        read_file(path)
    assert str(caught.value) == (
        f"{path}: no article text found in the HTML ({shown}); "
        f"open the page in a browser and save the article text as .txt instead"
    )


def test_an_article_with_a_menu_keeps_its_text_and_drops_the_menu(tmp_path: Path) -> None:
    path = tmp_path / "story.html"
    path.write_text(
        f"<html><body><nav><a href='/'>Home</a> <a href='/news'>News</a></nav><article>{ARTICLE}</article>"
        f"</body></html>",
        encoding="utf-8",
    )
    document = read_file(path)
    assert "The council approved the budget on Monday" in document.text and "Home" not in document.text


def test_a_short_real_sentence_is_still_an_article(tmp_path: Path) -> None:
    path = tmp_path / "brief.html"
    path.write_text("<html><body><p>The bridge reopens on Friday.</p></body></html>", encoding="utf-8")
    assert read_file(path).text.strip() == "The bridge reopens on Friday."


@pytest.mark.parametrize("depth", [300, 1000, 2000])
def test_deeply_nested_html_is_read(tmp_path: Path, depth: int) -> None:
    path = tmp_path / f"deep{depth}.html"
    path.write_text(
        "<html><body><p>Intro: the budget debate.</p>" + "<div>" * depth + ARTICLE + "</div>" * depth
        + "</body></html>",
        encoding="utf-8",
    )
    document = read_file(path)
    assert "The council approved the budget on Monday" in document.text
    assert "the new rates take effect in April" in document.text


def test_html_deeper_than_the_parser_can_go_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "abyss.html"
    depth = limits.MAX_HTML_DEPTH + 100
    path.write_text("<html><body>" + "<div>" * depth + ARTICLE + "</div>" * depth + "</body></html>")
    with pytest.raises(BadInputError) as caught:
        read_file(path)
    assert str(caught.value) == (
        f"{path}: the HTML is nested more than 2,048 levels deep, more than can be read; "
        f"open the page in a browser and save the article text as .txt instead"
    )


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_byte_order_mark_is_read(tmp_path: Path, codec: str) -> None:
    path = tmp_path / "brucke.txt"
    path.write_bytes(GERMAN.encode(codec))
    result = load_paths([str(path)])
    assert not result.problems
    (document,) = result.documents
    assert document.text == GERMAN and document.metadata == {"encoding": codec}
    endian = "little" if codec.endswith("le") else "big"
    assert result.notes == [f"{path}: read as UTF-16, {endian}-endian (it has no byte-order mark)"]


@pytest.mark.parametrize(
    "text",
    ["Москва — столица России. В 2024 году.", "Ελλάδα: η Αθήνα είναι η πρωτεύουσα.", "plain ASCII only, 42."],
)
def test_utf16_without_bom_is_recognised_in_several_scripts(text: str) -> None:
    assert decode_bytes(text.encode("utf-16-le"), "x.txt") == (text, {"encoding": "utf-16-le"})


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8,
        bytes(2000),
        b"\x01\x00\x02\x00\x03\x00" * 500,  # 16-bit numbers: zeros on one side, but control characters
    ],
    ids=["png", "zeros", "uint16 array"],
)
def test_binary_data_is_still_refused(data: bytes) -> None:
    with pytest.raises(BadInputError, match="looks like a binary file"):
        decode_bytes(data, "x.txt")


def test_utf16_detection_needs_zeros_on_one_side_only() -> None:
    assert utf16_without_bom("Plain words here".encode("utf-16-be")) == "utf-16-be"
    assert utf16_without_bom(b"plain words") is None
    assert utf16_without_bom(bytes(100)) is None
