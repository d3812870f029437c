"""Hybrid retrieval: BM25 beside dense vectors, fused by RRF, diversified by MMR, kept in step.

Real MiniLM, real FAISS, real bm25s; the behavioural tests run on the shared deployment
too (PostgreSQL + Milvus, whose own BM25 and RRF ranker do the work). The rare-term fixture is written inline:
press-quote articles ("X said ...") that a question about what someone said
matches semantically, and one article that names a person no other text does.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import ARTICLE_FILES, engine_ids, parse_facts
from rag.core import Rag
from rag.errors import IndexCorruptError, IndexMismatchError
from rag.ingest import load_paths
from rag.ingest.text import text_document
from rag.retrieval import reciprocal_rank_fusion
from rag.storage.lexical import LexicalIndex
from rag.tokens import tokenize

TARGET = (
    "Harbour Board Approves New Ferry Timetable\n\nThe harbour board approved a new winter timetable for the island "
    "ferries on Wednesday. Boats will leave every ninety minutes instead of every hour, and the last crossing moves to "
    "22:40. The board's secretary, Ottoline Quarshie-Brandt, said fuel costs made the change unavoidable. The new "
    "timetable applies from November 4 and will be reviewed in spring."
)
ROLES = ["mayor", "union leader", "health minister", "school director", "police chief", "fire chief",
         "bank governor", "club chairman", "university rector", "bishop", "airport manager", "farmers' spokesman"]
TOPICS = ["the new budget", "the strike", "the hospital plan", "the school merger", "the night patrols",
          "the forest fires", "interest rates", "the stadium", "tuition fees", "the church repairs", "night flights",
          "milk prices"]
QUOTES = [
    f"{role.title()} Speaks Out on {topic.title()}\n\nThe {role} spoke to reporters on Thursday about {topic}. "
    f"\"We listened to everyone and we will not change course now,\" the {role} said. Critics said the decision on "
    f"{topic} was rushed."
    for role, topic in zip(ROLES, TOPICS)
]
RARE_QUESTION = "What did Quarshie-Brandt say?"
QUESTIONS = [f["question"] for f in parse_facts() if "question" in f]
HYBRID = {"hybrid": True, "retrieval_mmr_lambda": 1.0}


def press_documents():
    texts = QUOTES + [TARGET]
    return [text_document(t, f"press-{i}.txt", f"press {i}") for i, t in enumerate(texts)]


def fixture_documents():
    return load_paths([str(p) for p in ARTICLE_FILES]).documents


def assert_in_step(index: Rag) -> None:
    stored = set(index.index.chunk_ids())
    assert index.check() == []
    assert engine_ids(index, "lexical") == stored == engine_ids(index, "vectors")


def lexical_search(index: Rag, query: str, k: int) -> list[tuple[int, float]]:
    index.index.refresh()
    return index.index.keyword(query, k)


def assert_offsets(index: Rag, hits) -> None:
    for hit in hits:
        doc = index.document(hit.chunk.doc_id)
        assert doc.text[hit.chunk.start : hit.chunk.end] == hit.chunk.text


def test_hybrid_finds_a_rare_exact_name_that_dense_misses(make_index, minilm):
    index = make_index(**HYBRID)
    index.ingest(press_documents())
    index.index.refresh()
    dense = [h.chunk.text for h in index.index.hits(index.index.dense(minilm.encode_query(RARE_QUESTION), 3))]
    assert len(dense) == 3 and not any("Quarshie-Brandt" in text for text in dense)  # the premise: dense alone misses it
    hits = index.search(RARE_QUESTION, k=3)
    assert "Quarshie-Brandt" in hits[0].chunk.text
    assert [h.rank for h in hits] == [1, 2, 3]
    assert_offsets(index, hits)
    plain = make_index("plain", hybrid=False, retrieval_mmr_lambda=1.0)
    plain.ingest(press_documents())
    assert not any("Quarshie-Brandt" in h.chunk.text for h in plain.search(RARE_QUESTION, k=3))


def test_hit_scores_are_cosines_to_the_query(make_index, minilm):
    index = make_index(**HYBRID)
    index.ingest(press_documents())
    query = minilm.encode_query(RARE_QUESTION)
    for hit in index.search(RARE_QUESTION, k=5):
        assert hit.score == pytest.approx(float(minilm.encode([hit.chunk.text])[0] @ query), abs=1e-4)


def test_adds_replacements_and_removes_keep_bm25_dense_and_sqlite_in_step(make_index, tmp_path):
    index = make_index(**HYBRID)
    docs = fixture_documents()
    index.ingest(docs[:3])
    assert_in_step(index)
    report = index.ingest(press_documents())
    assert lexical_search(index, "Quarshie", 5)
    path = tmp_path / "harbour.txt"
    path.write_text(TARGET.replace("Ottoline Quarshie-Brandt", "Ines Vogt"), encoding="utf-8")
    index.ingest(load_paths([str(path)]).documents)
    path.write_text(TARGET.replace("Ottoline Quarshie-Brandt", "Piet Halloran"), encoding="utf-8")
    replaced = index.ingest(load_paths([str(path)]).documents)
    assert replaced.replaced and lexical_search(index, "Halloran", 5) and not lexical_search(index, "Vogt", 5)
    index.remove([d for d in report.added if "Quarshie-Brandt" in index.document(d).text])
    assert lexical_search(index, "Quarshie", 5) == []
    index.ingest(docs[3:])
    assert_in_step(index)
    for question in QUESTIONS:
        assert_offsets(index, index.search(question, k=5))


def test_bm25_is_saved_per_generation_and_reopens_with_the_same_results(make_rag, minilm):
    index = make_rag(**HYBRID)
    index.ingest(fixture_documents()[:4])
    index.ingest(press_documents())
    queries = QUESTIONS + [RARE_QUESTION]
    before = {q: [(h.chunk.id, round(h.score, 5)) for h in index.search(q, k=5)] for q in queries}
    generation = index.index.generation
    assert sorted(p.name for p in Path(index.location).glob("bm25-*")) == [f"bm25-{generation}"]
    status = index.status()
    assert status.lexical_chunks == status.chunks == status.vectors and "BM25" in status.lexical
    index.close()
    again = Rag(index.settings, embedder=minilm)
    assert {q: [(h.chunk.id, round(h.score, 5)) for h in again.search(q, k=5)] for q in queries} == before
    assert_in_step(again)
    again.close()


def test_repair_rebuilds_a_missing_bm25_folder(make_rag, minilm):
    index = make_rag(**HYBRID)
    index.ingest(press_documents())
    before = [(h.chunk.id, round(h.score, 5)) for h in index.search(RARE_QUESTION, k=5)]
    index.close()
    shutil.rmtree(Path(index.location) / f"bm25-{index.index.generation}")
    damaged = Rag(index.settings, embedder=minilm)
    assert any("BM25 index" in p and "missing" in p and "rag repair" in p for p in damaged.check())
    with pytest.raises(IndexCorruptError, match="BM25 index.*rag repair"):  # reported, never rebuilt on open
        damaged.search(RARE_QUESTION, k=5)
    damaged.repair()
    assert_in_step(damaged)
    assert [(h.chunk.id, round(h.score, 5)) for h in damaged.search(RARE_QUESTION, k=5)] == before
    damaged.close()


def test_segments_score_like_one_bm25_index():
    rows = [(c_id, text) for c_id, text in enumerate(
        p for doc in fixture_documents() + press_documents() for p in doc.text.split("\n\n") if p.strip()
    )]
    whole = LexicalIndex.build([rows])
    parts = LexicalIndex()
    for start in range(0, len(rows), 25):
        part = rows[start : start + 25]
        parts.add([r[0] for r in part], [r[1] for r in part])
    assert len(parts.segments) > 2 and sorted(parts.ids().tolist()) == sorted(whole.ids().tolist())
    for query in QUESTIONS + [RARE_QUESTION]:
        got, want = parts.search(query, 5), whole.search(query, 5)
        assert [i for i, _ in got] == [i for i, _ in want], query
        assert [s for _, s in got] == pytest.approx([s for _, s in want], rel=1e-4)
    gone = [r[0] for r in rows if "Quarshie" in r[1]]
    assert [i for i, _ in parts.search("Quarshie", 5)] == gone
    assert parts.remove(gone) == len(gone) and parts.search("Quarshie", 5) == []
    assert parts.ntotal == len(rows) - len(gone)


def test_tokens_keep_numbers_and_fold_plurals():
    terms = tokenize("Ferries leave at 22:40; fares rose 2.8 percent for 1,200 riders in Zürich.")
    assert {"22", "40", "2.8", "1,200", "zürich"} <= set(terms) and not {"at", "for", "in"} & set(terms)
    assert tokenize("ferries fares riders") == tokenize("ferry fare rider")


def test_bm25_made_by_an_older_tokenizer_is_reported_and_repaired(make_rag, minilm):
    index = make_rag(**HYBRID)
    index.ingest(press_documents())
    before = [(h.chunk.id, round(h.score, 5)) for h in index.search(RARE_QUESTION, k=5)]
    store = index.index.store
    with store.transaction():
        store.set_manifest({"lexical": "bm25"})  # what indexes made before rag/tokens.py recorded
    index.close()
    old = Rag(index.settings, embedder=minilm)
    assert any("older tokenizer" in p and "rag repair" in p for p in old.check())
    with pytest.raises(IndexMismatchError, match="older tokenizer.*rag repair"):
        old.search(RARE_QUESTION, k=5)
    old.repair()
    assert [(h.chunk.id, round(h.score, 5)) for h in old.search(RARE_QUESTION, k=5)] == before
    assert old.check() == [] and old.index.store.manifest()["lexical"].startswith("bm25/tokens-")
    assert_in_step(old)
    old.close()


def test_mmr_keeps_near_duplicates_out_of_the_top_passages(make_rag):
    story = press_documents()[-1]
    copy = text_document(TARGET + " ", "wire-copy.txt", "wire copy")  # the same story from another source
    index = make_rag(hybrid=True, retrieval_mmr_lambda=0.5)
    index.ingest([story, copy] + press_documents()[:4])
    hits = index.search("When does the new ferry timetable start?", k=2)
    assert "timetable" in hits[0].chunk.text
    assert "timetable" not in hits[1].chunk.text  # not the duplicate
    no_mmr = make_rag("no-mmr", hybrid=True, retrieval_mmr_lambda=1.0)
    no_mmr.ingest([story, copy] + press_documents()[:4])
    assert all("timetable" in h.chunk.text for h in no_mmr.search("When does the new ferry timetable start?", k=2))


def test_reciprocal_rank_fusion_rewards_agreement_and_weights_lists():
    fused = dict(reciprocal_rank_fusion([[1, 2, 3], [3, 4]], rrf_k=60))
    assert max(fused, key=fused.get) == 3
    weighted = reciprocal_rank_fusion([[1, 2], [2, 9]], rrf_k=60, weights=[1.0, 0.0])
    assert [i for i, _ in weighted][:2] == [1, 2]
