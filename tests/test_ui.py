"""The web UI in a real browser: Debian chromium driven by Playwright.

One real server per module (``python ui.py`` on a free port with a temporary
index that starts with the bridge article, the real MiniLM embedder and the
extractive generator). Each test sets up what it needs (it uploads or pastes
its own article), so the tests pass in any order and alone. Every request
the pages make is recorded and one test checks that none went to another
host. Screenshots of each tab go to test-artifacts/. The back end's rules
without a browser are in tests/test_web_actions.py.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Iterator
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from conftest import SEEDS
from serving import free_port, stop, wait_for
from rag.core import Rag
from rag.ingest import load_paths
from rag.settings import Settings

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
ARTIFACTS = ROOT / "test-artifacts"
BRIDGE = DATA / "bridge_reopens.txt"
BRIDGE_TITLE = "Kessel Bridge Reopens After Eighteen Months of Repairs"
FERRY = DATA / "ferry_strike.txt"
LYNX = DATA / "lynx_kittens.txt"
COST_SENTENCE = "The repairs cost 27 million euros, most of it paid by the regional government."
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]
SCRIPT_TITLE = "Harbour council report <script>window.__pwned=1</script>"
IMG_MARKUP = '<img src=x onerror="window.__pwned=2">'
HOSTILE_TEXT = f"""{SCRIPT_TITLE}

The Lowmoor harbour council voted on Tuesday to rebuild the north pier for 4 million euros, a spokesperson said.

A reader pasted the markup {IMG_MARKUP} into a comment, and the paper printed it as text.

The new pier will open next spring, the council said. Fishing boats will moor at the south quay while the
work goes on, and the harbour master expects some delays for the ferry to the islands during the summer months.
Local traders asked the council to keep the quayside market open throughout the works, and the council agreed
to review the plan in the autumn after hearing from residents, skippers and the owners of the harbour cafes.
"""
ACTION_TIMEOUT_MS = 120_000
expect.set_options(timeout=ACTION_TIMEOUT_MS)


# Runs ui.py with every connection or name lookup to another host refused and logged.
NET_GUARD = r"""
import errno, os, runpy, socket, sys

LOG = os.environ["UI_TEST_NET_LOG"]
LOCAL = {"127.0.0.1", "::1", "localhost", "0.0.0.0"}
_connect, _connect_ex, _getaddrinfo = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo


def _refuse(what):
    with open(LOG, "a") as log:
        log.write(what + "\n")
    return OSError(errno.ENETUNREACH, "network blocked by the test (" + what + ")")


def _guarded(original):
    def call(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and str(address[0]) not in LOCAL:
            raise _refuse("connect " + repr(address))
        return original(sock, address)
    return call


def getaddrinfo(host, *args, **kwargs):
    if host is None or str(host) in LOCAL:
        return _getaddrinfo(host, *args, **kwargs)
    raise _refuse("resolve " + repr(host))


socket.socket.connect, socket.socket.connect_ex = _guarded(_connect), _guarded(_connect_ex)
socket.getaddrinfo = getaddrinfo
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


@pytest.fixture(scope="module")
def net_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the server records every attempt to reach another host (none expected)."""
    return tmp_path_factory.mktemp("net") / "attempts.log"


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory, minilm) -> Path:
    """The server's index: the bridge article and the seeds, there before any test runs."""
    folder = tmp_path_factory.mktemp("ui") / "index"
    with Rag(Settings(index_dir=folder), embedder=minilm) as rag:
        rag.ingest(load_paths([str(BRIDGE), str(SEEDS)]).documents)
    return folder


def stored_titles(index_dir: Path) -> list[str]:
    """The titles the server's index holds now (read beside the server, as another reader)."""
    with Rag(Settings(index_dir=index_dir)) as rag:
        return [d.title for d in rag.documents()]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, net_log: Path, index_dir: Path) -> Iterator[str]:
    """``python ui.py`` with the network blocked, on a free port with ``index_dir``; yields its URL."""
    tmp = tmp_path_factory.mktemp("ui-server")
    port = free_port()
    log = tmp / "server.log"
    env = {**os.environ, "UI_TEST_NET_LOG": str(net_log), "PYTHONUNBUFFERED": "1"}
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "GRADIO_ANALYTICS_ENABLED", "GRADIO_TEMP_DIR"):
        env.pop(name, None)  # ui.py must set up offline mode itself
    command = [sys.executable, "-c", NET_GUARD, str(ROOT / "ui.py"), "--port", str(port), "--index-dir", str(index_dir)]
    with log.open("w") as out:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_for(url, proc, log)
        yield url
    finally:
        stop(proc)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    """Chromium through Playwright, both with a scratch home: they keep caches and crash reports
    in ~/.cache and ~/.config, and the tests leave the user's home as they found it."""
    home = tmp_path_factory.mktemp("browser-home")
    with pytest.MonkeyPatch.context() as env:  # the driver, and the browser it starts, read these
        env.setenv("HOME", str(home))
        env.setenv("XDG_CONFIG_HOME", str(home / ".config"))
        env.setenv("XDG_CACHE_HOME", str(home / ".cache"))
        playwright = sync_playwright().start()
        b = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
    try:
        yield b
    finally:
        b.close()
        playwright.stop()


