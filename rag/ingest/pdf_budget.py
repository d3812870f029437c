"""Bound the work of reading a PDF's pages: operators per page and per file, and time.

pypdf parses a whole content stream before it runs it, and parses a form
XObject again every time a page draws it, so a few kilobytes of PDF can ask
for minutes of work. ``PageBudget`` bounds it three ways, with the limits of
rag/ingest/limits.py:

- pypdf's own parser budget (``stream_parsing_work_maximum_count``) stops any
  one stream after ``PDF_TOKENS_PER_OPERATOR * MAX_PDF_PAGE_OPERATORS`` tokens;
- an operator visitor counts what a page runs, forms included, and stops the
  page past ``MAX_PDF_PAGE_OPERATORS``. Each form drawn is also charged what
  parsing it costs (its tokens over ``PDF_TOKENS_PER_OPERATOR``), measured
  once per form when first drawn; drawing a form too big (or too damaged) to
  parse makes the page too heavy at once;
- the file as a whole may spend ``MAX_PDF_OPERATORS`` (a page left out costs
  the full page allowance) and ``MAX_PDF_SECONDS``.

Pages that share a content stream found too heavy are left out without
reading it again. The visitor stops a page by raising ``PageTooHeavy``, a
BaseException, because pypdf wraps form extraction in ``except Exception``.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

from pypdf import PageObject, PdfReader, apply_configuration
from pypdf.errors import LimitReachedError, PyPdfError
from pypdf.generic import ArrayObject, ContentStream, DictionaryObject, IndirectObject

from rag.ingest import limits  # read at call time, so a caller (or a test) can change a limit

_TOO_HEAVY = -1
_UNPARSABLE = (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError)


class PageTooHeavy(BaseException):
    """Stops pypdf mid-page (a BaseException: pypdf's ``except Exception`` cannot swallow it)."""


@contextmanager
def parser_limits() -> Iterator[None]:
    """pypdf's parser budget per content stream, for the length of a ``with`` block."""
    tokens = limits.PDF_TOKENS_PER_OPERATOR * limits.MAX_PDF_PAGE_OPERATORS
    with apply_configuration(stream_parsing_work_maximum_count=tokens):
        yield


def _tokens(operands: Any) -> int:
    count = 0
    for operand in operands:
        count += 1
        if isinstance(operand, (ArrayObject, list)):
            count += _tokens(operand)
        elif isinstance(operand, DictionaryObject):
            count += 2 * len(operand)
    return count


def _xobjects(owner: Any) -> dict[str, Any]:
    """The raw ``/XObject`` entries of a page's or form's resources."""
    try:
        resources = owner.get_inherited("/Resources") if isinstance(owner, PageObject) else owner.get("/Resources")
        xobjects = resources.get_object().get("/XObject") if resources is not None else None
        return {name: xobjects.raw_get(name) for name in xobjects} if xobjects is not None else {}
    except (AttributeError, TypeError, KeyError):
        return {}


@dataclass
class PageBudget:
    """Operators and time spent on one PDF, and what the current page may still spend."""

    reader: PdfReader
    deadline: float = field(default_factory=lambda: time.monotonic() + limits.MAX_PDF_SECONDS)
    operators: int = 0
    page_operators: int = 0
    heavy_contents: set[Any] = field(default_factory=set)
    _form_cost: dict[Any, int] = field(default_factory=dict)
    _names: dict[str, Any] = field(default_factory=dict)

    def visit(self, operator: bytes, operands: Any, cm: Any, tm: Any) -> None:
        """pypdf's ``visitor_operand_before``: count, and stop a page that runs too long."""
        self.page_operators += 1
        if operator == b"Do" and operands:
            self.page_operators += self._draw_cost(str(operands[0]))
        if self.page_operators > limits.MAX_PDF_PAGE_OPERATORS or time.monotonic() > self.deadline:
            raise PageTooHeavy

    def file_spent(self) -> bool:
        """Whether the file as a whole is over its operators or time."""
        return self.operators > limits.MAX_PDF_OPERATORS or time.monotonic() > self.deadline

    def start_page(self, page: PageObject) -> None:
        """Start counting a page; the forms it can draw are costed when first drawn."""
        self.page_operators = 0
        self._names = _xobjects(page)

    def end_page(self, heavy: bool, key: Any) -> None:
        """Charge the page to the file: all it ran, or its full allowance if it was left out."""
        self.operators += limits.MAX_PDF_PAGE_OPERATORS if heavy else self.page_operators
        if heavy and key is not None:
            self.heavy_contents.add(key)

    def _draw_cost(self, name: str) -> int:
        """What pypdf's parse of the form ``name`` costs, in operators (0 for images)."""
        ref = self._names.get(name)
        form = ref.get_object() if ref is not None else None
        if form is None or not hasattr(form, "get_data") or form.get("/Subtype") != "/Form":
            return 0
        key = ref.idnum if isinstance(ref, IndirectObject) else id(form)
        if key not in self._form_cost:
            self._form_cost[key] = self._measure(form)
        if self._form_cost[key] == _TOO_HEAVY:
            raise PageTooHeavy
        for inner, inner_ref in _xobjects(form).items():  # forms it draws resolve their names here
            self._names.setdefault(inner, inner_ref)
        return self._form_cost[key]

    def _measure(self, form: Any) -> int:
        """What parsing ``form`` once costs, in operators, or _TOO_HEAVY."""
        try:
            operations = ContentStream(form, self.reader).operations
        except (LimitReachedError, *_UNPARSABLE):
            return _TOO_HEAVY  # pypdf would parse it again, up to the failure, at every draw
        tokens = sum(1 + _tokens(operands) for operands, _ in operations)
        return tokens // limits.PDF_TOKENS_PER_OPERATOR


def contents_key(page: PageObject) -> Any:
    """What identifies a page's content stream(s), so pages sharing a heavy one skip it."""
    contents = page.raw_get("/Contents") if "/Contents" in page else None
    if isinstance(contents, IndirectObject):
        return contents.idnum
    try:
        return tuple(item.idnum for item in contents) if contents is not None else None
    except (AttributeError, TypeError):
        return None
