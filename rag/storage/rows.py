"""Rows of the stores' tables as typed records: SQLite and PostgreSQL keep the same columns in the same order."""

from __future__ import annotations

import json

from rag.errors import DocumentNotFoundError
from rag.types import Chunk, Document, PageSpan


def chunk_from_row(row: tuple) -> Chunk:
    """A ``chunks`` row: id, doc_id, start, end, page, text."""
    return Chunk(id=row[0], doc_id=row[1], start=row[2], end=row[3], page=row[4], text=row[5])


def document_from_row(row: tuple | None, doc_id: str) -> Document:
    """A ``documents`` row: id, title, source, text, metadata JSON, pages JSON, added_at."""
    if row is None:
        raise DocumentNotFoundError(f"no document {doc_id!r} in the index; run `rag docs` to list the ids")
    pages = tuple(PageSpan(page=p, start=s, end=e) for p, s, e in json.loads(row[5]))
    return Document(
        id=row[0], title=row[1], source=row[2], text=row[3],
        metadata=json.loads(row[4]), pages=pages, added_at=row[6],
    )