@pytest.fixture(scope="module")
def requests_seen() -> list[str]:
    """Every URL any page of this module asked for (HTTP and WebSocket)."""
    return []


@pytest.fixture(scope="module")
def context(browser: Browser, requests_seen: list[str]) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport={"width": 1360, "height": 900}, accept_downloads=True)
    ctx.set_default_timeout(ACTION_TIMEOUT_MS)
    ctx.on("request", lambda request: requests_seen.append(request.url))
    ctx.on("page", lambda page: page.on("websocket", lambda ws: requests_seen.append(ws.url)))
    yield ctx
    ctx.close()


@pytest.fixture()
def page(context: BrowserContext, server: str) -> Iterator[Page]:
    """A fresh tab on the app, loaded and with the library listed."""
    tab = context.new_page()
    tab.goto(server)
    tab.wait_for_selector("#ask-question textarea")
    tab.wait_for_function("() => window.__pwned === undefined")
    yield tab
    tab.close()


def _open_tab(page: Page, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def _choose(page: Page, elem_id: str, text: str) -> None:
    """Pick the option containing ``text`` in a Gradio dropdown (a focused dropdown does not reopen: blur first)."""
    page.click(".rag-masthead h1")
    page.click(f"#{elem_id} input")
    page.locator(f"#{elem_id} li[role=option]", has_text=text).first.click()
    page.keyboard.press("Escape")


def _upload(page: Page, path: Path) -> str:
    _open_tab(page, "Library")
    page.set_input_files("#library-upload input[type=file]", str(path))
    message = page.locator("#ingest-message .rag-msg").first
    expect(message).to_contain_text("document(s)")
    return page.inner_text("#ingest-message")


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"ui-{name}.png"), full_page=True)


def _collapse(text: str) -> str:
    return " ".join(text.split())


def unescape_markdown(text: str) -> str:
    """Text as a Markdown viewer shows it: backslash escapes removed (the export escapes article text)."""
    return re.sub(r"\\(.)", r"\1", text)


def _ensure_uploaded(page: Page, path: Path) -> str:
    """Upload ``path``; it is added, or already there from an earlier test."""
    message = _upload(page, path)
    assert "Added 1 document(s)" in message or "1 already in the library" in message, message
    return message


# -- browser tests: each sets up what it needs ---------------------------------------
def test_upload_lists_the_article(page: Page, index_dir: Path) -> None:
    title = FERRY.read_text(encoding="utf-8").splitlines()[0]
    message = _upload(page, FERRY)
    assert "Added 1 document(s)" in message
    table = page.locator("#library-table")
    expect(table).to_contain_text(title)
    expect(table).to_contain_text("upload: ferry_strike.txt")
    expect(page.locator("#index-status")).to_contain_text("sentence-transformers/all-MiniLM-L6-v2")
    page.reload()  # the status as a new visitor sees it, after the upload
    page.wait_for_selector("#ask-question textarea")
    _open_tab(page, "Library")
    expect(page.locator("#library-table")).to_contain_text(title)
    titles = stored_titles(index_dir)
    assert title in titles
    status = page.inner_text("#index-status")
    assert re.search(rf"Documents\s+{len(titles)}\b", status), status
    _shot(page, "library")


