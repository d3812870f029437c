"""The shared deployment in one process: PostgreSQL store + Milvus engine, selection, status, the
advisory lock, drift found and repaired, Milvus outages, the same answers as local, and migration.

Real PostgreSQL (a throwaway cluster) and real Milvus (Milvus Lite's server, reached by URI as a
cluster is; and Milvus Lite in this process for ``milvus-lite:``). The process-level tests
(SIGKILL, two writers, two servers) are in tests/test_shared_processes.py.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ARTICLE_FILES, SEEDS, SessionMiniLM, engine_ids, parse_facts
from servers import MilvusServer

from rag.cli import main
from rag.core import Rag
from rag.errors import BackendUnavailableError, IndexLockedError
from rag.ingest import load_paths
from rag.settings import Settings
from rag.storage.milvus import MilvusEngine
from rag.storage.postgres import PostgresStore

QUESTIONS = [f["question"] for f in parse_facts() if "question" in f]
RAG = str(Path(sys.executable).with_name("rag"))


class CountingMiniLM(SessionMiniLM):
    """The session's MiniLM (same weights and cached vectors), counting every call that embeds."""

    def __init__(self, shared: SessionMiniLM) -> None:
        super().__init__()
        self._vectors = shared._vectors
        self.calls = 0

    def encode(self, texts, progress=None):
        self.calls += 1
        return super().encode(texts, progress)


def fixture_documents():
    return load_paths([str(p) for p in ARTICLE_FILES]).documents


def assert_offsets(rag: Rag) -> None:
    for info in rag.documents():
        text = rag.document(info.doc_id).text
        assert all(text[c.start : c.end] == c.text for c in rag.chunks(info.doc_id))


def cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def shared_flags(postgres, milvus) -> list[str]:
    return ["--store", postgres.new_database(), "--engine", milvus.uri]


def test_status_names_the_store_and_the_engine(tmp_path, postgres, milvus, capsys, minilm):
    local = tmp_path / "local"
    with Rag(Settings(index_dir=local), embedder=minilm) as rag:
        rag.ingest(load_paths([str(SEEDS)]).documents)
    code, out, _ = cli(["--index-dir", str(local), "status", "--check", "--json"], capsys)
    status = json.loads(out)
    assert code == 0 and status["store"] == f"sqlite:{local}" and status["engine"] == f"local:{local}"
    url = postgres.new_database()
    store = url.replace("postgres@", "postgres:secret@")  # a password in the URL is never shown
    with Rag(Settings(store=store, search_engine=milvus.uri), embedder=minilm) as rag:
        rag.ingest(load_paths([str(SEEDS)]).documents)
    code, out, _ = cli(["--store", store, "--engine", milvus.uri, "status", "--check", "--json"], capsys)
    status = json.loads(out)
    assert code == 0 and status["check"] == "ok"
    assert status["store"] == url and status["engine"] == milvus.uri and "secret" not in out
    assert status["documents"] == 1 and status["chunks"] == status["vectors"] > 0
    assert status["index_kind"] == "milvus" and "collection rag_" in status["index_detail"]


def test_environment_variables_choose_the_deployment(postgres, milvus, capsys, monkeypatch, minilm):
    url = postgres.new_database()
    with Rag(Settings(store=url, search_engine=milvus.uri), embedder=minilm) as rag:
        rag.ingest(load_paths([str(SEEDS)]).documents)
    monkeypatch.setenv("RAG_STORE", url)
    monkeypatch.setenv("RAG_ENGINE", milvus.uri)
    code, out, _ = cli(["docs", "--json"], capsys)
    assert code == 0 and [d["source"] for d in json.loads(out)] == [str(next(SEEDS.iterdir()))]


@pytest.mark.parametrize("flags,message", [
    (["--store", "mysql://db/news"], "unknown store 'mysql://db/news'; use sqlite, sqlite:PATH or postgresql://"),
    (["--engine", "elastic://es:9200"], "unknown search engine 'elastic://es:9200'; use local, milvus://"),
    (["--engine", "milvus-lite:/tmp/x"], "a Milvus Lite path must end in .db"),
])
def test_unknown_or_malformed_backends_get_one_line(flags, message, capsys, tmp_path):
    code, _, err = cli(["--index-dir", str(tmp_path / "i"), *flags, "docs"], capsys)
    assert code == 1 and message in err and err.count("\n") == 1 and "Traceback" not in err


