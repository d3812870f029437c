"""PDF: the text layer of each page via pypdf, wrapped lines joined, page spans kept.

pypdf ends a line wherever the page wrapped it, and rag/sentences.py reads a
line break as a paragraph break, so ``join_wrapped_lines`` rejoins each
page's lines into paragraphs: a line that does not end a sentence is joined
to the next with a space ("exam-" + "ple" becomes "example"), while sentence
ends, short lines (headings, last lines), list items and blank lines keep
their break. Pages are joined by a blank line; ``Document.pages`` records
which characters came from which page, computed on the final text, so every
chunk and citation knows its page. Encrypted, damaged and truncated files are
refused with a hint. OCR of scanned PDFs and multi-column layout analysis are
left out: a PDF with no text layer is refused.
"""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

from pypdf import PdfReader
from pypdf.errors import DependencyError, FileNotDecryptedError, PyPdfError

from rag.errors import BadInputError
from rag.ingest.text import normalize_text, text_document
from rag.sentences import ABBREVIATIONS
from rag.types import Document, PageSpan

# pypdf raises its own errors, but damaged files also surface as these from its parsers.
_DAMAGED = (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError,
            RecursionError, AssertionError, zlib.error, struct.error)
# A line shorter than this share of the page's longest line ends its paragraph.
SHORT_LINE_SHARE = 0.6
_SENTENCE_END = re.compile(r"[.!?:;…][\"'”’)\]]*$")
_LIST_ITEM = re.compile(r"^(?:[•▪◦‣∙·*–—-]\s|\(?\d{1,3}[.)]\s|\(?[a-z][.)]\s)")
_HYPHENATED = re.compile(r"[^\W\d_]-$")


def _ends_sentence(line: str, following: str) -> bool:
    if not _SENTENCE_END.search(line):
        return False
    if following[:1].islower():
        return False  # "e.g." or "approx." mid-sentence
    word = re.search(r"([\w.]+)\.$", line)
    return not (word and word.group(1).lower().rstrip(".") in ABBREVIATIONS)


def _separator(line: str, following: str, width: int) -> str:
    """What goes between two lines of one paragraph: "" (de-hyphenated), " " or "\\n"."""
    if _HYPHENATED.search(line) and following[:1].islower():
        return ""
    if _ends_sentence(line, following) or _LIST_ITEM.match(following):
        return "\n"
    if len(line) < SHORT_LINE_SHARE * width:
        return "\n"
    return " "


def _join_paragraph(lines: list[str], width: int) -> str:
    parts = [lines[0]]
    for previous, line in zip(lines, lines[1:], strict=False):
        sep = _separator(previous, line, width)
        if sep == "":
            parts[-1] = parts[-1][:-1]  # drop the hyphen
        parts.extend((sep, line))
    return "".join(parts)


def join_wrapped_lines(text: str) -> str:
    """Rejoin lines that a PDF page wrapped mid-sentence; keep real breaks.

    >>> join_wrapped_lines("Annual Report\\nWater use fell by a quar-\\nter this year, the board\\nsaid.\\nPage 1")
    'Annual Report\\nWater use fell by a quarter this year, the board said.\\nPage 1'
    """
    blocks = re.split(r"\n[ \t]*\n", text)
    lines_of = [[line.strip() for line in block.split("\n") if line.strip()] for block in blocks]
    width = max((len(line) for lines in lines_of for line in lines), default=0)
    return "\n\n".join(_join_paragraph(lines, width) for lines in lines_of if lines)


def _damaged(path: Path, e: BaseException) -> BadInputError:
    return BadInputError(f"{path}: damaged or truncated PDF ({e}); download or export it again")


def _open(path: Path) -> PdfReader:
    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted and not reader.decrypt(""):
            raise BadInputError(f"{path}: the PDF is encrypted with a password; save a decrypted copy and ingest that")
        return reader
    except DependencyError as e:
        raise BadInputError(
            f"{path}: the PDF is encrypted with AES, which needs the `cryptography` package; "
            f"run `pip install cryptography`, or save a decrypted copy"
        ) from e
    except _DAMAGED as e:
        raise _damaged(path, e) from e


def _page_texts(path: Path, reader: PdfReader) -> list[tuple[int, str]]:
    """``(page number, joined text)`` of every page with a text layer."""
    pages: list[tuple[int, str]] = []
    try:
        for number, page in enumerate(reader.pages, start=1):
            text = join_wrapped_lines(normalize_text(page.extract_text() or ""))
            if text:
                pages.append((number, text))
    except FileNotDecryptedError as e:
        raise BadInputError(f"{path}: the PDF is encrypted; save a decrypted copy and ingest that") from e
    except _DAMAGED as e:
        raise _damaged(path, e) from e
    return pages


def read_pdf(path: Path) -> Document:
    """Read a .pdf file."""
    reader = _open(path)
    pages = _page_texts(path, reader)
    if not pages:
        raise BadInputError(
            f"{path}: the PDF has no text layer (a scan or images only?); run OCR on it first "
            f"(e.g. `ocrmypdf in.pdf out.pdf`) and ingest the result"
        )
    spans: list[PageSpan] = []
    offset = 0
    for number, text in pages:
        spans.append(PageSpan(page=number, start=offset, end=offset + len(text)))
        offset += len(text) + 2
    try:
        title = (reader.metadata.title if reader.metadata else None) or None
    except _DAMAGED:
        title = None
    joined = "\n\n".join(text for _, text in pages)
    return text_document(joined, source=str(path), title_hint=path.stem, title=title, pages=tuple(spans))
