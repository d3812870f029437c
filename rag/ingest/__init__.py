"""Read files, folders and stdin into Documents, one reader per format.

``load_paths`` walks folders recursively (symlink loops are skipped), picks a
reader by extension and collects a BadInputError per file that cannot be
read, so one bad file never stops a batch. Readers only read: chunking,
embedding and storage happen elsewhere.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, TextIO

from rag.errors import BadInputError
from rag.ingest.html import read_html
from rag.ingest.markdown import read_markdown
from rag.ingest.pdf import read_pdf
from rag.ingest.text import read_text, text_document
from rag.types import Document

Reader = Callable[[Path], Document]

READERS: dict[str, Reader] = {
    ".txt": read_text,
    ".text": read_text,
    ".md": read_markdown,
    ".markdown": read_markdown,
    ".html": read_html,
    ".htm": read_html,
    ".pdf": read_pdf,
}


@dataclass
class LoadResult:
    """Documents read and the per-file problems met on the way."""

    documents: list[Document] = field(default_factory=list)
    problems: list[BadInputError] = field(default_factory=list)


def read_file(path: Path) -> Document:
    """Read one file with the reader for its extension."""
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        supported = ", ".join(sorted(READERS))
        raise BadInputError(f"{path}: unsupported file type {path.suffix or '(none)'!r}; use one of {supported}")
    try:
        return reader(path)
    except BadInputError:
        raise
    except OSError as e:
        raise BadInputError(f"{path}: cannot read ({e.strerror or e}); check the path and its permissions") from e


def _walk(folder: Path, problems: list[BadInputError]) -> Iterator[Path]:
    seen: set[tuple[int, int]] = set()

    def on_error(e: OSError) -> None:
        problems.append(BadInputError(f"{e.filename}: cannot read folder ({e.strerror}); check its permissions"))

    for root, dirs, files in os.walk(folder, followlinks=True, onerror=on_error):
        stat = os.stat(root)
        if (stat.st_dev, stat.st_ino) in seen:
            problems.append(BadInputError(f"{root}: symlink loop skipped; remove the link to read it once"))
            dirs[:] = []
            continue
        seen.add((stat.st_dev, stat.st_ino))
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):
                yield Path(root) / name


def load_paths(paths: list[str], stdin: TextIO | None = None) -> LoadResult:
    """Read every path (file, folder, or ``-`` for ``stdin``) into a LoadResult."""
    result = LoadResult()
    for raw in paths:
        if raw == "-":
            if stdin is None:
                result.problems.append(BadInputError("-: no standard input given; pipe text in or name a file"))
                continue
            try:
                result.documents.append(text_document(stdin.read(), source="stdin", title_hint="stdin"))
            except BadInputError as e:
                result.problems.append(e)
            continue
        path = Path(raw)
        if path.is_dir():
            files = list(_walk(path, result.problems))
        elif path.exists() or path.is_symlink():
            files = [path]
        else:
            result.problems.append(BadInputError(f"{raw}: no such file or folder; check the path"))
            continue
        for file in files:
            try:
                result.documents.append(read_file(file))
            except BadInputError as e:
                result.problems.append(e)
    return result