def test_ask_shows_cited_answer_with_highlighted_quote(page: Page) -> None:
    article = BRIDGE.read_text(encoding="utf-8")
    _choose(page, "ask-docs", BRIDGE_TITLE)
    _choose(page, "ask-generator", "extractive")
    page.fill("#ask-question textarea", "How much did the bridge repairs cost?")
    page.click("#ask-button")
    marker = page.locator("#ask-answer a.rag-cite").first
    expect(marker).to_be_visible()
    assert COST_SENTENCE in page.inner_text("#ask-answer")
    badge = page.inner_text("#ask-badge")
    assert "extractive" in badge and "all-MiniLM-L6-v2" in badge and re.search(r"\d+\.\d\d s", badge)
    quotes = page.locator("#ask-sources mark.rag-quote").all_text_contents()
    assert quotes and all(q and q in article for q in quotes), quotes
    assert any(COST_SENTENCE in q for q in quotes)
    expect(page.locator("#ask-sources .rag-doc-head").first).to_contain_text(BRIDGE_TITLE)
    target = marker.get_attribute("href")
    marker.click()
    assert page.evaluate("() => location.hash") == target
    assert page.evaluate("() => document.querySelector(':target')?.id") == target.lstrip("#")
    _shot(page, "ask")


def test_rag_errors_show_as_messages(page: Page) -> None:
    _choose(page, "ask-generator", "seq2seq")
    page.fill("#ask-question textarea", "How much did the bridge repairs cost?")
    page.click("#ask-button")
    error = page.locator("#ask-answer .rag-msg-error")
    expect(error).to_contain_text("google/flan-t5-base")
    expect(error).to_contain_text("--generator extractive")
    assert "Traceback" not in page.inner_text("body")


def test_pasted_text_is_added(page: Page) -> None:
    _open_tab(page, "Library")
    page.get_by_text("Or paste an article").click()
    page.fill("#paste-title textarea, #paste-title input", "Night trains return")
    page.fill("#paste-text textarea", "Night trains between Alder and the coast will run again from May, the rail company said.")
    page.click("#paste-button")
    expect(page.locator("#ingest-message")).to_contain_text("Added 1 document(s)")
    table = page.locator("#library-table")
    expect(table).to_contain_text("Night trains return")
    expect(table).to_contain_text("pasted text")
    expect(page.locator("#paste-text textarea")).to_have_value("")


def test_briefing_downloads_markdown_with_sources(page: Page) -> None:
    article = _collapse(BRIDGE.read_text(encoding="utf-8"))
    _open_tab(page, "Briefing")
    _choose(page, "brief-docs", BRIDGE_TITLE)
    page.locator("#brief-length label", has_text="short").click()
    page.click("#brief-button")
    expect(page.locator("#brief-answer a.rag-cite").first).to_be_visible()
    expect(page.locator("#brief-answer")).to_contain_text("Key points")
    download_button = page.locator("#brief-download")
    expect(download_button).to_be_visible()
    with page.expect_download() as info:
        download_button.click()
    download = info.value
    assert download.suggested_filename.endswith(".md")
    markdown = Path(download.path()).read_text(encoding="utf-8")
    assert markdown.startswith("# Briefing of 1 document")
    assert "Key points:" in markdown and "## Sources" in markdown
    sources = markdown.split("## Sources", 1)[1]
    quotes = [unescape_markdown(line.strip()[2:]) for line in sources.splitlines() if line.strip().startswith("> ")]
    assert quotes and all(q in article for q in quotes), quotes
    assert BRIDGE_TITLE in sources and "[1]" in markdown
    for quote in page.locator("#brief-sources mark.rag-quote").all_text_contents():
        assert _collapse(quote) in article
    _shot(page, "briefing")


