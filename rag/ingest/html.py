"""HTML: the main article text and its metadata via trafilatura.

Navigation, ads, footers and scripts are dropped by trafilatura's extractor;
only text survives, so nothing from the page can run later. A page whose
only text is page furniture (menus, a "please enable JavaScript" notice) has
no article body and is refused: short extractions are confirmed by a second,
precision-first pass. A bare fragment (no ``<html>``) is wrapped so it reads
like a page. Fetching URLs is left out: save the page first.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import trafilatura

from rag.errors import BadInputError
from rag.ingest.text import decode_bytes, text_document
from rag.types import Document

# Extractions shorter than this many words are confirmed by a precision-first pass.
CONFIRM_BELOW_WORDS = 100


def _as_page(raw: str) -> str:
    """``raw`` itself, or a fragment wrapped in ``<html><body>`` so trafilatura reads it."""
    if re.search(r"<html[\s>]", raw, re.I):
        return raw
    if re.search(r"<body[\s>]", raw, re.I):
        return f"<html>{raw}</html>"
    return f"<html><body>{raw}</body></html>"


def _extract(page: str, **options: bool) -> Any:
    return trafilatura.bare_extraction(
        page, include_comments=False, include_tables=True, with_metadata=True, **options
    )


def _text(extracted: Any) -> str:
    text = getattr(extracted, "text", None) if extracted is not None else None
    return text or ""


def _no_body(path: Path) -> BadInputError:
    return BadInputError(
        f"{path}: no article text found in the HTML (only scripts, menus or other page furniture); "
        f"open the page in a browser and save the article text as .txt instead"
    )


def read_html(path: Path) -> Document:
    """Read a .html/.htm file."""
    raw, meta = decode_bytes(path.read_bytes(), str(path))
    page = _as_page(raw)
    extracted = _extract(page, favor_recall=True)
    text = _text(extracted)
    if not text.strip():
        raise _no_body(path)
    if len(text.split()) < CONFIRM_BELOW_WORDS and not _text(_extract(page, favor_precision=True)).strip():
        raise _no_body(path)
    meta = dict(meta)
    meta.update(
        {key: value for key in ("date", "author", "sitename", "url") if (value := getattr(extracted, key, None))}
    )
    title = getattr(extracted, "title", None) or None
    return text_document(text, source=str(path), title_hint=path.stem, title=title, metadata=meta)
