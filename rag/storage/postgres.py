"""The PostgreSQL store (``--store postgresql://…``): the truth, shared by rag processes on many machines.

The same schema ideas as rag/storage/sqlite.py: documents with their full
text, chunks as offsets into them (chunk text is read back as a slice of its
document, ``substr``, so ``text[start:end] == chunk.text`` holds by
construction), each chunk's vector as float32 bytes (so search engines can
be rebuilt without re-embedding), and a key-value manifest. One database
(or one schema, through ``?options=-csearch_path=NAME``) is one index.
Chunk ids come from an identity column and are never reused.

Opening never changes an existing database: rag's tables are created only
in a database (or schema) that has none of them. A dropped table is reported
by ``integrity_problems`` and recreated by ``restore_schema`` during ``rag
repair``; a dropped ``documents`` table, or damage PostgreSQL reports, is
the server's to recover (rag/storage/pgsession.py words it). PostgreSQL has
no ``quick_check``: the server verifies its pages as it reads them (with
data checksums on, ``initdb --data-checksums``), ``status --check`` reads
every chunk and document once (``documents_missing_chunks``) and, when the
``amcheck`` extension is installed in the database, verifies rag's B-tree
indexes with ``bt_index_check``. ``check_writable`` refuses a write early
on a read-only server (a hot-standby replica) or for a user without the
write grant.

Writers take a session-level advisory lock (``pg_try_advisory_lock``) keyed
by the schema, so one writer at a time per index across every machine; the
server drops it when the writer's connection ends, so a crash never leaves
a stale lock. Readers take nothing (MVCC). ``engine_changes`` is the outbox
of search engines that are written after the store commits
(rag/storage/milvus.py): a write records its change in the same
transaction, and the engine clears it once applied.

Passwords belong in ``$PGPASSWORD`` or ``~/.pgpass`` (libpq reads both);
one in the URL works too and is never shown. Connection pooling, TLS
options and read replicas for readers are left to libpq's URL parameters
and the operator (docs/SCALING.md).
"""

from __future__ import annotations

import json
import time
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Sequence

from rag.errors import BackendUnavailableError, IndexCorruptError, IndexLockedError, RagError
from rag.storage.pgschema import (
    CHUNK_SELECT,
    INDEXES,
    MISSING_CHUNKS,
    ORDER_DOCS,
    SCHEMA,
    SPACES,
    TABLES,
    lock_key,
    public_url,
)
from rag.storage.pgsession import Session, read_only, server_damaged
from rag.storage.rows import chunk_from_row, document_from_row
from rag.types import Chunk, Document, DocumentInfo

if TYPE_CHECKING:
    import numpy as np

POLL_S = 0.2


def holds_index(url: str) -> bool:
    """Whether the database (schema) at ``url`` holds a rag index; connects, creates nothing."""
    db = Session(url, public_url(url))
    try:
        row = db.execute("SELECT count(to_regclass(name)) FROM unnest(%s::text[]) AS name", (list(TABLES),)).fetchone()
        return bool(row and row[0])
    finally:
        db.close()




