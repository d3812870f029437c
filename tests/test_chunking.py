"""Chunking: exact offsets on every fixture, sentence and paragraph awareness, overlap."""

from __future__ import annotations

import pytest

from conftest import ARTICLE_FILES, SEEDS
from rag.chunking import chunk_document, chunk_spans
from rag.ingest import read_file
from rag.ingest.text import text_document
from rag.sentences import split_sentences

DOCUMENTS = [read_file(p) for p in ARTICLE_FILES + sorted(SEEDS.iterdir())]
SIZES = [(400, 100), (200, 50), (800, 150), (120, 0)]


@pytest.mark.parametrize("doc", DOCUMENTS, ids=lambda d: d.source.rsplit("/", 1)[-1])
@pytest.mark.parametrize("max_chars,overlap", SIZES)
def test_every_chunk_is_an_exact_slice(doc, max_chars, overlap):
    chunks = chunk_document(doc, max_chars, overlap)
    assert chunks
    for chunk in chunks:
        assert doc.text[chunk.start : chunk.end] == chunk.text
        assert chunk.text == chunk.text.strip()
        assert len(chunk.text) <= max_chars


@pytest.mark.parametrize("doc", DOCUMENTS, ids=lambda d: d.source.rsplit("/", 1)[-1])
def test_sentences_are_split_only_when_longer_than_the_maximum(doc):
    max_chars = 400
    chunks = chunk_spans(doc.text, max_chars, 100)
    for start, end in split_sentences(doc.text):
        if end - start <= max_chars:
            assert any(s <= start and end <= e for s, e in chunks), doc.text[start:end]


@pytest.mark.parametrize("doc", DOCUMENTS, ids=lambda d: d.source.rsplit("/", 1)[-1])
def test_chunks_cover_the_text_in_order_with_bounded_overlap(doc):
    chunks = chunk_spans(doc.text, 400, 100)
    assert chunks[0][0] == doc.text.index(doc.text.strip()[0])
    for (s1, e1), (s2, e2) in zip(chunks, chunks[1:]):
        assert s1 < s2 and e1 < e2
        assert s2 <= e1 + 2 or doc.text[e1:s2].strip() == ""  # no text skipped
        assert e1 - s2 <= 100  # overlap within overlap_chars


def test_overlong_sentence_is_split_at_word_boundaries():
    words = " ".join(f"word{i}" for i in range(300))
    doc = text_document(f"Short start. {words}. Short end.", source="t", title_hint="t")
    chunks = chunk_document(doc, 200, 50)
    assert len(chunks) > 5
    for chunk in chunks:
        assert doc.text[chunk.start : chunk.end] == chunk.text
        assert len(chunk.text) <= 200
        assert not chunk.text.endswith("wor") and " " not in chunk.text[-1:]
        assert chunk.text.split()[-1].rstrip(".").startswith(("word", "end", "start"))


def test_paragraph_break_preferred_over_mid_paragraph_cut():
    para1 = "Alpha one is here. Alpha two is here. Alpha three is here."
    para2 = "Beta one is here. Beta two is here. Beta three is here. Beta four is here."
    text = f"{para1}\n\n{para2}"
    spans = chunk_spans(text, 100, 0)
    assert text[spans[0][0] : spans[0][1]] == para1


def test_invalid_sizes_are_refused():
    with pytest.raises(ValueError):
        chunk_spans("text", 100, 100)
