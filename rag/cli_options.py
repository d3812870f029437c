"""The pieces the ``rag`` parsers are made of: one-line usage errors (exit 2), help with more text, types.

rag/cli.py builds the commands from these; ``rag eval`` (rag/evaluation/cli.py)
gets the same parser class through it.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from typing import Any, Callable, NoReturn

USAGE_ERROR = 2


class Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the examples' line breaks; wider help columns."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32)


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line and exit code 2."""

    more_help: Callable[[], str] | None = None

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"rag: {message} (see `{self.prog} --help`)\n")
        raise SystemExit(USAGE_ERROR)

    def format_help(self) -> str:
        text = super().format_help()
        if self.more_help is None:
            return text
        width = max(self._get_formatter()._width, 40)
        more = "\n".join(textwrap.fill(line, width) for line in self.more_help().splitlines())
        return f"{text}\n{more}\n"


class UsageError(Exception):
    """The command line is wrong in a way argparse cannot see (exit code 2)."""


def non_blank(what: str, example: str) -> Callable[[str], str]:
    """An argparse type: non-blank text (a question, a query, a topic)."""

    def check(value: str) -> str:
        if not value.strip():
            raise argparse.ArgumentTypeError(f"the {what} is empty; {example}")
        return value

    check.__name__ = what
    return check


def positive(kind: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse type: a number (``kind``: int or float) above 0."""

    def check(value: str) -> Any:
        try:
            number = kind(value)
        except ValueError:
            number = 0
        if not number > 0:
            raise argparse.ArgumentTypeError(f"expected a number above 0, got {value!r}")
        return number

    check.__name__ = kind.__name__
    return check


__all__ = ["USAGE_ERROR", "Formatter", "Parser", "UsageError", "non_blank", "positive"]
