"""PDF: the text layer of each page via pypdf, with page spans kept.

Pages are joined by a blank line; ``Document.pages`` records which characters
came from which page, so every chunk and citation knows its page. OCR of
scanned PDFs is left out: such files are refused with a hint.
"""

from __future__ import annotations

from pathlib import Path

from pypdf import PdfReader
from pypdf.errors import PdfReadError

from rag.errors import BadInputError
from rag.ingest.text import normalize_text, text_document
from rag.types import Document, PageSpan


def _open(path: Path) -> PdfReader:
    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted and not reader.decrypt(""):
            raise BadInputError(f"{path}: the PDF is encrypted; save a decrypted copy and ingest that")
        return reader
    except BadInputError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError) as e:
        raise BadInputError(f"{path}: damaged or truncated PDF ({e}); re-download or re-export it") from e


def read_pdf(path: Path) -> Document:
    """Read a .pdf file."""
    reader = _open(path)
    parts: list[str] = []
    spans: list[PageSpan] = []
    offset = 0
    try:
        for number, page in enumerate(reader.pages, start=1):
            text = normalize_text(page.extract_text() or "").strip()
            if not text:
                continue
            if parts:
                offset += 2
            spans.append(PageSpan(page=number, start=offset, end=offset + len(text)))
            parts.append(text)
            offset += len(text)
    except (PdfReadError, ValueError, KeyError, TypeError) as e:
        raise BadInputError(f"{path}: damaged or truncated PDF ({e}); re-download or re-export it") from e
    if not parts:
        raise BadInputError(f"{path}: the PDF has no text layer (scanned?); run OCR on it first (e.g. ocrmypdf)")
    title = (reader.metadata.title if reader.metadata else None) or None
    return text_document("\n\n".join(parts), source=str(path), title_hint=path.stem, title=title, pages=tuple(spans))
