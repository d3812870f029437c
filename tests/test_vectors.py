"""Vector indexes by size: the approximate (IVF) kind agrees with exact search and stays in step.

Real MiniLM and real FAISS on the fixture articles. A tiny ``ann_threshold``
forces the approximate path; ``ann_nprobe=2`` makes it really approximate
(2 of the 8 lists of the fixtures' 65 chunks are scanned per query).
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import ARTICLE_FILES, parse_facts
from rag.index import Index
from rag.ingest import load_paths
from rag.retrieval import dense_search, search
from rag.vectors import VectorIndex, nlist_for

QUESTIONS = [f["question"] for f in parse_facts() if "question" in f]
ANN = {"ann_threshold": 8, "ann_nprobe": 2}


def documents():
    return load_paths([str(p) for p in ARTICLE_FILES]).documents


def assert_in_step(index: Index) -> None:
    stored = set(index.store.chunk_ids())
    assert index.check() == []
    assert set(index.vectors.ids().tolist()) == stored
    assert set(index.lexical.ids().tolist()) == stored
    assert index.vectors.ntotal == index.lexical.ntotal == len(stored)


def assert_offsets(index: Index, hits) -> None:
    for hit in hits:
        doc = index.document(hit.chunk.doc_id)
        assert doc.text[hit.chunk.start : hit.chunk.end] == hit.chunk.text


def test_nlist_grows_with_the_square_root_of_the_collection():
    assert [nlist_for(n) for n in (40, 10_000, 100_000, 1_000_000)] == [4, 512, 1024, 4096]


def test_approximate_index_returns_the_same_top_hit_as_exact(make_index):
    exact = make_index("exact")
    approximate = make_index("ann", **ANN)
    docs = documents()
    exact.add(docs)
    approximate.add(docs)
    assert exact.status().index_kind == "flat"
    status = approximate.status()
    assert status.index_kind == "ivf" and "IVF-Flat" in status.index_detail
    assert approximate.vectors.nlist >= 4 * approximate.vectors.nprobe
    for question in QUESTIONS:
        top_exact = dense_search(exact, question, 1)[0]
        top_approximate = dense_search(approximate, question, 1)[0]
        assert top_approximate[0] == top_exact[0], question
        assert top_approximate[1] == pytest.approx(top_exact[1], abs=1e-5)
        assert_offsets(approximate, search(approximate, question, k=3))


def test_adds_and_removes_keep_the_approximate_index_in_step(make_index):
    index = make_index(**ANN)
    docs = documents()
    first = index.add(docs[:4])
    assert index.vectors.kind == "ivf"
    gone = first.added[0]
    gone_chunks = {c.id for c in index.chunks(gone)}
    index.remove([gone])
    index.add(docs[4:])
    assert_in_step(index)
    assert not gone_chunks & set(index.vectors.ids().tolist())
    for question in QUESTIONS:
        hits = search(index, question, k=5)
        assert hits and all(h.chunk.doc_id != gone for h in hits)
        assert_offsets(index, hits)


def test_kind_follows_the_collection_size_both_ways(make_index):
    docs = documents()
    index = make_index(ann_threshold=30, ann_nprobe=1)
    index.add(docs[:1])
    assert index.store.count("chunks") < 30 and index.vectors.kind == "flat"
    index.add(docs[1:])
    assert index.store.count("chunks") >= 30 and index.vectors.kind == "ivf"
    assert index.store.manifest()["index_kind"] == "ivf"
    while index.store.count("chunks") >= 15:  # IVF stays down to half the threshold
        assert index.vectors.kind == "ivf"
        index.remove([index.documents()[-1].doc_id])
    assert index.vectors.kind == "flat"
    assert_in_step(index)


def test_saved_and_reopened_approximate_index_gives_the_same_results(make_index, minilm):
    index = make_index(**ANN)
    index.add(documents())
    before = {q: [(h.chunk.id, round(h.score, 5)) for h in search(index, q, k=5)] for q in QUESTIONS}
    generation = index.generation
    index.close()
    again = Index.open(index.settings, embedder=minilm)
    assert again.generation == generation and again.vectors.kind == "ivf"
    assert sorted(p.name for p in again.dir.glob("vectors-*")) == [f"vectors-{generation}.faiss"]
    assert {q: [(h.chunk.id, round(h.score, 5)) for h in search(again, q, k=5)] for q in QUESTIONS} == before
    assert_in_step(again)
    again.close()


def test_search_restricted_to_documents_is_exact_on_the_approximate_index(make_index):
    exact = make_index("exact")
    approximate = make_index("ann", **ANN)
    docs = documents()
    exact.add(docs)
    report = approximate.add(docs)
    only = report.added[2:4]
    for question in QUESTIONS:
        got = search(approximate, question, k=4, doc_ids=only)
        want = search(exact, question, k=4, doc_ids=only)
        assert got and {h.chunk.doc_id for h in got} <= set(only)
        assert [h.chunk.id for h in got] == [h.chunk.id for h in want]
        assert_offsets(approximate, got)


def test_vector_index_reconstructs_what_was_added_and_forgets_what_was_removed(minilm):
    texts = [c for doc in documents()[:3] for c in doc.text.split("\n\n") if c.strip()]
    vectors = minilm.encode(texts)
    ids = np.arange(100, 100 + len(texts), dtype=np.int64)
    index = VectorIndex.build(vectors.shape[1], lambda: [(ids, vectors)], len(ids), threshold=1, nprobe=2)
    assert index.kind == "ivf" and index.ntotal == len(ids)
    np.testing.assert_allclose(index.reconstruct(ids[:3]), vectors[:3], atol=1e-6)
    assert index.remove(ids[:2]) == 2 and index.remove(ids[:2]) == 0
    assert sorted(index.ids().tolist()) == ids[2:].tolist()
    scores, found = index.search(vectors[2], 1, allowed=ids[2:5])
    assert found[0, 0] == ids[2] and scores[0, 0] == pytest.approx(1.0, abs=1e-5)