def test_article_with_script_is_shown_as_text(page: Page, tmp_path: Path) -> None:
    hostile = tmp_path / "harbour.txt"
    hostile.write_text(HOSTILE_TEXT, encoding="utf-8")
    assert "Added 1 document(s)" in _upload(page, hostile)
    expect(page.locator("#library-table")).to_contain_text(SCRIPT_TITLE)
    _open_tab(page, "Ask")
    _choose(page, "ask-docs", "Harbour council")
    page.fill("#ask-question textarea", "How much will it cost to rebuild the north pier?")
    page.click("#ask-button")
    expect(page.locator("#ask-sources .rag-source").first).to_be_visible()
    sources = page.locator("#ask-sources")
    expect(sources).to_contain_text(SCRIPT_TITLE)
    expect(sources).to_contain_text(IMG_MARKUP)
    page.locator("#ask-sources details.rag-full summary").first.click()
    _shot(page, "script-article")
    assert page.evaluate("() => window.__pwned") is None
    assert page.locator('img[src="x"]').count() == 0
    assert page.evaluate("() => [...document.scripts].some(s => s.text.includes('__pwned'))") is False


def test_delete_removes_the_document(page: Page, index_dir: Path) -> None:
    title = LYNX.read_text(encoding="utf-8").splitlines()[0]
    _ensure_uploaded(page, LYNX)
    expect(page.locator("#library-table")).to_contain_text(title)
    _choose(page, "delete-docs", title)
    page.click("#delete-button")
    expect(page.locator("#delete-message")).to_contain_text("Deleted 1 document(s)")
    expect(page.locator("#library-table")).not_to_contain_text(title)
    expect(page.locator("#library-table")).to_contain_text(BRIDGE_TITLE)
    assert title not in stored_titles(index_dir) and BRIDGE_TITLE in stored_titles(index_dir)
    _open_tab(page, "Ask")
    page.click("#ask-docs input")
    expect(page.locator("#ask-docs li[role=option]", has_text=title)).to_have_count(0)
    expect(page.locator("#ask-docs li[role=option]", has_text=BRIDGE_TITLE)).to_have_count(1)


def test_no_request_leaves_the_machine(page: Page, server: str, requests_seen: list[str], net_log: Path) -> None:
    for name in ("Ask", "Briefing", "Library"):
        _open_tab(page, name)
    page.wait_for_load_state("networkidle")
    here = urlparse(server).netloc
    web = [u for u in requests_seen if urlparse(u).scheme in ("http", "https", "ws", "wss")]
    assert len(web) > 20  # the pages really loaded: scripts, styles, fonts, API calls
    assert any("/static/fonts/" in u for u in web)  # fonts came from this server
    foreign = sorted({u for u in web if urlparse(u).netloc != here})
    assert foreign == []
    server_attempts = net_log.read_text().splitlines() if net_log.exists() else []
    assert server_attempts == []  # nor did the server, which ran with the network blocked


# -- layout and text (issue 13) -------------------------------------------------------
WIDTH = """() => Math.round(document.querySelector('.gradio-container').getBoundingClientRect().width)"""
UNANSWERABLE = "What is the airspeed velocity of an unladen swallow?"


def test_the_page_width_is_the_same_on_every_tab_and_state(page: Page) -> None:
    """At 1360 px the page is as wide before an answer, after one, after a declined question, on every tab."""
    widths = {"start": page.evaluate(WIDTH)}
    _choose(page, "ask-generator", "extractive")
    page.fill("#ask-question textarea", "How much did the bridge repairs cost?")
    page.click("#ask-button")
    expect(page.locator("#ask-answer a.rag-cite").first).to_be_visible()
    widths["answered"] = page.evaluate(WIDTH)
    _shot(page, "width-answered")
    page.fill("#ask-question textarea", UNANSWERABLE)
    page.click("#ask-button")
    expect(page.locator("#ask-answer .rag-abstain")).to_be_visible()
    widths["declined"] = page.evaluate(WIDTH)
    _shot(page, "width-declined")
    _open_tab(page, "Briefing")
    widths["briefing"] = page.evaluate(WIDTH)
    _open_tab(page, "Library")
    widths["library"] = page.evaluate(WIDTH)
    assert len(set(widths.values())) == 1, widths
    assert widths["start"] >= 1200  # it fills the window up to its maximum, not its content


