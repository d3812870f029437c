"""What reading one file may cost, as named limits, and the sentences that state them.

Every reader runs in time linear in its input, and these limits bound the
input: a file's size, and for PDFs (whose few kilobytes can hold millions of
drawing instructions) the operators read per page and per file, a time
backstop, and the extracted text, checked page by page. HTML nested deeper
than libxml2 can parse is refused; deep nesting below that is flattened so
the extractor stays fast. The front ends show ``limits_help()`` so users
know the limits before they meet them.
"""

from __future__ import annotations

from rag.errors import InputTooLargeError
from rag.settings import DEFAULT_MAX_FILE_BYTES

# The largest file (and extracted text) taken as one article: 20 MB is some thousand
# long articles; anything bigger is almost surely not one article.
MAX_FILE_BYTES = DEFAULT_MAX_FILE_BYTES  # Settings.max_file_bytes is what callers pass
# PDF files carry images and fonts besides their text, so they may be this much larger on disk.
PDF_SIZE_FACTOR = 10
# A page is read up to this many content-stream operators (form XObjects drawn on it
# included): a dense page of text holds a few thousand, a pdfTeX page a few hundred.
# A heavier page (a map, a chart, a hostile file) is left out, with a note.
MAX_PDF_PAGE_OPERATORS = 50_000
# pypdf's parser counts tokens (operators and operands); a page's stream may hold this
# many per operator allowed before parsing stops.
PDF_TOKENS_PER_OPERATOR = 4
# Operators read in one PDF in all (pages left out count in full): past it the file is refused.
MAX_PDF_OPERATORS = 1_000_000
# A backstop on the wall-clock time reading one PDF, for work the operator count cannot see
# (form XObjects too big to parse, drawn many times).
MAX_PDF_SECONDS = 60.0
# libxml2 stops building the tree at this depth even in "huge" mode; deeper HTML is refused.
MAX_HTML_DEPTH = 2048
# Elements nested deeper than this are unwrapped (their text kept) before extraction.
HTML_FLATTEN_DEPTH = 100


def megabytes(size: int) -> str:
    """``size`` bytes in megabytes, one decimal.

    >>> megabytes(20_000_000)
    '20.0 MB'
    """
    return f"{size / 1_000_000:,.1f} MB"


def too_large(source: object, size: int, limit: int, what: str = "file") -> InputTooLargeError:
    """The error for ``what`` of ``source`` being ``size`` bytes (or characters), over ``limit``."""
    return InputTooLargeError(
        f"{source}: the {what} is {megabytes(size)} ({size:,} bytes), over the {megabytes(limit)} limit "
        f"for one article; split it into one file per article, or raise the limit (max_file_bytes)"
    )


def check_text_size(text: str, max_bytes: int, source: object, what: str = "text") -> None:
    """Refuse ``text`` (pasted or sent) whose UTF-8 size is over ``max_bytes``, the limit files have too.

    >>> check_text_size("short", 10, "pasted text")
    >>> check_text_size("x" * 11, 10, "pasted text")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    rag.errors.InputTooLargeError: pasted text: the text is 0.0 MB (11 bytes), over the 0.0 MB limit ...
    """
    if len(text) * 4 <= max_bytes:  # no string of this many characters can be over the limit
        return
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise too_large(source, size, max_bytes, what)


def limits_help(max_bytes: int = MAX_FILE_BYTES) -> str:
    """The limits on one file, as sentences for ``--help`` and the UI.

    >>> print(limits_help())  # doctest: +NORMALIZE_WHITESPACE
    Limits per file: at most 20.0 MB (a PDF 200.0 MB on disk) and 20.0 MB of extracted text.
    A PDF page with more than 50,000 drawing operators is left out (with a note); a PDF with
    more than 1,000,000 operators in all, or that takes over 60 seconds to read, is refused.
    HTML nested more than 2,048 levels deep is refused.
    """
    return (
        f"Limits per file: at most {megabytes(max_bytes)} (a PDF {megabytes(max_bytes * PDF_SIZE_FACTOR)} on disk) "
        f"and {megabytes(max_bytes)} of extracted text.\n"
        f"A PDF page with more than {MAX_PDF_PAGE_OPERATORS:,} drawing operators is left out (with a note); "
        f"a PDF with more than {MAX_PDF_OPERATORS:,} operators in all, or that takes over "
        f"{MAX_PDF_SECONDS:.0f} seconds to read, is refused.\n"
        f"HTML nested more than {MAX_HTML_DEPTH:,} levels deep is refused."
    )
