"""News briefings: a single article keeps its lead; several articles are grouped by story with an
overview naming each story, never by a context-free sentence. Real MiniLM, real index."""

from __future__ import annotations

import pytest

from conftest import DATA
from rag.core import Rag
from rag.generation.briefing import has_context
from rag.ingest import load_paths
from rag.sentences import split_sentences
from rag.settings import Settings

NEWCOMERS = DATA / "newcomers"

CONTEXT = [
    ("The plan costs 38 million euros.", False),
    ("It will open in April.", False),
    ("They say the floats will block their fishing grounds.", False),
    ("Lindenfeld will build 64 kilometres of bike lanes by 2029.", True),
    ("The city council of Lindenfeld has approved a plan to build bike lanes.", True),
    ("Work on a 42-megawatt floating solar farm on the Valmora reservoir will begin in April.", True),
]


@pytest.mark.parametrize("sentence,expected", CONTEXT, ids=[c[0][:30] for c in CONTEXT])
def test_context_free_sentences_are_recognised(sentence: str, expected: bool) -> None:
    assert has_context(sentence) is expected


@pytest.fixture(scope="module")
def newsroom(tmp_path_factory, minilm):
    settings = Settings(index_dir=tmp_path_factory.mktemp("briefing") / "index", generator="extractive")
    with Rag(settings, embedder=minilm) as rag:
        rag.ingest(load_paths([str(p) for p in sorted(NEWCOMERS.glob("*.txt"))]).documents)
        yield rag


def _doc(index, name: str):
    info = next(d for d in index.documents() if d.source.endswith(name))
    return index.document(info.doc_id)


def _lead(text: str) -> str:
    first, second = split_sentences(text)[:2]
    return text[second[0] : second[1]]  # the first line is the headline


@pytest.mark.parametrize("length", ["short", "medium", "long"])
def test_single_article_briefing_keeps_its_lead(newsroom, length: str) -> None:
    doc = _doc(newsroom, "lindenfeld_bike_lanes.txt")
    answer = newsroom.brief(doc_ids=[doc.id], length=length)
    overview = [s.text for s in answer.sentences if s.section == "overview"]
    assert _lead(doc.text) in overview
    assert "The plan costs 38 million euros." not in overview
    for c in answer.citations:
        assert newsroom.document(c.doc_id).text[c.start : c.end] == c.quote


@pytest.mark.parametrize("order,length", [((0, 1, 2), "medium"), ((1, 0, 2), "short"), ((2, 0, 1), "long")])
def test_multi_article_briefing_groups_stories_and_names_each(newsroom, order, length) -> None:
    bikes, solar, wire = (_doc(newsroom, n) for n in
                          ("lindenfeld_bike_lanes.txt", "valmora_solar.txt", "valmora_solar_wire.txt"))
    docs = [bikes, solar, wire]
    answer = newsroom.brief(doc_ids=[docs[i].id for i in order], length=length)
    overview = [s for s in answer.sentences if s.section == "overview"]
    assert len(overview) == 2  # two stories: the bike lanes, and the solar farm told twice
    assert all(has_context(s.text) for s in overview)
    cited_docs = {c.doc_id for s in overview for n in s.citations for c in answer.citations if c.n == n}
    assert bikes.id in cited_docs and ({solar.id, wire.id} & cited_docs)
    points = [s for s in answer.sentences if s not in overview]
    stories = ["bike" if any(c.doc_id == bikes.id for n in s.citations for c in answer.citations if c.n == n)
               else "solar" for s in points]
    assert stories == sorted(stories, key=stories.index)  # grouped: one story's points, then the other's
    assert {c.doc_id for c in answer.citations} == {bikes.id, solar.id, wire.id}
    for c in answer.citations:
        assert newsroom.document(c.doc_id).text[c.start : c.end] == c.quote
