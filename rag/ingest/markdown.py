"""Markdown: strip the markup, keep the words, take the first heading as title.

Leaves out full CommonMark parsing: headings, emphasis, links, images, list
markers and HTML comments are handled with regular expressions.
"""

from __future__ import annotations

import re
from pathlib import Path

from rag.ingest.text import decode_bytes, read_text, text_document
from rag.types import Document

_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"<!--.*?-->", re.S), ""),
    (re.compile(r"!\[[^\]]*\]\([^)]*\)"), ""),
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),
    (re.compile(r"^\s{0,3}#{1,6}\s*", re.M), ""),
    (re.compile(r"^\s*[-*+]\s+", re.M), ""),
    (re.compile(r"^\s*>\s?", re.M), ""),
    (re.compile(r"(\*\*|__)(.+?)\1"), r"\2"),
    (re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])"), r"\1"),
    (re.compile(r"`([^`]+)`"), r"\1"),
    (re.compile(r"^\s*(-{3,}|\*{3,}|_{3,})\s*$", re.M), ""),
]


def strip_markdown(text: str) -> str:
    """Plain text from markdown.

    >>> strip_markdown("# Title\\n\\nSome **bold** [link](http://x).")
    'Title\\n\\nSome bold link.'
    """
    for pattern, repl in _RULES:
        text = pattern.sub(repl, text)
    return text


def read_markdown(path: Path) -> Document:
    """Read a .md file."""
    raw, meta = decode_bytes(path.read_bytes(), str(path))
    heading = re.search(r"^\s{0,3}#{1,6}\s+(.+)$", raw, re.M)
    title = strip_markdown(heading.group(1)).strip() if heading else None
    return text_document(strip_markdown(raw), source=str(path), title_hint=path.stem, title=title, metadata=meta)


__all__ = ["read_markdown", "strip_markdown", "read_text"]
