"""HTML: the main article text and its metadata via trafilatura.

Navigation, ads, footers and scripts are dropped by trafilatura's extractor;
only text survives, so nothing from the page can run later. Fetching URLs is
left out: save the page first.
"""

from __future__ import annotations

from pathlib import Path

import trafilatura

from rag.errors import BadInputError
from rag.ingest.text import decode_bytes, text_document
from rag.types import Document


def read_html(path: Path) -> Document:
    """Read a .html/.htm file."""
    raw, _ = decode_bytes(path.read_bytes(), str(path))
    extracted = trafilatura.bare_extraction(
        raw, include_comments=False, include_tables=True, with_metadata=True, favor_recall=True
    )
    text = getattr(extracted, "text", None) if extracted is not None else None
    if not text or not text.strip():
        raise BadInputError(f"{path}: no article text found in the HTML; save the article as .txt instead")
    meta = {
        key: value
        for key in ("date", "author", "sitename", "url")
        if (value := getattr(extracted, key, None))
    }
    title = getattr(extracted, "title", None) or None
    return text_document(text, source=str(path), title_hint=path.stem, title=title, metadata=meta)
