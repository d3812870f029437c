"""The index: SQLite and FAISS kept in step through adds, re-adds, replacements and removals."""

from __future__ import annotations

import pytest

from conftest import ARTICLE_FILES, SEEDS, HashEmbedder
from rag.errors import DocumentNotFoundError, IndexMismatchError
from rag.index import Index
from rag.ingest import load_paths
from rag.retrieval import search
from rag.settings import Settings


def faiss_ids(index: Index) -> set[int]:
    return set(index.vectors.ids().tolist())


def assert_consistent(index: Index) -> None:
    assert index.check() == []
    assert faiss_ids(index) == set(index.store.chunk_ids())
    for info in index.documents():
        doc = index.document(info.doc_id)
        for chunk in index.chunks(info.doc_id):
            assert doc.text[chunk.start : chunk.end] == chunk.text


def test_ingest_fixtures_keeps_offsets_and_ids_in_step(make_index):
    index = make_index()
    report = index.add(load_paths([str(p) for p in ARTICLE_FILES]).documents)
    assert len(report.added) == len(ARTICLE_FILES)
    assert report.chunks == index.store.count("chunks") == index.vectors.ntotal
    assert_consistent(index)


def test_reingesting_the_same_content_is_a_no_op(make_index):
    index = make_index()
    index.add(load_paths([str(SEEDS)]).documents)
    before = (index.generation, index.store.chunk_ids())
    report = index.add(load_paths([str(SEEDS)]).documents)
    assert report.added == [] and len(report.unchanged) == 1
    assert (index.generation, index.store.chunk_ids()) == before


def test_changed_file_replaces_its_old_version(make_index, tmp_path):
    index = make_index()
    path = tmp_path / "story.txt"
    path.write_text("The council approved the new park. Work starts in May.", encoding="utf-8")
    first = index.add(load_paths([str(path)]).documents)
    old_ids = set(index.store.chunk_ids())
    path.write_text("The council rejected the new park after a long debate. Residents protested.", encoding="utf-8")
    second = index.add(load_paths([str(path)]).documents)
    assert second.replaced == first.added
    assert [d.doc_id for d in index.documents()] == second.added
    assert not old_ids & set(index.store.chunk_ids())
    assert not old_ids & faiss_ids(index)
    assert "rejected" in search(index, "What did the council decide about the park?", k=1)[0].chunk.text
    assert_consistent(index)


def test_remove_deletes_from_faiss_and_sqlite(make_index):
    index = make_index()
    report = index.add(load_paths([str(p) for p in ARTICLE_FILES[:3]]).documents)
    gone = report.added[0]
    gone_chunks = {c.id for c in index.chunks(gone)}
    removed = index.remove([gone])
    assert removed == len(gone_chunks)
    assert gone not in [d.doc_id for d in index.documents()]
    assert not gone_chunks & faiss_ids(index)
    assert not gone_chunks & set(index.store.chunk_ids())
    assert all(h.chunk.doc_id != gone for h in search(index, "bridge lynx coins", k=20))
    with pytest.raises(DocumentNotFoundError, match="rag docs"):
        index.remove([gone])
    assert_consistent(index)


def test_index_built_with_another_embedder_is_refused_with_rebuild_message(tmp_path, minilm):
    folder = tmp_path / "idx"
    built = Index.open(Settings(index_dir=folder, embedder_model="test/hash-embedder"), embedder=HashEmbedder())
    built.add(load_paths([str(SEEDS)]).documents)
    built.close()
    with pytest.raises(IndexMismatchError, match=r"test/hash-embedder.*rag ingest --rebuild"):
        Index.open(Settings(index_dir=folder), embedder=minilm)
    rebuilt = Index.open(Settings(index_dir=folder), embedder=minilm, check=False)
    assert rebuilt.rebuild() > 0
    rebuilt.close()
    reopened = Index.open(Settings(index_dir=folder), embedder=minilm)
    assert reopened.status().embedder == Settings().embedder_model and reopened.status().dimension == 384
    assert_consistent(reopened)


def test_exact_arithmetic_with_a_fake_embedder(tmp_path):
    index = Index.open(Settings(index_dir=tmp_path / "h", embedder_model="test/hash-embedder"), embedder=HashEmbedder())
    docs = load_paths([str(p) for p in ARTICLE_FILES]).documents
    index.add(docs[:2])
    index.add(docs[2:])
    total = index.store.count("chunks")
    first = index.documents()[0].doc_id
    n_first = len(index.chunks(first))
    index.remove([first])
    assert index.vectors.ntotal == index.store.count("chunks") == total - n_first
    assert index.generation == 3
    assert sorted(p.name for p in index.dir.glob("vectors-*.faiss")) == ["vectors-3.faiss"]
    assert_consistent(index)


def test_reopened_index_gives_the_same_results(make_index, minilm):
    index = make_index()
    index.add(load_paths([str(p) for p in ARTICLE_FILES]).documents)
    query = "How much did the bridge repairs cost?"
    before = [(h.chunk.id, round(h.score, 5)) for h in search(index, query, k=5)]
    index.close()
    again = Index.open(index.settings, embedder=minilm)
    assert [(h.chunk.id, round(h.score, 5)) for h in search(again, query, k=5)] == before
    again.close()


def test_seed_question_finds_the_400_percent_chunk_first(make_index):
    index = make_index()
    index.add(load_paths([str(SEEDS)]).documents)
    hits = search(index, "How much should NATO boost air and missile defense?", k=3)
    assert "400%" in hits[0].chunk.text
    doc = index.document(hits[0].chunk.doc_id)
    assert doc.text[hits[0].chunk.start : hits[0].chunk.end] == hits[0].chunk.text


def test_search_can_be_restricted_to_documents(make_index):
    index = make_index()
    report = index.add(load_paths([str(p) for p in ARTICLE_FILES]).documents)
    only = report.added[1]
    hits = search(index, "When did the bridge reopen?", k=5, doc_ids=[only])
    assert hits and {h.chunk.doc_id for h in hits} == {only}
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