def test_the_briefing_sources_panel_shows_its_last_card_after_scrolling(page: Page) -> None:
    ferry = FERRY.read_text(encoding="utf-8").splitlines()[0]
    _ensure_uploaded(page, FERRY)
    expect(page.locator("#library-table")).to_contain_text(ferry)
    page.reload()  # the pickers as a new visitor gets them, with both articles
    page.wait_for_selector("#ask-question textarea")
    _open_tab(page, "Briefing")
    _choose(page, "brief-docs", BRIDGE_TITLE)
    _choose(page, "brief-docs", ferry)
    page.locator("#brief-length label", has_text="long").click()
    page.click("#brief-button")
    expect(page.locator("#brief-answer a.rag-cite").first).to_be_visible()
    cards = page.locator("#brief-sources .rag-source")
    count = cards.count()
    assert count >= 4, count
    # one title per document, its passages under it
    heads = page.locator("#brief-sources .rag-doc-head .rag-title").all_text_contents()
    assert len(heads) == len(set(heads)) == 2, heads
    last = cards.nth(count - 1)
    last.scroll_into_view_if_needed()
    expect(last).to_be_in_viewport(ratio=0.9)
    expect(last).to_contain_text("Whole article")
    _shot(page, "briefing-sources-scrolled")


def test_no_status_text_shows_literal_backticks(page: Page) -> None:
    _choose(page, "ask-generator", "auto")
    page.fill("#ask-question textarea", "How much did the bridge repairs cost?")
    page.click("#ask-button")
    notice = page.locator("#ask-answer .rag-notice")
    expect(notice).to_contain_text("rag models")
    assert page.locator("#ask-answer .rag-notice code").count() >= 1
    _choose(page, "ask-generator", "seq2seq")
    page.click("#ask-button")
    expect(page.locator("#ask-answer .rag-msg-error")).to_be_visible()
    _open_tab(page, "Library")
    expect(page.locator("#index-status")).to_contain_text("Documents")
    texts = {
        "notice and error": page.inner_text("#ask-answer"),
        "status": page.inner_text("#index-status"),
        "limits": page.inner_text("#upload-limits"),
        "generator info": page.inner_text("#ask-generator"),
    }
    assert {name: text for name, text in texts.items() if "`" in text} == {}
    _shot(page, "library-status")


# For each header cell with text: its text and on how many lines its text is laid out.
LINES_PER_HEADER = """() => [...document.querySelectorAll('#library-table th')].filter(th => th.innerText.trim()).map(th => {
    const tops = new Set();
    const walker = document.createTreeWalker(th, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        if (!node.textContent.trim()) continue;
        const range = document.createRange();
        range.selectNodeContents(node);
        for (const box of range.getClientRects()) if (box.width > 0) tops.add(Math.round(box.top));
    }
    return [th.innerText.trim(), tops.size];
})"""


@pytest.mark.parametrize("width", [1360, 1024])
def test_the_library_table_headers_do_not_wrap(context: BrowserContext, server: str, width: int) -> None:
    tab = context.new_page()
    try:
        tab.set_viewport_size({"width": width, "height": 900})
        tab.goto(server)
        _open_tab(tab, "Library")
        expect(tab.locator("#library-table")).to_contain_text(BRIDGE_TITLE)
        lines = tab.evaluate(LINES_PER_HEADER)
        assert [name for name, _ in lines] == ["Title", "Source", "Size", "Passages", "Added", "ID"]
        assert all(count == 1 for _, count in lines), lines
        _shot(tab, f"library-{width}")
    finally:
        tab.close()


def test_the_page_links_to_the_json_api_not_to_gradios(page: Page) -> None:
    link = page.locator(".rag-masthead a.rag-api-link")
    assert link.get_attribute("href") == "/api/v1/openapi.json"
    spec = page.request.get(page.url.rstrip("/") + "/api/v1/openapi.json").json()
    assert "/ask" in spec["paths"]
    assert page.locator("footer a").count() == 0  # no Gradio footer: its API page and settings are not this app's
