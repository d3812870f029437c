"""Plain text: decode bytes sensibly and build a Document whose id hashes its source and text.

Decoding: a UTF-16 byte-order mark wins; UTF-16 without one is recognised by
its zero bytes, which fall on one parity only (every other byte of Latin-script
text); then strict UTF-8; UTF-8 text with a
few damaged bytes keeps its good characters and has the bad bytes replaced
with U+FFFD; text with no UTF-8 at all is read as Windows-1252, else Latin-1.
Whatever was not plain UTF-8 is recorded in ``metadata["encoding"]`` (and
``metadata["replaced_bytes"]``) so the front ends can say so. Data with NUL
bytes or many control characters is taken for binary and refused. Language
and charset detection beyond that are left out (so BOM-less UTF-16 of a script
with no zero bytes, such as Chinese, is not recognised).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Mapping

from rag.errors import BadInputError
from rag.ingest.identity import document_id
from rag.types import Document, PageSpan

TITLE_MAX_CHARS = 120
BINARY_SAMPLE_BYTES = 8192
# Share of control bytes (other than tab, newlines, form feed, escape) above which data is binary.
BINARY_CONTROL_SHARE = 0.05
_CONTROL_BYTES = frozenset(set(range(0x20)) - {0x09, 0x0A, 0x0C, 0x0D, 0x1B}) | {0x7F}
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# BOM-less UTF-16: at least this share of code units has a zero byte on one side (ASCII spaces,
# digits and punctuation give that even in Greek or Cyrillic text)...
UTF16_ZERO_SHARE = 0.1
# ...and at most this share on the other (a few characters such as U+0100 have a zero low byte).
UTF16_OTHER_ZERO_SHARE = 0.02


def utf16_without_bom(data: bytes) -> str | None:
    """"utf-16-le" or "utf-16-be" when ``data`` looks like UTF-16 with no byte-order mark, else None.

    >>> utf16_without_bom("Plain words".encode("utf-16-le")), utf16_without_bom(b"plain words")
    ('utf-16-le', None)
    """
    sample = data[: BINARY_SAMPLE_BYTES - BINARY_SAMPLE_BYTES % 2]
    units = len(sample) // 2
    if units < 2:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    for codec, zeros, other in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
        if zeros >= UTF16_ZERO_SHARE * units and other <= UTF16_OTHER_ZERO_SHARE * units:
            return codec
    return None


def _decode_utf16_without_bom(data: bytes) -> tuple[str, str] | None:
    """``(text, codec)`` for BOM-less UTF-16 that decodes to text, else None."""
    codec = None if data.startswith(_UTF16_BOMS) else utf16_without_bom(data)
    if codec is None or len(data) % 2:
        return None
    try:
        text = data.decode(codec)
    except UnicodeDecodeError:
        return None
    if looks_binary(text.encode("utf-8", "surrogatepass")):
        return None
    return text, codec


def looks_binary(data: bytes) -> bool:
    """Whether ``data`` is binary rather than text (NUL bytes, or many control bytes).

    >>> looks_binary(b"plain words"), looks_binary(b"\\x89PNG\\r\\n\\x1a\\n\\x00\\x00")
    (False, True)
    """
    sample = data[:BINARY_SAMPLE_BYTES]
    if sample.startswith(_UTF16_BOMS):
        return False
    if b"\x00" in sample:
        return True
    control = sum(1 for byte in sample if byte in _CONTROL_BYTES)
    return bool(sample) and control / len(sample) > BINARY_CONTROL_SHARE


def _decode_damaged_utf8(data: bytes) -> tuple[str, int] | None:
    """UTF-8 with some invalid bytes: ``(text, bad byte count)``, or None if it is no UTF-8 at all."""
    text = data.decode("utf-8", errors="replace")
    replaced = text.count("\ufffd") - data.count("\ufffd".encode("utf-8"))
    if not any(ord(ch) > 0x7F and ch != "\ufffd" for ch in text):
        return None  # no valid multi-byte character: an 8-bit encoding, not damaged UTF-8
    if replaced * 20 > len(text):
        return None  # mostly garbage as UTF-8
    return text, replaced


def decode_bytes(data: bytes, source: str) -> tuple[str, dict[str, Any]]:
    """Decode ``data`` and return ``(text, metadata)``; refuse binary data.

    ``metadata`` is empty for clean UTF-8, else ``{"encoding": ...}`` and, for
    damaged UTF-8, ``{"replaced_bytes": n}``.

    >>> decode_bytes("café".encode("latin-1"), "x.txt")
    ('café', {'encoding': 'cp1252'})
    """
    utf16 = _decode_utf16_without_bom(data)
    if utf16 is not None:
        return utf16[0], {"encoding": utf16[1]}
    if looks_binary(data):
        raise BadInputError(
            f"{source}: looks like a binary file (an image, archive or program?), not text; "
            f"convert it to .txt, .md, .html or .pdf, or leave it out"
        )
    if data.startswith(_UTF16_BOMS):
        try:
            return data.decode("utf-16"), {"encoding": "utf-16"}
        except UnicodeDecodeError as e:
            raise BadInputError(f"{source}: damaged UTF-16 text ({e.reason}); re-save it as UTF-8") from e
    try:
        return data.decode("utf-8-sig"), {}
    except UnicodeDecodeError:
        pass
    damaged = _decode_damaged_utf8(data)
    if damaged is not None:
        return damaged[0], {"encoding": "utf-8", "replaced_bytes": damaged[1]}
    try:
        return data.decode("cp1252"), {"encoding": "cp1252"}
    except UnicodeDecodeError:
        return data.decode("latin-1"), {"encoding": "latin-1"}  # never fails


_ENCODING_NAMES = {
    "cp1252": "Windows-1252 (Western European)",
    "latin-1": "Latin-1 (ISO-8859-1)",
    "utf-16": "UTF-16 (it starts with a byte-order mark)",
    "utf-16-le": "UTF-16, little-endian (it has no byte-order mark)",
    "utf-16-be": "UTF-16, big-endian (it has no byte-order mark)",
}


def decoding_note(document: Document) -> str | None:
    """A line telling the user how a file that was not clean UTF-8 was read, or None."""
    meta = document.metadata
    encoding = meta.get("encoding")
    if not encoding:
        return None
    if "replaced_bytes" in meta:
        return (
            f"{document.source}: not valid UTF-8 in {meta['replaced_bytes']} place(s); those bytes became "
            f"\N{REPLACEMENT CHARACTER}. Re-save the file as UTF-8 and ingest it again to keep them"
        )
    name = _ENCODING_NAMES.get(encoding, encoding)
    if encoding.startswith("utf-16"):
        return f"{document.source}: read as {name}"
    return (
        f"{document.source}: not UTF-8, read as {name}; if accented letters look wrong, "
        f"re-save the file as UTF-8 and ingest it again"
    )


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
        what = "is empty" if not text else "holds only whitespace"
        raise BadInputError(f"{source}: no text to ingest (it {what}); add text to it or leave it out")
    return Document(
        id=document_id(source, text),
        title=title or make_title(text, title_hint),
        source=source,
        text=text,
        metadata=dict(metadata or {}),
        pages=pages,
    )


def read_text(path: Path) -> Document:
    """Read a .txt file."""
    text, meta = decode_bytes(path.read_bytes(), str(path))
    return text_document(text, source=str(path), title_hint=path.stem, metadata=meta)
