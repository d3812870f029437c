"""Honest checks on the shared deployment (issue 14's findings, for PostgreSQL and Milvus).

The store: dropped tables are named by ``rag status --check`` and recreated by ``rag repair``; a
lost ``documents`` table is damage that repair refuses (with the server's own recovery); documents
that lost chunks are chunked and embedded again; an index of the older schema is upgraded in place
(ids renamed, chunks following); a read-only user or database can search but a write is refused
before any embedding. The engine: a dropped collection or lost rows are damage (reads and writes
refuse with ``rag repair``, never answer silently from a partial collection), and an index built
by another engine has to be repaired into Milvus first. Milvus Lite's server stops with the last
index that uses it. Real PostgreSQL, real Milvus (tests/servers.py).
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import psycopg
import pytest
from conftest import SEEDS
from test_shared import CountingMiniLM, assert_offsets, cli, fixture_documents

from rag.core import Rag
from rag.errors import IndexCorruptError, IndexMismatchError, IndexReadOnlyError
from rag.ingest import load_paths
from rag.settings import Settings
from rag.storage.milvus import MilvusEngine

QUESTION = "When did the Kessel Bridge reopen?"


def sql(url: str, *statements: str) -> None:
    with psycopg.connect(url, autocommit=True) as db:
        for statement in statements:
            db.execute(statement)


def shared(make_index_shared) -> tuple[Rag, str]:
    rag = make_index_shared()
    rag.ingest(fixture_documents())
    return rag, rag.settings.store


@pytest.mark.parametrize("table", ["chunks", "manifest", "engine_changes", "chunks_doc"])
def test_a_dropped_table_is_named_by_check_and_restored_by_repair(table, make_index_shared, capsys):
    rag, url = shared(make_index_shared)
    documents = rag.documents()
    sql(url, f"DROP {'INDEX' if table == 'chunks_doc' else 'TABLE'} {table}")
    problems = rag.check()
    kind = "index" if table == "chunks_doc" else "table"
    assert any(f"the {table} {kind} is missing; run `rag repair`" in p for p in problems), problems
    code, out, _ = cli(["--store", url, "--engine", rag.settings.search_engine, "repair"], capsys)
    assert code == 0 and f"repaired: recreated the missing {table}" in out and "Check: ok" in out
    with Rag(rag.settings, embedder=rag.embedder) as again:
        assert again.check() == [] and again.documents() == documents  # chunks made again where they were lost
        assert "Kessel" in again.search(QUESTION, k=1)[0].chunk.text
        assert_offsets(again)


def test_a_lost_documents_table_is_damage_repair_refuses_without_a_traceback(make_index_shared, capsys):
    rag, url = shared(make_index_shared)
    sql(url, "DROP TABLE documents CASCADE")
    flags = ["--store", url, "--engine", rag.settings.search_engine]
    code, out, _ = cli([*flags, "status", "--check"], capsys)
    assert code == 1 and "the documents table is missing: the documents' text is gone" in out, out
    for command in (["repair"], ["docs"]):
        code, _, err = cli([*flags, *command], capsys)
        assert code == 1 and "the documents table is missing: the documents' text is gone" in err, err
        assert "restore it from a backup" in err and err.count("\n") == 1 and "Traceback" not in err


def test_documents_that_lost_chunks_are_found_and_embedded_again(make_index_shared):
    rag, url = shared(make_index_shared)
    victim = rag.documents()[0]
    chunks = rag.chunks(victim.doc_id)
    assert len(chunks) >= 3
    sql(url, f"DELETE FROM chunks WHERE id = {chunks[1].id}")  # a hole in the middle of one article
    problems = rag.check()
    assert any("1 document(s) have lost chunks" in p and victim.doc_id in p for p in problems), problems
    report = rag.repair()
    assert "chunked and embedded again 1 document(s) that had lost chunks" in report.actions
    assert rag.check() == [] and [(c.start, c.end) for c in rag.chunks(victim.doc_id)] == [
        (c.start, c.end) for c in chunks]
    assert_offsets(rag)


def test_an_index_of_the_older_schema_is_upgraded_in_place(make_index_shared, minilm):
    rag, url = shared(make_index_shared)
    before = {(i.title, tuple((c.start, c.end) for c in rag.chunks(i.doc_id))) for i in rag.documents()}
    vectors = {i: v.tobytes() for ids, vs in rag.index.store.vectors() for i, v in zip(ids.tolist(), vs, strict=True)}
    with psycopg.connect(url, autocommit=True) as db, db.transaction():  # ids by text alone, as schema 1 made them
        for doc_id, text in db.execute("SELECT id, text FROM documents").fetchall():
            old = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
            db.execute("INSERT INTO documents SELECT %s, title, source, text, metadata, pages, added_at FROM "
                       "documents WHERE id = %s", (old, doc_id))
            db.execute("UPDATE chunks SET doc_id = %s WHERE doc_id = %s", (old, doc_id))
            db.execute("DELETE FROM documents WHERE id = %s", (doc_id,))
        db.execute("UPDATE manifest SET value = '1' WHERE key = 'schema_version'")
    with pytest.raises(IndexMismatchError, match=r"schema version 1.*run `rag repair` to upgrade it in place"):
        Rag(rag.settings, embedder=minilm)
    with Rag(rag.settings, embedder=minilm, check=False) as old:
        report = old.repair()
    assert f"upgraded schema 1 to 2 ({len(before)} ids changed)" in report.actions
    with Rag(rag.settings, embedder=minilm) as upgraded:
        assert upgraded.check() == []  # Milvus rows follow: every row names its chunk's new document
        after = {(i.title, tuple((c.start, c.end) for c in upgraded.chunks(i.doc_id))) for i in upgraded.documents()}
        assert after == before
        kept = {i: v.tobytes() for ids, vs in upgraded.index.store.vectors() for i, v in zip(ids.tolist(), vs,
                                                                                            strict=True)}
        assert kept == vectors  # nothing re-embedded


def test_a_read_only_user_or_database_searches_but_refuses_writes_before_embedding(make_index_shared, postgres, minilm):
    rag, url = shared(make_index_shared)
    database = url.rsplit("/", 1)[1]
    sql(url, "DROP ROLE IF EXISTS reader", "CREATE ROLE reader LOGIN", "GRANT SELECT ON ALL TABLES IN SCHEMA public "
        "TO reader")
    reader_url = url.replace("postgres@", "reader@")
    seeds = load_paths([str(SEEDS)]).documents
    with Rag(Settings(store=reader_url, search_engine=rag.settings.search_engine), embedder=rag.embedder) as reader:
        assert "Kessel" in reader.search(QUESTION, k=1)[0].chunk.text
        with pytest.raises(IndexReadOnlyError, match="may not insert into or delete from rag's tables"):
            reader.ingest(seeds)
    sql(postgres.url(), f"ALTER DATABASE {database} SET default_transaction_read_only = on")
    try:
        counting = CountingMiniLM(minilm)
        with Rag(rag.settings, embedder=counting) as again:
            with pytest.raises(IndexReadOnlyError, match="transaction_read_only is on"):
                again.ingest(seeds)
            assert counting.calls == 0  # refused before any embedding
            assert again.documents() == rag.documents()
    finally:
        sql(postgres.url(), f"ALTER DATABASE {database} SET default_transaction_read_only = off")
        sql(url, "DROP OWNED BY reader", "DROP ROLE reader")


def test_a_dropped_collection_is_damage_until_repair(make_index_shared):
    rag, _ = shared(make_index_shared)
    engine = rag.index.engine
    assert isinstance(engine, MilvusEngine)
    documents = rag.documents()
    engine.client.drop_collection(engine.collection)
    with pytest.raises(IndexCorruptError, match=r"collection rag_\w+ is missing; run `rag repair`"):
        rag.search(QUESTION)
    with pytest.raises(IndexCorruptError, match=r"collection rag_\w+ is missing; run `rag repair`"):
        rag.ingest(load_paths([str(SEEDS)]).documents)
    assert rag.documents() == documents and rag.index.store.pending_changes() == []  # the store did not change
    assert any("is missing; run `rag repair`" in p for p in rag.check())
    assert rag.repair().vectors == rag.status().chunks and rag.check() == []
    assert "Kessel" in rag.search(QUESTION, k=1)[0].chunk.text


def test_rows_lost_in_milvus_stop_the_next_write_before_the_store_changes(make_index_shared):
    rag, _ = shared(make_index_shared)
    engine = rag.index.engine
    assert isinstance(engine, MilvusEngine)
    chunks = rag.status().chunks
    engine.client.delete(engine.collection, ids=rag.index.chunk_ids()[:2])
    with pytest.raises(IndexCorruptError, match=f"holds {chunks - 2} rows where the store has {chunks} chunks"):
        rag.ingest(load_paths([str(SEEDS)]).documents)
    assert rag.status().chunks == chunks
    rag.repair()
    assert len(rag.ingest(load_paths([str(SEEDS)]).documents).added) == 1 and rag.check() == []


def test_an_index_of_another_engine_is_repaired_into_milvus_before_it_is_written(tmp_path, milvus, minilm):
    folder = tmp_path / "index"
    with Rag(Settings(index_dir=folder), embedder=minilm) as rag:
        rag.ingest(fixture_documents())
    settings = Settings(index_dir=folder, search_engine=milvus.uri)
    with Rag(settings, embedder=minilm) as moved:
        for attempt in (lambda: moved.search(QUESTION), lambda: moved.ingest(load_paths([str(SEEDS)]).documents)):
            with pytest.raises(IndexCorruptError, match="holds no collection for this index yet.*run `rag repair`"):
                attempt()
        moved.repair()
        assert moved.check() == [] and "Kessel" in moved.search(QUESTION, k=1)[0].chunk.text


def milvus_processes(data_file: Path) -> list[int]:
    """Running processes whose command line names ``data_file`` (Milvus Lite's server for it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if str(data_file).encode() in command and command[0].endswith(b"milvus"):
                found.append(int(entry.name))
    return found


def gone(data_file: Path, limit_s: float = 15) -> bool:
    deadline = time.monotonic() + limit_s
    while milvus_processes(data_file) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not milvus_processes(data_file)


def test_milvus_lite_runs_the_real_engine_and_stops_with_the_last_index(tmp_path, minilm):
    data_file = tmp_path / "engine" / "milvus.db"
    settings = Settings(index_dir=tmp_path / "index", search_engine=f"milvus-lite:{data_file}")
    first = Rag(settings, embedder=minilm)
    first.ingest(fixture_documents())
    second = Rag(settings, embedder=minilm)  # a second index object of this process shares the server
    assert "Kessel" in second.search(QUESTION, k=1)[0].chunk.text
    (server,) = milvus_processes(data_file)
    assert Path(f"/proc/{server}/exe").resolve().name == "milvus"  # Milvus's own program, not Python
    first.close()
    assert milvus_processes(data_file) == [server] and second.check() == []
    second.close()
    assert gone(data_file) and not (data_file.parent / ".milvus.db.lock").exists()
    assert sorted(p.name for p in data_file.parent.iterdir()) == ["milvus.db"]
    assert os.environ["HOME"] == str(Path.home())
