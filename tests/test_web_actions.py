"""The web UI's back end without a browser: upload rules, typed ingest outcomes, HTML made from data.

Real Rag, real MiniLM (through the server's own code path), real files.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from conftest import DATA

from rag.ingest import PDF_SIZE_FACTOR
from rag.settings import Settings
from rag.types import Answer, Citation, Sentence
from rag.web import mount_options
from rag.web.actions import WebActions, safe_label
from rag.web.render import answer_html, ingest_html
from rag.web.views import IngestOutcome

BRIDGE = DATA / "bridge_reopens.txt"
BRIDGE_TITLE = "Kessel Bridge Reopens After Eighteen Months of Repairs"


@pytest.fixture(scope="module")
def actions(tmp_path_factory: pytest.TempPathFactory) -> WebActions:
    tmp = tmp_path_factory.mktemp("actions")
    return WebActions(Settings(index_dir=tmp / "index"), tmp / "work")


def test_client_file_names_are_labels_not_paths() -> None:
    assert safe_label("../../etc/passwd.txt") == "passwd.txt"
    assert safe_label("C:\\Users\\x\\notes.md") == "notes.md"
    assert safe_label("a\x00b\n.txt") == "ab.txt"
    assert safe_label("") == "upload"


def test_oversized_and_unsupported_uploads_are_refused(actions: WebActions, tmp_path: Path) -> None:
    limit = actions.settings.max_file_bytes
    big = tmp_path / "big.txt"
    with big.open("wb") as f:
        f.truncate(limit + 1)
    exe = tmp_path / "tool.exe"
    exe.write_bytes(b"MZ")
    outcome = actions.ingest_files([str(big), str(exe), str(BRIDGE)], ["big.txt", "tool.exe", "bridge.txt"])
    assert isinstance(outcome, IngestOutcome) and outcome.ok
    assert outcome.report.added and outcome.report.chunks > 0
    assert len(outcome.problems) == 2
    assert outcome.problems[0].startswith(
        "big.txt: the file is 20.0 MB (20,000,001 bytes), over the 20.0 MB limit for one article"
    )
    assert str(tmp_path) not in outcome.problems[0]  # the label, never the server's path
    assert outcome.problems[1].startswith("tool.exe: unsupported file type '.exe'")
    message = html.unescape(ingest_html(outcome))
    assert "Added 1 document(s)" in message and "Skipped big.txt: the file is 20.0 MB" in message
    assert list(actions.upload_dir.iterdir()) == []  # staged copies are gone
    with actions.rag() as rag:
        (info,) = rag.documents()
        document = rag.document(info.doc_id)
    assert document.source == "upload: bridge.txt" and document.title == BRIDGE_TITLE
    assert document.text == BRIDGE.read_text(encoding="utf-8")


def test_the_upload_limit_is_the_settings_limit(tmp_path: Path) -> None:
    """`--max-file-mb` reaches the UI: a smaller limit refuses what the default takes."""
    small = WebActions(Settings(index_dir=tmp_path / "index", max_file_bytes=1_000), tmp_path / "work")
    outcome = small.ingest_files([str(BRIDGE)], ["bridge.txt"])
    assert not outcome.ok and outcome.problems[0].startswith("bridge.txt: the file is 0.0 MB")
    assert "over the 0.0 MB limit" in outcome.problems[0]
    options = mount_options(settings=Settings(max_file_bytes=1_000))
    assert options["max_file_size"] == 1_000 * PDF_SIZE_FACTOR


def test_pasted_text_is_typed_and_never_replaces_other_pasted_text(actions: WebActions) -> None:
    first = actions.ingest_text("Night trains between Alder and the coast will run again from May.", "Night trains")
    second = actions.ingest_text("The harbour market will stay open all winter, the council said.", "Market")
    assert first.ok and second.ok and second.report.replaced == ()
    with actions.rag() as rag:
        titles = {d.title for d in rag.documents()}
    assert {"Night trains", "Market"} <= titles
    empty = actions.ingest_text("   ", "Nothing")
    assert not empty.ok and empty.refused.startswith("no text to ingest")
    assert ingest_html(empty) == '<div class="rag-msg rag-msg-error" role="alert">' + html.escape(empty.refused) + "</div>"


def test_answer_html_is_made_from_sections_not_text() -> None:
    """The HTML follows each sentence's section and support; Answer.text is never read."""
    citation = Citation(1, "d", "T <b>", "s", 1, 0, 5, "Quote", 1.0)
    answer = Answer(
        text="IGNORED: parsing this would be wrong",
        sentences=(
            Sentence("Point one.", (1,), True, "point", 1.0),
            Sentence("No source says so.", (), False, "point"),
            Sentence("The overview.", (1,), True, "overview", 1.0),
        ),
        citations=(citation,), generator="extractive", model="m",
    )
    out = answer_html(answer, "brief")
    assert "IGNORED" not in out
    items = re.findall(r"<li>(.*?)</li>", out)
    assert len(items) == 2 and "Point one." in items[0] and 'href="#brief-src-1"' in items[0]
    assert "rag-unsupported" in items[1] and ">unsupported</span>" in items[1]
    assert re.search(r'<h4 class="rag-section">Overview</h4><p><span class="rag-sent">The overview\.</span>', out)
    assert "T &lt;b&gt;" in out  # the title in the marker's tooltip is escaped


