"""The index through ``rag.Rag``: store and search engine kept in step through adds, re-adds,
replacements and removals; the behavioural tests run on both deployments (``make_index``): local
(SQLite + FAISS/BM25 files) and shared (PostgreSQL + Milvus)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import ARTICLE_FILES, SEEDS, HashEmbedder, engine_ids
from rag.core import Rag
from rag.errors import DocumentNotFoundError, IndexMismatchError
from rag.ingest import load_paths
from rag.settings import Settings


def assert_consistent(rag: Rag) -> None:
    assert rag.check() == []
    assert engine_ids(rag) == set(rag.index.chunk_ids())
    for info in rag.documents():
        doc = rag.document(info.doc_id)
        for chunk in rag.chunks(info.doc_id):
            assert doc.text[chunk.start : chunk.end] == chunk.text


def test_ingest_fixtures_keeps_offsets_and_ids_in_step(make_index):
    rag = make_index()
    report = rag.ingest(load_paths([str(p) for p in ARTICLE_FILES]).documents)
    assert len(report.added) == len(ARTICLE_FILES)
    assert report.chunks == rag.index.store.count_chunks() == rag.status().vectors
    assert_consistent(rag)


def test_reingesting_the_same_content_is_a_no_op(make_index):
    rag = make_index()
    rag.ingest(load_paths([str(SEEDS)]).documents)
    before = (rag.index.generation, rag.index.chunk_ids())
    report = rag.ingest(load_paths([str(SEEDS)]).documents)
    assert report.added == () and len(report.unchanged) == 1
    assert (rag.index.generation, rag.index.chunk_ids()) == before


def test_changed_file_replaces_its_old_version(make_index, tmp_path):
    rag = make_index()
    path = tmp_path / "story.txt"
    path.write_text("The council approved the new park. Work starts in May.", encoding="utf-8")
    first = rag.ingest(load_paths([str(path)]).documents)
    old_ids = set(rag.index.chunk_ids())
    path.write_text("The council rejected the new park after a long debate. Residents protested.", encoding="utf-8")
    second = rag.ingest(load_paths([str(path)]).documents)
    assert second.replaced == first.added
    assert [d.doc_id for d in rag.documents()] == list(second.added)
    assert not old_ids & set(rag.index.chunk_ids())
    assert not old_ids & engine_ids(rag)
    assert "rejected" in rag.search("What did the council decide about the park?", k=1)[0].chunk.text
    assert_consistent(rag)


def test_text_without_a_lasting_name_never_replaces(make_index):
    from rag.ingest import read_stdin

    rag = make_index()

    class Stdin:
        def __init__(self, text: str) -> None:
            self.text = text

        def read(self, size: int) -> str:
            return self.text

    first = rag.ingest([read_stdin(Stdin("A first note from stdin. The meeting moved to Thursday."))])
    second = rag.ingest([read_stdin(Stdin("A second note from stdin. The vote moved to Friday."))])
    assert second.replaced == () and len(rag.documents()) == 2
    assert set(first.added) | set(second.added) == {d.doc_id for d in rag.documents()}


def test_remove_deletes_from_the_engine_and_the_store(make_index):
    rag = make_index()
    report = rag.ingest(load_paths([str(p) for p in ARTICLE_FILES[:3]]).documents)
    gone = report.added[0]
    gone_chunks = {c.id for c in rag.chunks(gone)}
    removed = rag.remove([gone])
    assert removed == len(gone_chunks)
    assert gone not in [d.doc_id for d in rag.documents()]
    assert not gone_chunks & engine_ids(rag)
    assert not gone_chunks & set(rag.index.chunk_ids())
    assert all(h.chunk.doc_id != gone for h in rag.search("bridge lynx coins", k=20))
    with pytest.raises(DocumentNotFoundError, match="rag docs"):
        rag.remove([gone])
    assert_consistent(rag)


def test_index_built_with_another_embedder_is_refused_with_rebuild_message(tmp_path, minilm):
    folder = tmp_path / "idx"
    built = Rag(Settings(index_dir=folder, embedder_model="test/hash-embedder"), embedder=HashEmbedder())
    built.ingest(load_paths([str(SEEDS)]).documents)
    built.close()
    with pytest.raises(IndexMismatchError, match=r"test/hash-embedder.*rag ingest --rebuild"):
        Rag(Settings(index_dir=folder), embedder=minilm)
    rebuilt = Rag(Settings(index_dir=folder), embedder=minilm, check=False)
    assert rebuilt.rebuild() > 0
    rebuilt.close()
    reopened = Rag(Settings(index_dir=folder), embedder=minilm)
    assert reopened.status().embedder == Settings().embedder_model and reopened.status().dimension == 384
    assert_consistent(reopened)
    reopened.close()


def test_exact_arithmetic_with_a_fake_embedder(tmp_path):
    rag = Rag(Settings(index_dir=tmp_path / "h", embedder_model="test/hash-embedder"), embedder=HashEmbedder())
    docs = load_paths([str(p) for p in ARTICLE_FILES]).documents
    rag.ingest(docs[:2])
    rag.ingest(docs[2:])
    total = rag.index.store.count_chunks()
    first = rag.documents()[0].doc_id
    n_first = len(rag.chunks(first))
    rag.remove([first])
    assert rag.index.engine.vectors.ntotal == rag.index.store.count_chunks() == total - n_first
    assert rag.index.generation == 3
    assert sorted(p.name for p in Path(rag.location).glob("vectors-*.faiss")) == ["vectors-3.faiss"]
    assert_consistent(rag)
    rag.close()


def test_reopened_index_gives_the_same_results(make_index, minilm):
    rag = make_index()
    rag.ingest(load_paths([str(p) for p in ARTICLE_FILES]).documents)
    query = "How much did the bridge repairs cost?"
    before = [(h.chunk.id, round(h.score, 5)) for h in rag.search(query, k=5)]
    rag.close()
    again = Rag(rag.settings, embedder=minilm)
    assert [(h.chunk.id, round(h.score, 5)) for h in again.search(query, k=5)] == before
    again.close()


def test_seed_question_finds_the_400_percent_chunk_first(make_index):
    rag = make_index()
    rag.ingest(load_paths([str(SEEDS)]).documents)
    hits = rag.search("How much should NATO boost air and missile defense?", k=3)
    assert "400%" in hits[0].chunk.text
    doc = rag.document(hits[0].chunk.doc_id)
    assert doc.text[hits[0].chunk.start : hits[0].chunk.end] == hits[0].chunk.text


def test_search_can_be_restricted_to_documents(make_index):
    rag = make_index()
    report = rag.ingest(load_paths([str(p) for p in ARTICLE_FILES]).documents)
    only = report.added[1]
    hits = rag.search("When did the bridge reopen?", k=5, doc_ids=[only])
    assert hits and {h.chunk.doc_id for h in hits} == {only}
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))


def test_hit_scores_are_the_cosines_the_relevance_gate_uses(make_index, minilm):
    rag = make_index()
    rag.ingest(load_paths([str(SEEDS)]).documents)
    query = "How much should NATO boost air and missile defense?"
    vector = minilm.encode_query(query)
    for hit in rag.search(query, k=5):
        assert hit.score == pytest.approx(float(minilm.encode([hit.chunk.text])[0] @ vector), abs=1e-5)


def test_status_check_and_repair_on_every_deployment(make_index):
    rag = make_index()
    report = rag.ingest(load_paths([str(p) for p in ARTICLE_FILES]).documents)
    status = rag.status()
    assert (status.documents, status.chunks, status.vectors) == (len(ARTICLE_FILES), report.chunks, report.chunks)
    assert status.store.split(":")[0] in ("sqlite", "postgresql") and status.engine.split(":")[0] in ("local", "milvus")
    query = "How much did the bridge repairs cost?"
    before = [(h.chunk.id, round(h.score, 5)) for h in rag.search(query, k=5)]
    assert rag.repair().vectors == report.chunks
    assert_consistent(rag)
    assert [(h.chunk.id, round(h.score, 5)) for h in rag.search(query, k=5)] == before
