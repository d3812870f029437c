"""Build small PDFs from raw bytes for tests and benchmarks (no reportlab needed).

``build_pdf`` writes a valid PDF 1.7 file: a catalog, a page tree, one
Helvetica font, the given content streams (Flate-compressed) and pages that
each draw one of those streams, so several pages can share one stream.
Pages may also draw form XObjects. ``encrypted_aes_pdf`` adds a standard security handler with AES-128 (V4/R4,
``/AESV2``) and an empty user password: opening works, while every stream is
AES-encrypted (here: random bytes), so reading a page needs the
``cryptography`` package. ``show_text_stream`` makes a content stream of many
``Tj`` operators. Used by tests/test_pdf_limits.py, tests/test_ingest_fuzz.py and bench/parse_scaling.py.
"""

from __future__ import annotations

import random
import zlib
from typing import Sequence


def show_text_stream(operators: int, word: bytes = b"(word) Tj\n", per_line: int = 10) -> bytes:
    """A content stream drawing ``word`` with ``operators`` ``Tj`` operators, a new line every ``per_line``."""
    lines = [b"BT /F1 10 Tf 72 760 Td 12 TL\n"]
    for i in range(operators):
        lines.append(word)
        if (i + 1) % per_line == 0:
            lines.append(b"T*\n")
    lines.append(b"ET\n")
    return b"".join(lines)


def text_page_stream(lines: Sequence[str]) -> bytes:
    """A content stream that writes each of ``lines`` (ASCII) on its own line."""
    body = [b"BT /F1 11 Tf 72 760 Td 14 TL\n"]
    for line in lines:
        escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        body.append(b"(" + escaped.encode("latin-1") + b") Tj T*\n")
    body.append(b"ET\n")
    return b"".join(body)


def _stream_object(data: bytes, compress: bool, entries: bytes = b"") -> bytes:
    if compress:
        data = zlib.compress(data)
        entries += b" /Filter /FlateDecode"
    return b"<< %s /Length %d >>\nstream\n" % (entries, len(data)) + data + b"\nendstream"


def _serialize(objects: list[bytes], trailer_extra: bytes) -> bytes:
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, trailer_extra, xref)
    return bytes(out)


def build_pdf(
    streams: Sequence[bytes],
    pages: Sequence[int] | None = None,
    compress: bool = True,
    forms: Sequence[bytes] = (),
    extra_objects: Sequence[bytes] = (),
    trailer_extra: bytes = b"",
) -> bytes:
    """A PDF whose page ``i`` draws ``streams[pages[i]]`` (default: one page per stream).

    ``forms`` are form XObjects every page may draw as ``/X0 Do``, ``/X1 Do``, ...;
    ``extra_objects`` are appended last (numbered from ``4 + len(forms) + len(streams) +
    len(pages)``) and ``trailer_extra`` goes into the trailer dictionary.
    """
    pages = list(range(len(streams))) if pages is None else list(pages)
    first_form = 4
    first_stream = first_form + len(forms)
    first_page = first_stream + len(streams)
    kids = b" ".join(b"%d 0 R" % (first_page + i) for i in range(len(pages)))
    fonts = b"/Font << /F1 3 0 R >>"
    xobjects = b" ".join(b"/X%d %d 0 R" % (i, first_form + i) for i in range(len(forms)))
    resources = b"<< %s /XObject << %s >> >>" % (fonts, xobjects) if forms else b"<< %s >>" % fonts
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(pages)),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    form_dict = b"/Type /XObject /Subtype /Form /BBox [0 0 612 792] /Resources << %s >>" % fonts
    objects += [_stream_object(data, compress, form_dict) for data in forms]
    objects += [_stream_object(data, compress) for data in streams]
    objects += [
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources %s /Contents %d 0 R >>"
        % (resources, first_stream + index)
        for index in pages
    ]
    objects += list(extra_objects)
    return _serialize(objects, trailer_extra)


def encrypted_aes_pdf(pages: int = 2) -> bytes:
    """A PDF encrypted with AES-128 and an empty user password (its streams are random bytes)."""
    from pypdf._encryption import EncryptAlgorithm, Encryption

    file_id = b"0123456789abcdef"
    encryption = Encryption.make(EncryptAlgorithm.AES_128, -4, file_id)
    entry = encryption.write_entry("", "owner")  # O and U values by RC4/MD5: no `cryptography` needed
    encrypt = (
        b"<< /Filter /Standard /V 4 /R 4 /Length 128 /P -4 /O <%s> /U <%s> "
        b"/CF << /StdCF << /AuthEvent /DocOpen /CFM /AESV2 /Length 16 >> >> /StmF /StdCF /StrF /StdCF >>"
        % (bytes(entry["/O"]).hex().encode(), bytes(entry["/U"]).hex().encode())
    )
    rng = random.Random(pages)
    streams = [rng.randbytes(112) for _ in range(pages)]  # a 16-byte IV and "ciphertext"
    number = 4 + 2 * pages
    trailer = b"/Encrypt %d 0 R /ID [<%s> <%s>] " % (number, file_id.hex().encode(), file_id.hex().encode())
    return build_pdf(streams, compress=False, extra_objects=[encrypt], trailer_extra=trailer)
