"""Which stored document a read text is: its source identity, and its id.

A document's identity is its source: the resolved absolute path of a file
(``f/c.txt``, ``/abs/f/c.txt`` and ``./c.txt`` typed inside ``f`` are one
source; so is a path reached through a symbolic link), or a label for text
with no lasting path (``stdin``, ``pasted text``, ``upload: NAME``). Its id
is a hash of that source and the text, so

- the same text again from the same source is the same document (a no-op);
- equal text from two sources is two documents: removing or changing one
  never touches the other;
- a changed file replaces exactly the documents stored under its own path
  (``Document.replaces_source``).

Text without a lasting path never replaces anything: two uploads both named
``article.txt``, or two pastes, are two documents, told apart by their ids
(shown by ``rag docs`` and in the web UI's library).

>>> document_id("/news/a.txt", "Same text.") == document_id("/news/b.txt", "Same text.")
False
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import replace
from pathlib import Path

from rag.types import Document

# Sources that name no file, as rag has written them (version 1 indexes included).
_LABELS = ("stdin", "pasted text")
_LABEL_PREFIXES = ("upload: ",)


def document_id(source: str, text: str) -> str:
    """A stable id: the first 16 hex digits of the SHA-256 of the source and the text."""
    digest = hashlib.sha256(source.encode("utf-8", "surrogateescape"))
    digest.update(b"\0")
    digest.update(text.encode("utf-8"))
    return digest.hexdigest()[:16]


def file_source(path: Path | str) -> str:
    """A file's source identity: its absolute path with symbolic links and ``..`` resolved."""
    return os.path.realpath(path)


def with_source(document: Document, source: str, replaces_source: bool | None = None) -> Document:
    """``document`` from ``source`` (its id follows); ``replaces_source`` None keeps the document's."""
    replaces = document.replaces_source if replaces_source is None else replaces_source
    return replace(document, source=source, id=document_id(source, document.text), replaces_source=replaces)


def upgraded_identity(document: Document, cwd: Path | None = None) -> tuple[str, str]:
    """The (id, source) a document stored by schema version 1 has now.

    Version 1 stored a file's path as it was typed. An absolute path is
    resolved; a relative one is resolved from ``cwd`` (default: the current
    folder, where ``rag`` usually runs) when that file exists there, and kept
    as typed otherwise. Labels (stdin, pasted text, uploads) are kept.
    """
    source = document.source
    if source not in _LABELS and not source.startswith(_LABEL_PREFIXES):
        path = Path(source)
        if path.is_absolute():
            source = file_source(path)
        elif (Path(cwd or Path.cwd()) / path).is_file():
            source = file_source(Path(cwd or Path.cwd()) / path)
    return document_id(source, document.text), source