class PostgresStore:
    """A connection to one index in a PostgreSQL database (a ``rag.storage.base.Store``)."""

    def __init__(self, url: str) -> None:
        self.location = public_url(url)
        self.db = Session(url, self.location)
        try:
            self._prepare()
        except BaseException:
            self.db.close()
            raise

    def _prepare(self) -> None:
        encoding = self.db.execute("SHOW server_encoding").fetchone()
        if encoding is None or encoding[0] != "UTF8":
            raise IndexCorruptError(
                f"{self.location}: the database's encoding is {encoding[0] if encoding else '?'}, not UTF8; "
                f"create it with `CREATE DATABASE ... ENCODING 'UTF8' TEMPLATE template0`"
            )
        row = self.db.execute("SELECT current_schema()").fetchone()
        self.schema = str(row[0]) if row and row[0] else "public"
        self.key = lock_key(self.schema)
        if self._objects() or self._write_refusal():
            return  # an existing index is never changed on open; a read-only one is read as it is
        try:
            with self.db.transaction():  # two processes creating the tables at once wait for each other
                self.db.execute("SELECT pg_advisory_xact_lock(%s)", (self.key ^ 1,))
                if not self._objects():
                    self.db.execute(SCHEMA)
        except RagError as e:
            raise BackendUnavailableError(f"{self.location}: cannot create rag's tables ({e}); "
                                          f"check the user's rights on the database") from e

    def _objects(self) -> set[str]:
        """Which of rag's tables and indexes exist in the schema."""
        rows = self.db.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relname = ANY(%s)", (self.schema, [*TABLES, *INDEXES]),
        )
        return {str(r[0]) for r in rows}

    def _write_refusal(self) -> RagError | None:
        """Why this server or user cannot write rag's tables, or None."""
        row = self.db.execute(
            "SELECT pg_is_in_recovery(), current_setting('transaction_read_only') = 'on', "
            "to_regclass('chunks') IS NULL OR has_table_privilege(to_regclass('chunks'), 'INSERT, DELETE')"
        ).fetchone()
        if row is None:
            return None
        if row[0]:
            return read_only(self.location, "a hot-standby replica: point writes at the primary")
        if row[1]:
            return read_only(self.location, "transaction_read_only is on for this user or database")
        if not row[2]:
            return read_only(self.location, "the user may not insert into or delete from rag's tables")
        return None

    def check_writable(self) -> None:
        """Raise IndexReadOnlyError when this server or user cannot write (checked before embedding).

        A full disk on the server cannot be told in advance: a write that meets one
        raises DiskFullError and is rolled back.
        """
        refusal = self._write_refusal()
        if refusal is not None:
            raise refusal

    def close(self) -> None:
        self.db.close()

    # -- the writers' lock -------------------------------------------------------------
    def lock(self, timeout_s: float) -> AbstractContextManager[None]:
        return self._lock(timeout_s)

    @contextmanager
    def _lock(self, timeout_s: float) -> Iterator[None]:
        """Hold the index's advisory lock, waiting up to ``timeout_s`` for another writer."""
        self.check_writable()
        deadline = time.monotonic() + timeout_s
        while not self._try_lock():
            if time.monotonic() >= deadline:
                waited = f"waited {timeout_s:g} s; " if timeout_s > 0 else ""
                raise IndexLockedError(
                    f"{self.location}: another rag process{self._holder()} is writing to this index ({waited}"
                    f"readers still work); wait for it to finish and run the command again"
                )
            time.sleep(min(POLL_S, max(deadline - time.monotonic(), 0.0)))
        self.db.busy += 1
        try:
            yield
        finally:
            self.db.busy -= 1
            if not self.db.closed and not self.db.conn.broken:
                self.db.execute("SELECT pg_advisory_unlock(%s)", (self.key,))

    def _try_lock(self) -> bool:
        row = self.db.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
        return bool(row and row[0])

    def _holder(self) -> str:
        """' (rag pid N on HOST)' for the session holding the lock, or '' when it cannot be told."""
        row = self.db.execute(
            "SELECT a.application_name, a.client_addr FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
            "AND l.classid::bigint = %s AND l.objid::bigint = %s AND l.database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database())",
            ((self.key >> 32) & 0xFFFFFFFF, self.key & 0xFFFFFFFF),
        ).fetchone()
        if not row:
            return ""
        name = row[0] or "unnamed client"
        return f" ({name}{f', from {row[1]}' if row[1] else ''})"

    def transaction(self) -> AbstractContextManager[None]:
        """All writes inside commit together or not at all."""
        return self.db.transaction()

    def disk_bytes(self) -> int:
        row = self.db.execute(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = ANY(%s)",
            (self.schema, list(TABLES)),
        ).fetchone()
        return int(row[0]) if row else 0

    # -- checking and repairing the database itself ---------------------------------------
    def integrity_problems(self) -> list[str]:
        """Missing tables and indexes, each with its fix; IndexCorruptError when the database itself is damaged.

        Damage is what ``rag repair`` cannot fix: the documents table is gone, or
        amcheck (when installed in the database) finds a damaged index.
        """
        missing = sorted((set(TABLES) | set(INDEXES)) - self._objects())
        if "documents" in missing:
            raise server_damaged(self.location, "the documents table is missing: the documents' text is gone")
        self._amcheck(sorted(set(INDEXES) - set(missing)))
        return [
            f"{self.location}: the {name} {'index' if name in INDEXES else 'table'} is missing; "
            f"run `rag repair` to restore it" for name in missing
        ]

    def _amcheck(self, indexes: list[str]) -> None:
        """Verify rag's B-tree indexes with amcheck's ``bt_index_check``, when the extension is installed."""
        row = self.db.execute("SELECT count(*) FROM pg_extension WHERE extname = 'amcheck'").fetchone()
        if not row or not row[0]:
            return
        names = [f"{self.schema}.{name}" for name in ("documents_pkey", "chunks_pkey", *indexes)]
        self.db.execute(
            "SELECT bt_index_check(to_regclass(name)) FROM unnest(%s::text[]) AS name "
            "WHERE to_regclass(name) IS NOT NULL", (names,),
        )

    def restore_schema(self) -> list[str]:
        """Recreate missing tables and indexes (empty), inside the open transaction; return their names."""
        missing = sorted((set(TABLES) | set(INDEXES)) - self._objects())
        if missing:
            self.db.execute(SCHEMA)
        return missing

    # -- manifest ----------------------------------------------------------------------
    def manifest(self) -> dict[str, str]:
        """The manifest; empty when it is missing (``integrity_problems`` reports a dropped table)."""
        if "manifest" not in self._objects():
            return {}
        return {str(k): str(v) for k, v in self.db.execute("SELECT key, value FROM manifest").fetchall()}

    def set_manifest(self, values: Mapping[str, str]) -> None:
        self.db.executemany(
            "INSERT INTO manifest VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            list(values.items()),
        )

    # -- documents -----------------------------------------------------------------------
    def add_document(self, doc: Document, added_at: str) -> None:
        pages = [[p.page, p.start, p.end] for p in doc.pages]
        self.db.execute(
            "INSERT INTO documents VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (doc.id, doc.title, doc.source, doc.text, json.dumps(dict(doc.metadata)), json.dumps(pages), added_at),
        )

    def stored_ids(self, doc_ids: Sequence[str]) -> set[str]:
        """Which of ``doc_ids`` are stored."""
        rows = self.db.execute("SELECT id FROM documents WHERE id = ANY(%s)", (list(dict.fromkeys(doc_ids)),))
        return {r[0] for r in rows}

    def rename_document(self, old_id: str, new_id: str, source: str) -> None:
        """Give a document a new id and source; its chunks follow (a schema upgrade)."""
        self.db.execute(
            "INSERT INTO documents SELECT %s, title, %s, text, metadata, pages, added_at FROM documents WHERE id = %s",
            (new_id, source, old_id),
        )
        self.db.execute("UPDATE chunks SET doc_id = %s WHERE doc_id = %s", (new_id, old_id))
        self.db.execute("DELETE FROM documents WHERE id = %s", (old_id,))

    def documents_missing_chunks(self) -> list[str]:
        """Documents whose chunks do not cover their text: none at all, or text between or after them lost."""
        return [r[0] for r in self.db.execute(MISSING_CHUNKS, {"spaces": SPACES})]

    def ids_for_source(self, source: str) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT id FROM documents WHERE source = %s", (source,))]

    def document(self, doc_id: str) -> Document:
        return document_from_row(self.db.execute("SELECT * FROM documents WHERE id = %s", (doc_id,)).fetchone(), doc_id)

    def titles(self, doc_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """``{doc_id: (title, source)}`` for the given ids."""
        rows = self.db.execute("SELECT id, title, source FROM documents WHERE id = ANY(%s)", (list(doc_ids),))
        return {r[0]: (r[1], r[2]) for r in rows}

    def document_ids(self) -> list[str]:
        return [r[0] for r in self.db.execute(f"SELECT d.id FROM documents d {ORDER_DOCS}")]

    def documents(self) -> list[DocumentInfo]:
        rows = self.db.execute(
            "SELECT d.id, d.title, d.source, length(d.text), count(c.id), d.added_at "
            f"FROM documents d LEFT JOIN chunks c ON c.doc_id = d.id GROUP BY d.id {ORDER_DOCS}"
        )
        return [DocumentInfo(r[0], r[1], r[2], int(r[3]), int(r[4]), r[5]) for r in rows]

    def clear_chunks_and_manifest(self) -> None:
        """Drop every chunk and the manifest (a rebuild refills both in the same transaction)."""
        self.db.execute("DELETE FROM chunks")
        self.db.execute("DELETE FROM manifest")

    def remove_document(self, doc_id: str) -> list[int]:
        """Delete a document and its chunks; return the removed chunk ids."""
        ids = [r[0] for r in self.db.execute("DELETE FROM chunks WHERE doc_id = %s RETURNING id", (doc_id,))]
        self.db.execute("DELETE FROM documents WHERE id = %s", (doc_id,))
        return sorted(ids)

    def count_documents(self) -> int:
        row = self.db.execute("SELECT count(*) FROM documents").fetchone()
        return int(row[0]) if row else 0

    # -- chunks and vectors ----------------------------------------------------------------
    def add_chunks(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> list[int]:
        """Insert chunks with their vectors (one COPY); return the ids they were given, in order."""
        import numpy as np

        if len(chunks) != len(vectors):
            raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors")
        if not chunks:
            return []
        ids = sorted(r[0] for r in self.db.execute(
            "SELECT nextval(pg_get_serial_sequence('chunks', 'id')) FROM generate_series(1, %s)", (len(chunks),)
        ))
        with self.db.copy("COPY chunks (id, doc_id, start_char, end_char, page, vector) FROM STDIN") as copy:
            for chunk_id, chunk, vector in zip(ids, chunks, vectors, strict=True):
                row: tuple[Any, ...] = (chunk_id, chunk.doc_id, chunk.start, chunk.end, chunk.page,
                                        np.asarray(vector, np.float32).tobytes())
                copy.write_row(row)
        return ids

    def chunks_for(self, doc_id: str) -> list[Chunk]:
        rows = self.db.execute(CHUNK_SELECT + " WHERE c.doc_id = %s ORDER BY c.start_char, c.id", (doc_id,))
        return [chunk_from_row(r) for r in rows]

    def chunks_by_id(self, ids: Sequence[int]) -> dict[int, Chunk]:
        rows = self.db.execute(CHUNK_SELECT + " WHERE c.id = ANY(%s)", (list(ids),))
        return {r[0]: chunk_from_row(r) for r in rows}

    def chunk_ids(self, doc_ids: Sequence[str] | None = None) -> list[int]:
        if doc_ids is None:
            return [r[0] for r in self.db.execute("SELECT id FROM chunks ORDER BY id")]
        rows = self.db.execute("SELECT id FROM chunks WHERE doc_id = ANY(%s) ORDER BY id", (list(doc_ids),))
        return [r[0] for r in rows]

    def count_chunks(self) -> int:
        row = self.db.execute("SELECT count(*) FROM chunks").fetchone()
        return int(row[0]) if row else 0

    def vectors(self, batch: int = 4096) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """All ``(ids, vectors)`` in id order and batches (keyset pages), for rebuilding derived indexes."""
        import numpy as np

        last = -1
        while rows := self.db.execute(
            "SELECT id, vector FROM chunks WHERE id > %s ORDER BY id LIMIT %s", (last, batch)
        ).fetchall():
            last = rows[-1][0]
            yield np.array([r[0] for r in rows], dtype=np.int64), np.vstack(
                [np.frombuffer(r[1], dtype=np.float32) for r in rows]
            )

    def vectors_by_id(self, ids: Sequence[int]) -> dict[int, np.ndarray]:
        """``{chunk id: vector}`` of those ``ids`` that are stored (absent ones are left out)."""
        import numpy as np

        rows = self.db.execute("SELECT id, vector FROM chunks WHERE id = ANY(%s)", (list(ids),))
        return {r[0]: np.frombuffer(r[1], dtype=np.float32) for r in rows}

    def chunk_texts(self, batch: int = 4096) -> Iterator[list[tuple[int, str]]]:
        """All ``(id, text)`` in id order and batches, for rebuilding a keyword index."""
        last = -1
        while rows := self.db.execute(
            CHUNK_SELECT + " WHERE c.id > %s ORDER BY c.id LIMIT %s", (last, batch)
        ).fetchall():
            last = rows[-1][0]
            yield [(r[0], r[5]) for r in rows]

    # -- the outbox of engines written after the commit ----------------------------------------
    def record_changes(self, generation: int, changes: str) -> None:
        self.db.execute(
            "INSERT INTO engine_changes VALUES (%s, %s) ON CONFLICT (generation) DO UPDATE SET changes = "
            "excluded.changes", (generation, changes),
        )

    def pending_changes(self) -> list[tuple[int, str]]:
        return [(int(g), str(c)) for g, c in self.db.execute(
            "SELECT generation, changes FROM engine_changes ORDER BY generation"
        )]

    def clear_changes(self, through: int) -> None:
        self.db.execute("DELETE FROM engine_changes WHERE generation <= %s", (through,))
