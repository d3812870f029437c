"""Making text from articles safe to show: on a terminal, in Markdown, and shortened for a label.

Titles, file names and quotes come from the articles and their files, so they
may hold anything: terminal control sequences (a PDF ``/Title`` or a file name
with ESC in it would recolour or rewrite the user's terminal), HTML, or
Markdown that a viewer would turn into links and remote images. These helpers
turn such text into something that is only ever shown, never obeyed. HTML for
the web UI is escaped in rag/web/render.py; JSON output needs nothing
(``json.dumps`` escapes control characters).
"""

from __future__ import annotations

import re

# C0 controls, DEL, C1 controls, and the Unicode bidirectional overrides and isolates
# (which can make text read differently from what it is).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_LINE_BREAKS = re.compile(r"[\t\n\r\v\f]+")
# Characters that Markdown (CommonMark and GitHub's) or HTML would treat as markup.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>&|~])")
# Markers that make a line a heading, list item, rule or quote when they start it.
_LINE_START = re.compile(r"^(\s*)([#+=>-]|\d+[.)])")


def _escape_control(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, keep_lines: bool = False) -> str:
    """``text`` with every control character shown as an escape, never sent to the terminal as is.

    One-line fields (titles, sources) also have tabs and line breaks turned into
    spaces; with ``keep_lines`` (a document's body) newlines and tabs are kept.

    >>> printable("Title\\x1b[31m red\\x07")
    'Title\\\\x1b[31m red\\\\x07'
    >>> printable("two\\nlines"), printable("two\\nlines", keep_lines=True)
    ('two lines', 'two\\nlines')
    """
    if keep_lines:
        return "\n".join(_CONTROL.sub(_escape_control, line.replace("\t", "    ")) for line in text.split("\n"))
    return _CONTROL.sub(_escape_control, _LINE_BREAKS.sub(" ", text))


def markdown_text(text: str) -> str:
    """``text`` as Markdown that shows it literally: no HTML, links, images or emphasis from it.

    Whitespace runs (line breaks included) become one space, so the text stays one paragraph.

    >>> print(markdown_text("![x](http://remote.example/p.png) <b>hi</b> *so*"))
    !\\[x\\](http://remote.example/p.png) \\<b\\>hi\\</b\\> \\*so\\*
    >>> print(markdown_text("# not a heading"))
    \\# not a heading
    """
    flat = " ".join(printable(text).split())
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", flat)
    return _LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), escaped, count=1)


def shorten(text: str, width: int) -> str:
    """``text`` cut to at most ``width`` characters at a word boundary, with "…" when cut.

    >>> shorten("NATO Secretary General Mark Rutte called on alliance members", 40)
    'NATO Secretary General Mark Rutte…'
    >>> shorten("Short title", 40)
    'Short title'
    """
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    cut = text[: width - 1]
    space = cut.rfind(" ")
    if space >= width // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-\u2013\u2014") + "\u2026"


def human_bytes(size: int) -> str:
    """A size in bytes the way people read it (decimal units, as disks are sold).

    >>> human_bytes(812), human_bytes(53_200), human_bytes(1_234_567), human_bytes(3_400_000_000)
    ('812 bytes', '53.2 kB', '1.2 MB', '3.4 GB')
    """
    if size < 1000:
        return f"{size} bytes"
    value = float(size)
    for unit in ("kB", "MB", "GB"):
        value /= 1000
        if value < 999.95:
            return f"{value:.1f} {unit}"
    return f"{value / 1000:,.1f} TB"


__all__ = ["human_bytes", "markdown_text", "printable", "shorten"]
