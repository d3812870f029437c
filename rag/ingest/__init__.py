"""Read files, folders and stdin into Documents, one reader per format.

``load_paths`` walks folders recursively (symlink loops are reported and
skipped), picks a reader by extension and collects a BadInputError per file
that cannot be read, so one bad file never stops a batch; files that were
read but not as clean UTF-8, or PDFs with pages left out, get a line in
``LoadResult.notes``. Any exception a reader raises, expected or not (a
pypdf ``DependencyError``, a parser bug), becomes that file's problem,
naming the file; it never stops the batch. Before a file
is opened its kind and size are checked with stat(): only regular files are
read (a FIFO would block, a socket cannot be read), and a file over
``max_bytes`` is refused without being loaded. The limit is a size, not a
stream: a news article is kilobytes, and a 100 MB text file is a book, a log
or a dump that would become one enormous "article"; the user is told to split
it. Readers only read: chunking, embedding and storage happen elsewhere. The
limits on what reading one file may cost are in rag/ingest/limits.py.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Callable, Iterator, TextIO

from rag.errors import BadInputError
from rag.ingest.html import read_html
from rag.ingest.identity import file_source, with_source
from rag.ingest.limits import MAX_FILE_BYTES, PDF_SIZE_FACTOR, limits_help, too_large
from rag.ingest.markdown import read_markdown
from rag.ingest.pdf import read_pdf, skipped_pages_note
from rag.ingest.text import decode_bytes, decoding_note, read_text, text_document
from rag.types import Document

Reader = Callable[[Path], Document]
__all__ = ["MAX_FILE_BYTES", "PDF_SIZE_FACTOR", "READERS", "LoadResult", "Reader", "check_file", "limits_help",
           "load_paths", "read_file", "read_stdin", "unexpected_failure"]

READERS: dict[str, Reader] = {
    ".txt": read_text,
    ".text": read_text,
    ".md": read_markdown,
    ".markdown": read_markdown,
    ".html": read_html,
    ".htm": read_html,
    ".pdf": read_pdf,
}
# Longest exception text quoted in the problem for an unexpected reader failure.
_ERROR_CHARS = 200
_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


@dataclass
class LoadResult:
    """Documents read, the per-file problems met on the way, and notes for the user."""

    documents: list[Document] = field(default_factory=list)
    problems: list[BadInputError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _stat_error(path: Path, e: OSError) -> BadInputError:
    if e.errno == errno.ELOOP:
        return BadInputError(f"{path}: symbolic link loop (the link points back to itself); fix or remove the link")
    if e.errno == errno.ENOENT and path.is_symlink():
        target = os.readlink(path)
        return BadInputError(f"{path}: broken symbolic link (its target {target} does not exist); fix or remove it")
    return BadInputError(f"{path}: cannot read ({e.strerror or e}); check the path and its permissions")


def check_file(path: Path, max_bytes: int = MAX_FILE_BYTES) -> None:
    """Refuse, without opening it, a path that is not a regular, non-empty file within the size limit."""
    try:
        info = os.stat(path)
    except OSError as e:
        raise _stat_error(path, e) from e
    if not stat.S_ISREG(info.st_mode):
        kind = next((name for test, name in _KINDS if test(info.st_mode)), "not a regular file")
        raise BadInputError(f"{path}: is {kind}, not a file; ingest regular files only")
    if info.st_size == 0:
        raise BadInputError(f"{path}: the file is empty (0 bytes); add text to it or leave it out")
    limit = max_bytes * PDF_SIZE_FACTOR if path.suffix.lower() == ".pdf" else max_bytes
    if info.st_size > limit:
        raise too_large(path, info.st_size, limit)


def read_file(path: Path, max_bytes: int = MAX_FILE_BYTES) -> Document:
    """Read one file with the reader for its extension, refusing what it cannot take.

    The document's source is the file's resolved absolute path (rag/ingest/identity.py).
    Raises BadInputError (naming the file) for anything that goes wrong, expected or not.
    """
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        supported = ", ".join(sorted(READERS))
        raise BadInputError(f"{path}: unsupported file type {path.suffix or '(none)'!r}; use one of {supported}")
    check_file(path, max_bytes)
    try:
        document = read_pdf(path, max_chars=max_bytes) if reader is read_pdf else reader(path)
    except BadInputError:
        raise
    except OSError as e:
        raise BadInputError(f"{path}: cannot read ({e.strerror or e}); check the path and its permissions") from e
    except Exception as e:  # a reader bug or a library's unguarded error is this file's problem
        raise unexpected_failure(str(path), e) from e
    if len(document.text) > max_bytes:
        raise too_large(path, len(document.text), max_bytes, "extracted text")
    return with_source(document, file_source(path))


def _seen_before(root: str) -> BadInputError:
    """The problem for a folder reached a second time through a symbolic link."""
    real, parent = os.path.realpath(root), os.path.realpath(os.path.dirname(root))
    if parent == real or parent.startswith(real + os.sep):
        return BadInputError(
            f"{root}: symbolic link loop (a folder link back to a folder above it) skipped; its files were read once"
        )
    return BadInputError(
        f"{root}: the same folder as one already read (via a symbolic link); skipped so its files go in once"
    )


def _walk(folder: Path, problems: list[BadInputError]) -> Iterator[Path]:
    seen: set[tuple[int, int]] = set()

    def on_error(e: OSError) -> None:
        problems.append(BadInputError(f"{e.filename}: cannot read folder ({e.strerror}); check its permissions"))

    for root, dirs, files in os.walk(folder, followlinks=True, onerror=on_error):
        try:
            info = os.stat(root)
        except OSError as e:
            on_error(e)
            dirs[:] = []
            continue
        if (info.st_dev, info.st_ino) in seen:
            problems.append(_seen_before(root))
            dirs[:] = []
            continue
        seen.add((info.st_dev, info.st_ino))
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):
                yield Path(root) / name


def read_stdin(stdin: TextIO, max_bytes: int = MAX_FILE_BYTES) -> Document:
    """A Document from standard input, read as bytes when possible and at most ``max_bytes``."""
    buffer = getattr(stdin, "buffer", None)
    if buffer is not None:
        data = buffer.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise too_large("-", len(data), max_bytes, "standard input (at least)")
        text, meta = decode_bytes(data, "stdin")
    else:
        text, meta = stdin.read(max_bytes + 1), {}
        if len(text) > max_bytes:
            raise too_large("-", len(text), max_bytes, "standard input (at least)")
    document = text_document(text, source="stdin", title_hint="stdin", metadata=meta)
    return replace(document, replaces_source=False)  # stdin has no lasting name to replace by


def _expand(raw: str, problems: list[BadInputError]) -> list[Path]:
    path = Path(raw)
    try:
        if path.is_dir():
            return list(_walk(path, problems))
        if path.exists() or path.is_symlink():
            return [path]
    except OSError as e:  # a name too long, or a folder that cannot be searched
        problems.append(_stat_error(path, e))
        return []
    problems.append(BadInputError(f"{raw}: no such file or folder; check the path"))
    return []


def load_paths(paths: list[str], stdin: TextIO | None = None, max_bytes: int = MAX_FILE_BYTES) -> LoadResult:
    """Read every path (file, folder, or ``-`` for ``stdin``) into a LoadResult.

    Args:
        paths: files, folders (read recursively, hidden entries skipped) or ``-``.
        stdin: the stream ``-`` reads; None makes ``-`` a problem.
        max_bytes: the largest file taken as one article (PDFs: ``PDF_SIZE_FACTOR`` times
            that on disk); bigger files are refused without being read.

    Returns:
        The documents, a BadInputError per path that could not be read (naming
        the file and the fix), and notes such as how non-UTF-8 text was decoded.
    """
    result = LoadResult()
    for raw in paths:
        if raw == "-":
            _add(result, "-", partial(_stdin_document, stdin, max_bytes))
            continue
        for file in _expand(raw, result.problems):
            _add(result, str(file), partial(read_file, file, max_bytes))
    return result


def _stdin_document(stdin: TextIO | None, max_bytes: int) -> Document:
    if stdin is None:
        raise BadInputError("-: no standard input given; pipe text in or name a file")
    return read_stdin(stdin, max_bytes)


def unexpected_failure(source: str, e: Exception) -> BadInputError:
    """The one-line problem for an exception no reader expected, naming the file."""
    detail = " ".join(str(e).split())
    if len(detail) > _ERROR_CHARS:
        detail = detail[: _ERROR_CHARS - 1] + "…"
    return BadInputError(
        f"{source}: could not be read ({type(e).__name__}{': ' + detail if detail else ''}); the file may be "
        f"damaged: open and save it again, or convert it to .txt (if it opens fine elsewhere, please report this)"
    )


def _add(result: LoadResult, source: str, read: Callable[[], Document]) -> None:
    """Run one read, filing its document and notes, or its problem: nothing it raises stops the batch."""
    try:
        document = read()
    except BadInputError as e:
        result.problems.append(e)
        return
    except Exception as e:  # any reader failure is this file's problem, not the batch's
        problem = unexpected_failure(source, e)
        problem.__cause__ = e
        result.problems.append(problem)
        return
    result.documents.append(document)
    for note in (decoding_note(document), skipped_pages_note(document.source, dict(document.metadata))):
        if note:
            result.notes.append(note)
