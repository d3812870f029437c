"""Markdown: strip the markup, keep the words, take the first heading as title.

Leaves out full CommonMark parsing: headings, emphasis, links, images, list
markers and HTML comments are handled with regular expressions. Each rule
runs in time linear in the text, whatever the text: no pattern can scan past
the next opening delimiter of its own kind, line rules read only spaces and
tabs (never newlines) before a marker, and comments are cut with ``str.find``.
So ``" *a" * N``, an unclosed ``<!--`` or ``[a](`` cost one pass, not one pass
per delimiter. The price is that emphasis cannot hold its own delimiter
(``*a *b* c*`` keeps its outer stars) and a link's text cannot hold ``[``.
"""

from __future__ import annotations

import re
from pathlib import Path

from rag.ingest.text import decode_bytes, read_text, text_document
from rag.types import Document

# A link target: no brackets or line breaks, parentheses one level deep ("Paris_(city)").
_URL = r"(?:[^()\[\]\n]|\([^()\[\]\n]*\))*"
_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"!\[[^\[\]]*\]\({_URL}\)"), ""),
    (re.compile(rf"\[([^\[\]]+)\]\({_URL}\)"), r"\1"),
    (re.compile(r"^[ \t]{0,3}#{1,6}[ \t]*", re.M), ""),
    (re.compile(r"^[ \t]*[-*+][ \t]+", re.M), ""),
    (re.compile(r"^[ \t]*>[ \t]?", re.M), ""),
    (re.compile(r"\*\*((?:[^*\n]|\*(?!\*))+?)\*\*|__((?:[^_\n]|_(?!_))+?)__"), r"\1\2"),
    (re.compile(r"(?<![\w*])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![\w*])"), r"\1"),
    (re.compile(r"`([^`]+)`"), r"\1"),
    (re.compile(r"^[ \t]*(?:-{3,}|\*{3,}|_{3,})[ \t]*$", re.M), ""),
]
_TITLE = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+(.+)$", re.M)


def strip_comments(text: str) -> str:
    """``text`` without HTML comments; an unclosed ``<!--`` and what follows it stay.

    >>> strip_comments("a<!-- x -->b <!-- open")
    'ab <!-- open'
    """
    parts: list[str] = []
    cursor = 0
    while (start := text.find("<!--", cursor)) >= 0:
        stop = text.find("-->", start + 4)
        if stop < 0:
            break  # no later comment can close either
        parts.append(text[cursor:start])
        cursor = stop + 3
    parts.append(text[cursor:])
    return "".join(parts)


def strip_markdown(text: str) -> str:
    """Plain text from markdown.

    >>> strip_markdown("# Title\\n\\nSome **bold** [link](http://x).")
    'Title\\n\\nSome bold link.'
    """
    text = strip_comments(text)
    for pattern, repl in _RULES:
        text = pattern.sub(repl, text)
    return text


def read_markdown(path: Path) -> Document:
    """Read a .md file."""
    raw, meta = decode_bytes(path.read_bytes(), str(path))
    heading = _TITLE.search(raw)
    title = strip_markdown(heading.group(1)).strip() if heading else None
    return text_document(strip_markdown(raw), source=str(path), title_hint=path.stem, title=title, metadata=meta)


__all__ = ["read_markdown", "strip_markdown", "strip_comments", "read_text"]