def test_server_binds_loopback_and_never_shares_by_default() -> None:
    options = mount_options()
    assert options["server_name"] == "127.0.0.1" and "share" not in options  # mounted, never launched with a share
    assert options["footer_links"] == []  # no Gradio API page link: the masthead links to /api/v1/openapi.json
    assert options["max_file_size"] == Settings().max_file_bytes * PDF_SIZE_FACTOR


def test_a_paste_over_the_size_limit_is_refused_before_embedding(tmp_path: Path) -> None:
    """Issue 14 #9: pasted text has the limit files have (Settings.max_file_bytes), in UTF-8 bytes."""
    small = WebActions(Settings(index_dir=tmp_path / "index", max_file_bytes=1_000), tmp_path / "work")
    refused = small.ingest_text("é" * 501, "Too big")  # 1,002 bytes in UTF-8, 501 characters
    assert not refused.ok and refused.refused.startswith("the text is 0.0 MB (1,002 bytes), over the 0.0 MB limit")
    taken = small.ingest_text("A short note: the library opens at nine on Saturdays, the council said.", "Short")
    assert taken.ok
    with small.rag() as rag:
        assert [d.title for d in rag.documents()] == ["Short"]


def test_source_cards_show_each_title_once_with_its_passages_under_it() -> None:
    from rag.web.render import sources_html

    def cite(n: int, doc: str) -> Citation:
        return Citation(n, doc, f"Title of {doc}", f"{doc}.txt", n, n * 10, n * 10 + 5, "quote", 0.9)

    answer = Answer("t", (), (cite(1, "a"), cite(2, "b"), cite(3, "a"), cite(4, "b")), "extractive", "m")
    out = sources_html(answer, {}, "brief")
    assert out.count("Title of a") == 1 and out.count("Title of b") == 1
    groups = re.findall(r'<section class="rag-doc" data-doc="(\w)">(.*?)</section>', out)
    assert [(doc, re.findall(r'id="brief-src-(\d)"', body)) for doc, body in groups] == [("a", ["1", "3"]),
                                                                                          ("b", ["2", "4"])]


def test_inline_code_in_messages_is_rendered_not_shown_as_backticks() -> None:
    from rag.web.render import message_html

    out = message_html("no seq2seq model; see `rag models` to add <one>")
    assert "`" not in out and "<code>rag models</code>" in out and "&lt;one&gt;" in out
