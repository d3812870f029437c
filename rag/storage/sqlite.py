"""The SQLite store (``Settings.store = "sqlite"``): documents, chunks with their vectors, the manifest.

SQLite is the truth. Chunk text is not stored twice: it is read back as a
slice of its document's text, so ``text[start:end] == chunk.text`` holds by
construction. Vectors are stored as float32 blobs, so the search engine's
structures can be rebuilt from here without re-embedding (``rag repair``).
The database is ``rag.sqlite`` in the index folder; writers take the
folder's lock (rag/storage/locking.py), readers nothing (WAL). Keeping the
search engine in step is rag/storage/index.py's job.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Mapping, Sequence

from rag.errors import DocumentNotFoundError, IndexCorruptError
from rag.storage.locking import write_lock
from rag.types import Chunk, Document, DocumentInfo, PageSpan

if TYPE_CHECKING:
    import numpy as np

DB_NAME = "rag.sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS manifest (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, source TEXT NOT NULL, text TEXT NOT NULL,
    metadata TEXT NOT NULL, pages TEXT NOT NULL, added_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_source ON documents(source);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    start_char INTEGER NOT NULL, end_char INTEGER NOT NULL, page INTEGER,
    vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
CREATE TABLE IF NOT EXISTS engine_changes (generation INTEGER PRIMARY KEY, changes TEXT NOT NULL);
"""

_CHUNK_SELECT = (
    "SELECT c.id, c.doc_id, c.start_char, c.end_char, c.page, "
    "substr(d.text, c.start_char + 1, c.end_char - c.start_char) "
    "FROM chunks c JOIN documents d ON d.id = c.doc_id"
)


def _chunk(row: tuple) -> Chunk:
    return Chunk(id=row[0], doc_id=row[1], start=row[2], end=row[3], page=row[4], text=row[5])


