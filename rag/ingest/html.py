"""HTML: the main article text and its metadata via trafilatura.

Navigation, ads, footers and scripts are dropped by trafilatura's extractor;
only text survives, so nothing from the page can run later. A page whose
only text is page furniture (menus, a "please enable JavaScript" notice) has
no article body and is refused: short extractions are confirmed by a second,
precision-first pass, and an extraction made only of the words of links and
navigation (``<nav>``, ``<header>``, ``<footer>``, ``<aside>``, ``<menu>``,
ARIA navigation roles), such as "Home News Sport", is refused too, as is one
of a few words with no sentence end (a lone menu or headline). A bare
fragment (no ``<html>``) is wrapped so it reads like a page. The page is
parsed here, with libxml2's "huge tree" option, so nesting deeper than its
default 256 levels is read; elements deeper than ``HTML_FLATTEN_DEPTH`` are
unwrapped (text kept) so extraction stays fast, and pages deeper than
libxml2 can go at all (``MAX_HTML_DEPTH``) are refused rather than cut short.
Fetching URLs is left out: save the page first.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import trafilatura
from lxml import etree
from lxml.html import HtmlElement, HTMLParser, document_fromstring

from rag.errors import BadInputError
from rag.ingest import limits
from rag.ingest.text import decode_bytes, text_document
from rag.types import Document

# Extractions shorter than this many words are confirmed by a precision-first pass.
CONFIRM_BELOW_WORDS = 100
# An extraction this short with no sentence end at all is a menu or a headline, not an article.
MIN_WORDS_WITHOUT_SENTENCE = 10
_SENTENCE_END = re.compile(r"[.!?…:;]")
_FURNITURE = (
    "//a | //nav | //header | //footer | //aside | //menu"
    " | //*[@role='navigation' or @role='menu' or @role='menubar' or @role='banner' or @role='contentinfo']"
)
_WORD = re.compile(r"\w+")
_FLAT = "rag-flattened"  # a tag name no page uses: elements renamed to it are unwrapped


def _as_page(raw: str) -> str:
    """``raw`` itself, or a fragment wrapped in ``<html><body>`` so trafilatura reads it."""
    if re.search(r"<html[\s>]", raw, re.I):
        return raw
    if re.search(r"<body[\s>]", raw, re.I):
        return f"<html>{raw}</html>"
    return f"<html><body>{raw}</body></html>"


def _flatten(tree: HtmlElement, max_depth: int) -> None:
    """Unwrap every element nested deeper than ``max_depth``, keeping its text and children."""
    depth = 0
    deep = []
    for event, element in etree.iterwalk(tree, events=("start", "end")):
        depth += 1 if event == "start" else -1
        if event == "start" and depth > max_depth:
            deep.append(element)
    for element in deep:
        element.tag = _FLAT
    if deep:
        etree.strip_tags(tree, _FLAT)


def _tree(path: Path, page: str) -> HtmlElement | None:
    """The parsed page, deep nesting flattened; None for a page with no elements."""
    parser = HTMLParser(collect_ids=False, default_doctype=False, encoding="utf-8", remove_comments=True,
                        remove_pis=True, huge_tree=True)
    try:
        tree = document_fromstring(page.encode("utf-8", "surrogatepass"), parser=parser)
    except etree.ParserError:
        return None
    if any(error.type_name == "ERR_RESOURCE_LIMIT" for error in parser.error_log):
        raise BadInputError(
            f"{path}: the HTML is nested more than {limits.MAX_HTML_DEPTH:,} levels deep, more than can be read; "
            f"open the page in a browser and save the article text as .txt instead"
        )
    _flatten(tree, limits.HTML_FLATTEN_DEPTH)
    return tree


def _extract(path: Path, page: str, **options: bool) -> Any:
    tree = _tree(path, page)  # parsed afresh each time: trafilatura prunes the tree it reads
    if tree is None:
        return None
    return trafilatura.bare_extraction(
        tree, include_comments=False, include_tables=True, with_metadata=True, **options
    )


def _text(extracted: Any) -> str:
    text = getattr(extracted, "text", None) if extracted is not None else None
    return text or ""


def _only_furniture(path: Path, page: str, text: str) -> bool:
    """Whether every word of ``text`` is a word of the page's links and navigation."""
    tree = _tree(path, page)
    if tree is None:
        return False
    furniture: set[str] = set()
    for element in tree.xpath(_FURNITURE):
        furniture.update(_WORD.findall(element.text_content().lower()))
    return set(_WORD.findall(text.lower())) <= furniture


def _no_body(path: Path, what: str = "only scripts, menus or other page furniture") -> BadInputError:
    return BadInputError(
        f"{path}: no article text found in the HTML ({what}); "
        f"open the page in a browser and save the article text as .txt instead"
    )


def _body_text(path: Path, page: str) -> tuple[str, Any]:
    """The article text and trafilatura's result, or BadInputError for a page without one."""
    extracted = _extract(path, page, favor_recall=True)
    text = _text(extracted)
    if not text.strip():
        raise _no_body(path)
    if len(text.split()) < CONFIRM_BELOW_WORDS:
        if not _text(_extract(path, page, favor_precision=True)).strip():
            raise _no_body(path)
        shown = " ".join(text.split())[:80]
        if _only_furniture(path, page, text):
            raise _no_body(path, f'only navigation links: "{shown}"')
        if len(text.split()) < MIN_WORDS_WITHOUT_SENTENCE and not _SENTENCE_END.search(text):
            raise _no_body(path, f'only a few words and no sentence: "{shown}"')
    return text, extracted


def read_html(path: Path) -> Document:
    """Read a .html/.htm file."""
    raw, meta = decode_bytes(path.read_bytes(), str(path))
    text, extracted = _body_text(path, _as_page(raw))
    meta = dict(meta)
    meta.update(
        {key: value for key in ("date", "author", "sitename", "url") if (value := getattr(extracted, key, None))}
    )
    title = getattr(extracted, "title", None) or None
    return text_document(text, source=str(path), title_hint=path.stem, title=title, metadata=meta)
