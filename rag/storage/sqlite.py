"""The SQLite store (``Settings.store = "sqlite"``): documents, chunks with their vectors, the manifest.

SQLite is the truth. Chunk text is not stored twice: it is read back as a
slice of its document's text, so ``text[start:end] == chunk.text`` holds by
construction. Vectors are stored as float32 blobs, so the search engine's
structures can be rebuilt from here without re-embedding (``rag repair``).
The database is ``rag.sqlite`` in the index folder; writers take the
folder's lock (rag/storage/locking.py), readers nothing (WAL). Keeping the
search engine in step is rag/storage/index.py's job.

Opening never changes an existing database: tables are created only in a new
one, and a dropped table is reported by ``integrity_problems`` (with SQLite's
``quick_check``) and recreated by ``restore_schema`` during ``rag repair``. A
read-only folder or a full disk opens the database read-only, and every
SQLite failure becomes a one-line RagError (rag/storage/sqlite_db.py).
"""

from __future__ import annotations

import contextlib
import json
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Mapping, Sequence

from rag.errors import RagError
from rag.storage.failures import read_only, store_damaged, write_error
from rag.storage.locking import write_lock
from rag.storage.rows import chunk_from_row, document_from_row
from rag.storage.sqlite_db import open_database
from rag.types import Chunk, Document, DocumentInfo

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
"""
_OUTBOX = "CREATE TABLE IF NOT EXISTS engine_changes (generation INTEGER PRIMARY KEY, changes TEXT NOT NULL)"

# A document misses chunks when it has none, or when text other than whitespace lies before its
# first chunk, between a chunk and all those before it, or after its last (chunks overlap or
# meet at whitespace). The text is read only where chunks leave a gap.
# What Python's str.isspace() calls space (that normalized text can hold), for SQL's trim().
_SPACES = "char({})".format(", ".join(map(str, [9, 10, 11, 12, 13, 32, 133, 160, 5760, *range(8192, 8203), 8232,
                                                 8233, 8239, 8287, 12288])))
_MISSING_CHUNKS = f"""
WITH ordered AS (
    SELECT doc_id, start_char, max(end_char) OVER (
        PARTITION BY doc_id ORDER BY start_char, end_char ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
    ) AS reach FROM chunks
), gaps AS (
    SELECT o.doc_id FROM ordered o JOIN documents d ON d.id = o.doc_id
    WHERE CASE WHEN o.start_char > coalesce(o.reach, 0) THEN trim(
        substr(d.text, coalesce(o.reach, 0) + 1, o.start_char - coalesce(o.reach, 0)), {_SPACES}
    ) != '' ELSE 0 END
), tails AS (
    SELECT d.id AS doc_id FROM documents d
    JOIN (SELECT doc_id, max(end_char) AS last FROM chunks GROUP BY doc_id) c ON c.doc_id = d.id
    WHERE CASE WHEN length(d.text) > c.last THEN trim(substr(d.text, c.last + 1), {_SPACES}) != '' ELSE 0 END
)
SELECT id FROM documents WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.doc_id = documents.id)
UNION SELECT doc_id FROM gaps UNION SELECT doc_id FROM tails ORDER BY 1
"""
_TABLES = ("manifest", "documents", "documents_source", "chunks", "chunks_doc")
_CHUNK_SELECT = (
    "SELECT c.id, c.doc_id, c.start_char, c.end_char, c.page, "
    "substr(d.text, c.start_char + 1, c.end_char - c.start_char) "
    "FROM chunks c JOIN documents d ON d.id = c.doc_id"
)




class SqliteStore:
    """A connection to ``rag.sqlite`` in an index folder (a ``rag.storage.base.Store``)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise write_error(e, self.folder) or read_only(self.folder, e.strerror or str(e)) from e
        self.location = str(self.folder)
        self.path = self.folder / DB_NAME
        self.db = open_database(self.path)
        try:
            self.db.execute("PRAGMA foreign_keys=ON")
            if self.db.write_refusal is None and not self._objects():
                self.db.executescript(SCHEMA)  # a new database; an existing one is never changed on open
        except BaseException:
            self.db.close()
            raise

    def close(self) -> None:
        self.db.close()

    def check_writable(self) -> None:
        """Raise why the database was opened read-only (a read-only folder, a full disk)."""
        if self.db.write_refusal is not None:
            raise self.db.write_refusal

    def lock(self, timeout_s: float) -> AbstractContextManager[None]:
        self.check_writable()
        return write_lock(self.folder, timeout_s)

    def disk_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.folder.glob(DB_NAME + "*") if p.is_file())

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside commit together or not at all."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
            self.db.execute("COMMIT")
        except BaseException:
            if self.db.in_transaction:  # also after a failed COMMIT (a full disk)
                with contextlib.suppress(RagError):  # SQLite rolled back itself; report the first error
                    self.db.execute("ROLLBACK")
            raise

    # Checking and repairing the database itself
    def _objects(self) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'index')")}

    def integrity_problems(self) -> list[str]:
        """Missing tables and indexes, each with its fix; IndexCorruptError when the database itself is damaged.

        Damage is what ``rag repair`` cannot fix: SQLite's ``quick_check`` fails, or the
        documents (the articles' text) are gone.
        """
        rows = [r[0] for r in self.db.execute("PRAGMA quick_check(5)").fetchall()]
        if rows != ["ok"]:
            lines = [line.strip() for row in rows for line in row.splitlines() if line.strip()]
            lines = [line for line in lines if not line.startswith("***")] or lines
            more = f" and {len(lines) - 1} more" if len(lines) > 1 else ""
            raise store_damaged(self.path, f"quick_check: {lines[0]}{more}")
        missing = sorted(set(_TABLES) - self._objects())
        if "documents" in missing:
            raise store_damaged(self.path, "the documents table is missing: the documents' text is gone")
        return [
            f"{self.path}: the {name} {'table' if name in ('manifest', 'chunks') else 'index'} is missing; "
            f"run `rag repair` to restore it" for name in missing
        ]

    def restore_schema(self) -> list[str]:
        """Recreate missing tables and indexes (empty); return their names."""
        missing = sorted(set(_TABLES) - self._objects())
        for statement in SCHEMA.split(";"):  # one by one: executescript would commit the open transaction
            if statement.strip():
                self.db.execute(statement)
        return missing

    # Manifest
    def manifest(self) -> dict[str, str]:
        """The manifest; empty when it is missing (``integrity_problems`` reports a dropped table)."""
        if "manifest" not in self._objects():
            return {}
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

    def rename_document(self, old_id: str, new_id: str, source: str) -> None:
        """Give a document a new id and source; its chunks follow (a schema upgrade)."""
        self.db.execute("PRAGMA defer_foreign_keys=ON")  # checked at commit, until the end of the transaction
        self.db.execute("UPDATE documents SET id = ?, source = ? WHERE id = ?", (new_id, source, old_id))
        self.db.execute("UPDATE chunks SET doc_id = ? WHERE doc_id = ?", (new_id, old_id))

    def documents_missing_chunks(self) -> list[str]:
        """Documents whose chunks do not cover their text: none at all, or text between or after them lost."""
        return [r[0] for r in self.db.execute(_MISSING_CHUNKS)]

    def ids_for_source(self, source: str) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT id FROM documents WHERE source = ?", (source,))]

    def document(self, doc_id: str) -> Document:
        return document_from_row(self.db.execute("SELECT * FROM documents WHERE id = ?", (doc_id,)).fetchone(), doc_id)

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
        return [chunk_from_row(r) for r in rows]

    def chunks_by_id(self, ids: Sequence[int]) -> dict[int, Chunk]:
        out: dict[int, Chunk] = {}
        ids = list(ids)
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            marks = ",".join("?" * len(part))
            for row in self.db.execute(_CHUNK_SELECT + f" WHERE c.id IN ({marks})", part):
                out[row[0]] = chunk_from_row(row)
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

    # The outbox of search engines written after the store commits (rag/storage/milvus.py). An index
    # made before it (or used only with the local engine) has no such table: it is made on first use.
    def record_changes(self, generation: int, changes: str) -> None:
        self.db.execute(_OUTBOX)
        self.db.execute("INSERT OR REPLACE INTO engine_changes VALUES (?, ?)", (generation, changes))

    def pending_changes(self) -> list[tuple[int, str]]:
        if "engine_changes" not in self._objects():
            return []
        return list(self.db.execute("SELECT generation, changes FROM engine_changes ORDER BY generation"))

    def clear_changes(self, through: int) -> None:
        if "engine_changes" in self._objects():
            self.db.execute("DELETE FROM engine_changes WHERE generation <= ?", (through,))