class SqliteStore:
    """A connection to ``rag.sqlite`` in an index folder (a ``rag.storage.base.Store``)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.location = str(self.folder)
        path = self.folder / DB_NAME
        self.path = path
        try:
            self.db = sqlite3.connect(str(path), timeout=30.0, isolation_level=None, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.executescript(SCHEMA)
        except sqlite3.DatabaseError as e:
            raise IndexCorruptError(f"{path}: not a readable rag database ({e}); move it away and re-ingest") from e

    def close(self) -> None:
        self.db.close()

    def lock(self, timeout_s: float) -> AbstractContextManager[None]:
        return write_lock(self.folder, timeout_s)

    def disk_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.folder.glob(DB_NAME + "*") if p.is_file())

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside commit together or not at all."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # Manifest
    def manifest(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT key, value FROM manifest").fetchall())

    def set_manifest(self, values: Mapping[str, str]) -> None:
        self.db.executemany("INSERT OR REPLACE INTO manifest VALUES (?, ?)", list(values.items()))

    # Documents
    def add_document(self, doc: Document, added_at: str) -> None:
        pages = [[p.page, p.start, p.end] for p in doc.pages]
        self.db.execute(
            "INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?, ?)",
            (doc.id, doc.title, doc.source, doc.text, json.dumps(dict(doc.metadata)), json.dumps(pages), added_at),
        )

    def stored_ids(self, doc_ids: Sequence[str]) -> set[str]:
        """Which of ``doc_ids`` are stored."""
        found: set[str] = set()
        ids = list(dict.fromkeys(doc_ids))
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            marks = ",".join("?" * len(part))
            found.update(r[0] for r in self.db.execute(f"SELECT id FROM documents WHERE id IN ({marks})", part))
        return found

    def ids_for_source(self, source: str) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT id FROM documents WHERE source = ?", (source,))]

    def document(self, doc_id: str) -> Document:
        row = self.db.execute("SELECT * FROM documents WHERE id = ?", (doc_id,)).fetchone()
        if row is None:
            raise DocumentNotFoundError(f"no document {doc_id!r} in the index; run `rag docs` to list the ids")
        pages = tuple(PageSpan(page=p, start=s, end=e) for p, s, e in json.loads(row[5]))
        return Document(
            id=row[0], title=row[1], source=row[2], text=row[3],
            metadata=json.loads(row[4]), pages=pages, added_at=row[6],
        )

    def titles(self, doc_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """``{doc_id: (title, source)}`` for the given ids."""
        marks = ",".join("?" * len(doc_ids))
        rows = self.db.execute(f"SELECT id, title, source FROM documents WHERE id IN ({marks})", list(doc_ids))
        return {r[0]: (r[1], r[2]) for r in rows}

    def document_ids(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT id FROM documents ORDER BY added_at, id")]

    def documents(self) -> list[DocumentInfo]:
        rows = self.db.execute(
            "SELECT d.id, d.title, d.source, length(d.text), count(c.id), d.added_at "
            "FROM documents d LEFT JOIN chunks c ON c.doc_id = d.id GROUP BY d.id ORDER BY d.added_at, d.id"
        )
        return [DocumentInfo(*row) for row in rows]

    def clear_chunks_and_manifest(self) -> None:
        """Drop every chunk and the manifest (a rebuild refills both in the same transaction)."""
        self.db.execute("DELETE FROM chunks")
        self.db.execute("DELETE FROM manifest")

    def remove_document(self, doc_id: str) -> list[int]:
        """Delete a document and its chunks; return the removed chunk ids."""
        ids = [r[0] for r in self.db.execute("SELECT id FROM chunks WHERE doc_id = ?", (doc_id,))]
        self.db.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))
        self.db.execute("DELETE FROM documents WHERE id = ?", (doc_id,))
        return ids

    # Chunks
    def add_chunks(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> list[int]:
        """Insert chunks with their vectors; return the ids SQLite gave them, in order."""
        import numpy as np

        ids: list[int] = []
        for chunk, vector in zip(chunks, vectors, strict=True):
            cur = self.db.execute(
                "INSERT INTO chunks (doc_id, start_char, end_char, page, vector) VALUES (?, ?, ?, ?, ?)",
                (chunk.doc_id, chunk.start, chunk.end, chunk.page, np.asarray(vector, np.float32).tobytes()),
            )
            ids.append(int(cur.lastrowid or 0))
        return ids

    def chunks_for(self, doc_id: str) -> list[Chunk]:
        rows = self.db.execute(_CHUNK_SELECT + " WHERE c.doc_id = ? ORDER BY c.start_char", (doc_id,))
        return [_chunk(r) for r in rows]

    def chunks_by_id(self, ids: Sequence[int]) -> dict[int, Chunk]:
        out: dict[int, Chunk] = {}
        ids = list(ids)
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            marks = ",".join("?" * len(part))
            for row in self.db.execute(_CHUNK_SELECT + f" WHERE c.id IN ({marks})", part):
                out[row[0]] = _chunk(row)
        return out

    def chunk_ids(self, doc_ids: Sequence[str] | None = None) -> list[int]:
        if doc_ids is None:
            return [r[0] for r in self.db.execute("SELECT id FROM chunks ORDER BY id")]
        marks = ",".join("?" * len(doc_ids))
        rows = self.db.execute(f"SELECT id FROM chunks WHERE doc_id IN ({marks}) ORDER BY id", list(doc_ids))
        return [r[0] for r in rows]

    def count_documents(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM documents").fetchone()[0])

    def count_chunks(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM chunks").fetchone()[0])

    def vectors(self, batch: int = 4096) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """All ``(ids, vectors)`` in batches, for rebuilding derived indexes."""
        import numpy as np

        cur = self.db.execute("SELECT id, vector FROM chunks ORDER BY id")
        while rows := cur.fetchmany(batch):
            ids = np.array([r[0] for r in rows], dtype=np.int64)
            yield ids, np.vstack([np.frombuffer(r[1], dtype=np.float32) for r in rows])

    def chunk_texts(self, batch: int = 4096) -> Iterator[list[tuple[int, str]]]:
        """All ``(id, text)`` in batches, for rebuilding the lexical index."""
        cur = self.db.execute(_CHUNK_SELECT + " ORDER BY c.id")
        while rows := cur.fetchmany(batch):
            yield [(r[0], r[5]) for r in rows]

    def vectors_by_id(self, ids: Sequence[int]) -> dict[int, np.ndarray]:
        """``{chunk id: vector}`` of those ``ids`` that are stored (absent ones are left out)."""
        import numpy as np

        out: dict[int, np.ndarray] = {}
        ids = list(ids)
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            marks = ",".join("?" * len(part))
            for row in self.db.execute(f"SELECT id, vector FROM chunks WHERE id IN ({marks})", part):
                out[row[0]] = np.frombuffer(row[1], dtype=np.float32)
        return out

    # The outbox of search engines written after the store commits (rag/storage/milvus.py).
    def record_changes(self, generation: int, changes: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO engine_changes VALUES (?, ?)", (generation, changes))

    def pending_changes(self) -> list[tuple[int, str]]:
        return list(self.db.execute("SELECT generation, changes FROM engine_changes ORDER BY generation"))

    def clear_changes(self, through: int) -> None:
        self.db.execute("DELETE FROM engine_changes WHERE generation <= ?", (through,))
