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

Reading is bounded (rag/ingest/pdf_budget.py, limits in rag/ingest/limits.py):
a page over ``MAX_PDF_PAGE_OPERATORS`` (form XObjects included) is left out
and named in ``metadata["skipped_pages"]``; the file is refused once its
extracted text passes ``max_chars``, or its operators ``MAX_PDF_OPERATORS``,
or its reading time ``MAX_PDF_SECONDS``, all checked page by page. Pages with
no operator that can show text are not parsed at all.
"""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path
from typing import Any

from pypdf import PageObject, PdfReader
from pypdf.errors import DependencyError, FileNotDecryptedError, LimitReachedError, PyPdfError

from rag.errors import BadInputError
from rag.ingest import limits
from rag.ingest.limits import MAX_FILE_BYTES, megabytes
from rag.ingest.pdf_budget import PageBudget, PageTooHeavy, contents_key, parser_limits
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
# Operators that can put text on a page (show text, or draw a form that may).
_MAY_SHOW_TEXT = re.compile(rb"Tj|TJ|Do|['\"]")


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


def _needs_package(path: Path, e: DependencyError) -> BadInputError:
    if "AES" in str(e):
        return BadInputError(
            f"{path}: the PDF is encrypted with AES, which needs the `cryptography` package; "
            f"run `pip install cryptography`, or save a decrypted copy"
        )
    return BadInputError(f"{path}: reading this PDF needs an optional package ({e}); install it or save a plain copy")


def _open(path: Path) -> PdfReader:
    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted and not reader.decrypt(""):
            raise BadInputError(f"{path}: the PDF is encrypted with a password; save a decrypted copy and ingest that")
        return reader
    except DependencyError as e:
        raise _needs_package(path, e) from e
    except _DAMAGED as e:
        raise _damaged(path, e) from e


def _may_show_text(page: PageObject) -> bool:
    contents = page.get_contents()
    return contents is not None and _MAY_SHOW_TEXT.search(contents.get_data()) is not None


def _page_text(page: PageObject, budget: PageBudget) -> str | None:
    """The page's joined text ("" if it shows none), or None when it is over the budget."""
    key = contents_key(page)
    if key is not None and key in budget.heavy_contents:
        return None
    if not _may_show_text(page):
        return ""
    budget.start_page(page)
    try:
        text = page.extract_text(visitor_operand_before=budget.visit)
    except (PageTooHeavy, LimitReachedError):
        budget.end_page(heavy=True, key=key)
        return None
    budget.end_page(heavy=False, key=key)
    return join_wrapped_lines(normalize_text(text or ""))


def _check_budget(path: Path, budget: PageBudget, number: int, chars: int, max_chars: int) -> None:
    if chars > max_chars:
        raise BadInputError(
            f"{path}: the extracted text passes the {megabytes(max_chars)} ({max_chars:,} characters) limit for one "
            f"article at page {number}; split it into one file per article, or raise the limit (max_file_bytes)"
        )
    if budget.file_spent():
        raise BadInputError(
            f"{path}: the PDF holds more drawing instructions than rag reads in one file "
            f"({limits.MAX_PDF_OPERATORS:,} operators or {limits.MAX_PDF_SECONDS:.0f} seconds, "
            f"reached at page {number}); split it, or save its text as .txt"
        )


def _page_texts(path: Path, reader: PdfReader, max_chars: int) -> tuple[list[tuple[int, str]], list[int]]:
    """``(page number, joined text)`` of every page with a text layer, and the pages left out."""
    pages: list[tuple[int, str]] = []
    skipped: list[int] = []
    budget = PageBudget(reader)
    chars = 0
    try:
        with parser_limits():
            for number, page in enumerate(reader.pages, start=1):
                text = _page_text(page, budget)
                if text is None:
                    skipped.append(number)
                elif text:
                    pages.append((number, text))
                    chars += len(text) + 2
                _check_budget(path, budget, number, chars, max_chars)
    except FileNotDecryptedError as e:
        raise BadInputError(f"{path}: the PDF is encrypted; save a decrypted copy and ingest that") from e
    except DependencyError as e:
        raise _needs_package(path, e) from e
    except _DAMAGED as e:
        raise _damaged(path, e) from e
    return pages, skipped


def _pages_list(numbers: list[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:10])
    return shown + (f" and {len(numbers) - 10} more" if len(numbers) > 10 else "")


def skipped_pages_note(source: str, metadata: dict[str, Any]) -> str | None:
    """A line telling the user which PDF pages were left out as too heavy, or None."""
    skipped = metadata.get("skipped_pages")
    if not skipped:
        return None
    return (
        f"{source}: page(s) {_pages_list(list(skipped))} left out: each holds more than "
        f"{limits.MAX_PDF_PAGE_OPERATORS:,} drawing operators, or a drawing too damaged to read "
        f"(a map, a chart or a damaged page)"
    )


def _no_text(path: Path, skipped: list[int]) -> BadInputError:
    if skipped:
        return BadInputError(
            f"{path}: no readable text: every page that could hold text has more than "
            f"{limits.MAX_PDF_PAGE_OPERATORS:,} drawing operators (pages {_pages_list(skipped)}); "
            f"export the text as .txt and ingest that"
        )
    return BadInputError(
        f"{path}: the PDF has no text layer (a scan or images only?); run OCR on it first "
        f"(e.g. `ocrmypdf in.pdf out.pdf`) and ingest the result"
    )


def read_pdf(path: Path, max_chars: int = MAX_FILE_BYTES) -> Document:
    """Read a .pdf file, refusing it as soon as its extracted text passes ``max_chars``."""
    reader = _open(path)
    pages, skipped = _page_texts(path, reader, max_chars)
    if not pages:
        raise _no_text(path, skipped)
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
    metadata = {"skipped_pages": skipped} if skipped else {}
    return text_document(
        joined, source=str(path), title_hint=path.stem, title=title, metadata=metadata, pages=tuple(spans)
    )