def test_an_unreachable_postgres_is_one_clear_line(capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    code, _, err = cli(["--store", f"postgresql://rag:pw@127.0.0.1:{port}/news", "docs"], capsys)
    assert code == 1 and err.startswith(f"rag: postgresql://rag@127.0.0.1:{port}/news: cannot connect to PostgreSQL")
    assert "pw" not in err and err.count("\n") == 1


def test_the_advisory_lock_makes_a_second_writer_wait_or_refuse(postgres, milvus, minilm):
    url = postgres.new_database()
    settings = Settings(store=url, search_engine=milvus.uri, lock_timeout_s=0)
    holder = PostgresStore(url)
    with Rag(settings, embedder=minilm) as rag:
        with holder.lock(5):  # another process's writer, in the middle of its commit
            with pytest.raises(IndexLockedError) as refused:
                rag.ingest(load_paths([str(SEEDS)]).documents)
            assert rag.documents() == []  # readers still work; nothing was written
        message = str(refused.value)
        assert message.startswith(f"{url}: another rag process (rag pid {os.getpid()} on {socket.gethostname()}")
        assert message.endswith("wait for it to finish and run the command again")
        assert rag.ingest(load_paths([str(SEEDS)]).documents).added  # the lock went with its holder
    holder.close()


def test_drift_in_milvus_is_found_by_check_and_healed_by_repair(make_index_shared, minilm):
    rag = make_index_shared()
    rag.ingest(fixture_documents())
    engine = rag.index.engine
    assert isinstance(engine, MilvusEngine)
    stored = set(rag.index.chunk_ids())
    lost = sorted(stored)[:3]
    engine.client.delete(engine.collection, ids=lost)  # rows lost in Milvus
    engine.client.upsert(engine.collection, [{"id": 10**9, "doc_id": "ghost", "generation": 99, "text": "ghost row",
                                              "vector": [0.0] * 383 + [1.0]}])  # a row from a newer store
    problems = rag.check()
    assert any("3 chunks missing from Milvus, 1 Milvus ids with no chunk" in p for p in problems)
    assert any("generation after the store's" in p for p in problems)
    hits = rag.search("ghost row", k=20)
    assert all(h.chunk.id in stored for h in hits)  # a reader never sees a chunk the store lacks
    old = engine.collection
    assert rag.repair().vectors == len(stored)
    assert rag.check() == [] and engine_ids(rag) == stored and engine.collection != old
    assert old not in engine.client.list_collections()  # the replaced collection is dropped
    assert_offsets(rag)


def test_a_milvus_outage_refuses_writes_before_the_store_changes(tmp_path, postgres, minilm):
    server = MilvusServer()
    try:
        settings = Settings(store=postgres.new_database(), search_engine=server.uri)
        docs = fixture_documents()
        with Rag(settings, embedder=minilm) as rag:
            rag.ingest(docs[:2])
            before = rag.documents()
            server.pause()
            with pytest.raises(BackendUnavailableError, match=r"cannot reach Milvus.*check the URI and that Milvus runs"):
                rag.ingest(docs[2:4])
            with pytest.raises(BackendUnavailableError, match="cannot reach Milvus"):
                rag.search("When did the bridge reopen?")
            assert rag.documents() == before and rag.index.store.pending_changes() == []
            server.resume()
            assert rag.search("When did the bridge reopen?", k=1)
            assert len(rag.ingest(docs[2:4]).added) == 2 and rag.check() == []
    finally:
        server.stop()


def test_milvus_lite_in_this_process_and_a_clear_refusal_in_another(tmp_path, minilm):
    lite = f"milvus-lite:{tmp_path / 'milvus.db'}"
    settings = Settings(index_dir=tmp_path / "index", search_engine=lite, generator="extractive")
    with Rag(settings, embedder=minilm) as rag:
        report = rag.ingest(fixture_documents())
        assert rag.status().vectors == report.chunks and rag.check() == []
        assert "Kessel" in rag.search("When did the Kessel Bridge reopen?", k=1)[0].chunk.text
        done = subprocess.run([RAG, "--index-dir", str(tmp_path / "index"), "--engine", lite, "search", "bridge"],
                              capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
        assert done.returncode == 1
        assert "another process has this Milvus Lite file open" in done.stderr
        assert "--engine milvus://HOST:19530" in done.stderr and done.stderr.count("\n") == 1
        rag.remove([report.added[0]])
        assert rag.check() == []
    with Rag(settings, embedder=minilm) as again:  # reopened: the same collection
        assert again.check() == [] and len(again.documents()) == len(ARTICLE_FILES) - 1


def test_moving_only_the_engine_is_a_repair(tmp_path, milvus, capsys, minilm):
    folder = tmp_path / "index"
    with Rag(Settings(index_dir=folder), embedder=minilm) as rag:
        rag.ingest(fixture_documents())
        chunks = rag.status().chunks
    code, out, _ = cli(["--index-dir", str(folder), "--engine", milvus.uri, "repair"], capsys)
    assert code == 0 and f"Rebuilt the search indexes ({milvus.uri}) from the store: {chunks} vectors. Check: ok" in out


def test_both_deployments_give_the_same_top_hit_for_every_fixture_question(tmp_path, postgres, milvus, minilm):
    docs = fixture_documents() + load_paths([str(SEEDS)]).documents
    local = Rag(Settings(index_dir=tmp_path / "local"), embedder=minilm)
    shared = Rag(Settings(store=postgres.new_database(), search_engine=milvus.uri), embedder=minilm)
    try:
        local.ingest(docs)
        shared.ingest(docs)
        assert len(QUESTIONS) >= 20
        for question in QUESTIONS:
            a, b = local.search(question, k=5), shared.search(question, k=5)
            assert (a[0].chunk.doc_id, a[0].chunk.start, a[0].chunk.end) == (
                b[0].chunk.doc_id, b[0].chunk.start, b[0].chunk.end), question
            assert a[0].chunk.text == b[0].chunk.text and a[0].score == pytest.approx(b[0].score, abs=1e-5)
            assert local.ask(question).text == shared.ask(question).text
    finally:
        local.close()
        shared.close()


def test_migrate_copies_without_embedding_and_answers_the_same(tmp_path, postgres, milvus, capsys, minilm):
    folder = tmp_path / "index"
    counting = CountingMiniLM(minilm)
    source = Rag(Settings(index_dir=folder), embedder=counting)
    source.ingest(fixture_documents())
    source.remove([source.documents()[0].doc_id])  # chunk ids with a gap, as in any used index
    source.ingest(load_paths([str(SEEDS)]).documents)
    url = postgres.new_database()
    calls = counting.calls
    report = source.migrate(url, milvus.uri)
    assert counting.calls == calls  # not one embedding call
    assert report.problems == () and report.documents == len(source.documents())
    assert report.chunks == source.status().chunks and (report.store, report.engine) == (url, milvus.uri)
    target = Rag(Settings(store=url, search_engine=milvus.uri), embedder=counting)
    assert target.documents() == source.documents()  # ids, titles, sources, sizes, chunk counts, dates, order
    for info in source.documents():
        assert target.document(info.doc_id) == source.document(info.doc_id)
        assert [(c.start, c.end, c.text) for c in target.chunks(info.doc_id)] == [
            (c.start, c.end, c.text) for c in source.chunks(info.doc_id)]
    for question in QUESTIONS:
        a, b = source.search(question, k=5), target.search(question, k=5)
        assert [(h.chunk.doc_id, h.chunk.start, h.chunk.end, round(h.score, 5)) for h in a] == [
            (h.chunk.doc_id, h.chunk.start, h.chunk.end, round(h.score, 5)) for h in b], question
    assert counting.calls == calls + 2 * len(QUESTIONS)  # only the queries were embedded
    source.close()
    target.close()
    # The CLI: docs listings match, status --check passes, a second migrate into it is refused.
    code, out, _ = cli(["--index-dir", str(folder), "docs", "--json"], capsys)
    local_docs = json.loads(out)
    code, out, _ = cli(["--store", url, "--engine", milvus.uri, "docs", "--json"], capsys)
    assert code == 0 and json.loads(out) == local_docs
    code, out, _ = cli(["--store", url, "--engine", milvus.uri, "status", "--check", "--json"], capsys)
    assert code == 0 and json.loads(out)["check"] == "ok"
    code, _, err = cli(["--index-dir", str(folder), "migrate", "--to-store", url, "--to-engine", milvus.uri], capsys)
    assert code == 1 and "already holds an index" in err and "migrate into an empty database" in err


def test_migrate_on_the_command_line(tmp_path, postgres, milvus, capsys, minilm):
    folder = tmp_path / "index"
    with Rag(Settings(index_dir=folder), embedder=minilm) as rag:
        rag.ingest(fixture_documents())
        chunks = rag.status().chunks
    url = postgres.new_database()
    code, out, _ = cli(["--index-dir", str(folder), "migrate", "--to-store", url, "--to-engine", milvus.uri], capsys)
    assert code == 0, out
    assert f"Copied {len(ARTICLE_FILES)} document(s) and {chunks} chunks with their vectors (nothing re-embedded)" in out
    assert f"Check: ok\nUse it with: rag --store {url} --engine {milvus.uri}" in out
    back = tmp_path / "back"  # and back again, into a local index
    code, out, _ = cli(["--store", url, "--engine", milvus.uri, "migrate", "--to-store", f"sqlite:{back}",
                        "--to-engine", "local"], capsys)
    assert code == 0 and "Check: ok" in out
    code, out, _ = cli(["--index-dir", str(back), "search", "When did the Kessel Bridge reopen?", "--json"], capsys)
    assert code == 0 and "Kessel" in json.loads(out)[0]["text"]


def test_a_lost_postgres_connection_comes_back_between_writes(make_index_shared, postgres):
    import psycopg

    rag = make_index_shared()
    docs = fixture_documents()
    rag.ingest(docs[:2])
    backend = rag.index.store.db.conn.info.backend_pid
    with psycopg.connect(postgres.url(), autocommit=True) as admin:  # as a restart or failover would
        admin.execute("SELECT pg_terminate_backend(%s)", (backend,))
    assert len(rag.documents()) == 2  # the reader connected again
    assert rag.index.store.db.conn.info.backend_pid != backend
    assert len(rag.ingest(docs[2:3]).added) == 1 and rag.check() == []  # and writes, lock and all
