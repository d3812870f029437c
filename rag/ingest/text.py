"""Plain text: decode bytes sensibly and build a Document with a content-hash id.

Decoding tries UTF-8, then Windows-1252, then Latin-1 and records which one
was used in ``metadata["encoding"]``. A file with NUL bytes is taken for
binary and refused. Language detection is left out.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any, Mapping

from rag.errors import BadInputError
from rag.types import Document, PageSpan

TITLE_MAX_CHARS = 120


def decode_bytes(data: bytes, source: str) -> tuple[str, str]:
    """Decode ``data`` and return ``(text, encoding)``; refuse binary data."""
    if b"\x00" in data[:8192]:
        raise BadInputError(f"{source}: looks like a binary file, not text; convert it to .txt, .md, .html or .pdf")
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            return data.decode(encoding), encoding.replace("-sig", "")
        except UnicodeDecodeError:
            continue
    raise BadInputError(f"{source}: cannot decode text; save it as UTF-8")  # latin-1 never fails


def normalize_text(text: str) -> str:
    """Unify line endings and drop control characters other than newline and tab."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", text)


def make_title(text: str, fallback: str) -> str:
    """The first line, shortened at a word boundary, or ``fallback`` when there is none."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if not first:
        return fallback
    first = first.lstrip("#").strip()
    if len(first) <= TITLE_MAX_CHARS:
        return first
    return first[:TITLE_MAX_CHARS].rsplit(" ", 1)[0] + "…"


def document_id(text: str) -> str:
    """A stable id: the first 16 hex digits of the text's SHA-256."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def text_document(
    text: str,
    source: str,
    title_hint: str,
    title: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    pages: tuple[PageSpan, ...] = (),
) -> Document:
    """Build a Document from already-clean text; refuse empty text."""
    text = normalize_text(text)
    if not text.strip():
        raise BadInputError(f"{source}: no text to ingest (the file is empty or whitespace only); add text or skip it")
    return Document(
        id=document_id(text),
        title=title or make_title(text, title_hint),
        source=source,
        text=text,
        metadata=dict(metadata or {}),
        pages=pages,
    )


def read_text(path: Path) -> Document:
    """Read a .txt file."""
    text, encoding = decode_bytes(path.read_bytes(), str(path))
    meta = {"encoding": encoding} if encoding != "utf-8" else {}
    return text_document(text, source=str(path), title_hint=path.stem, metadata=meta)
