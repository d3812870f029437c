"""A document's identity is its source (issue 14, findings 1-3): replacing a source replaces exactly
that source's document, however its path is typed; equal text under two sources is two documents;
an upload's file name is a label, never an identity; a version-1 index is upgraded in place.

Real MiniLM, real SQLite and FAISS, the real web actions and the real ``rag`` entry point.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from pathlib import Path

import pytest
from conftest import DATA

from rag.cli import main
from rag.core import Rag
from rag.errors import IndexMismatchError
from rag.ingest import load_paths
from rag.ingest.identity import document_id, file_source
from rag.settings import Settings
from rag.web.actions import WebActions

BRIDGE = "The Kessel Bridge reopened on March 3 after repairs that cost four million euros."
FERRY = "The harbour ferry timetable changes in June, with two extra evening sailings to Alder."
MARKET = "The winter market on Quay Square will open every Saturday until the end of February."
PARK = "The council approved a new park on the old rail yard; planting starts in April."


def ingest(rag: Rag, *paths: str | Path):
    return rag.ingest(load_paths([str(p) for p in paths]).documents)


def texts(rag: Rag) -> dict[str, str]:
    """{source: text} of every stored document; also checks each document's chunks are its own slices."""
    out = {}
    for info in rag.documents():
        doc = rag.document(info.doc_id)
        chunks = rag.chunks(info.doc_id)
        assert chunks and all(doc.text[c.start : c.end] == c.text for c in chunks)
        out[doc.source] = doc.text.strip()
    return out


def test_replacing_one_of_two_equal_files_keeps_the_other(make_rag, tmp_path: Path) -> None:
    """Finding 1: echo X > f/a.txt; cp f/a.txt f/b.txt; ingest f; echo Y > f/a.txt; ingest f/a.txt."""
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "a.txt").write_text(BRIDGE + "\n")
    (folder / "b.txt").write_text(BRIDGE + "\n")
    rag = make_rag()
    first = ingest(rag, folder)
    assert len(first.added) == 2  # equal text, two sources: two documents
    (folder / "a.txt").write_text(FERRY + "\n")
    second = ingest(rag, folder / "a.txt")
    assert len(second.added) == 1 and len(second.replaced) == 1
    a, b = file_source(folder / "a.txt"), file_source(folder / "b.txt")
    assert texts(rag) == {a: FERRY, b: BRIDGE}
    hit = rag.search("When did the Kessel Bridge reopen?", k=1)[0]
    assert hit.source == b and "Kessel Bridge" in hit.chunk.text
    rag.remove([next(i.doc_id for i in rag.documents() if i.source == a)])
    assert texts(rag) == {b: BRIDGE} and rag.check() == []


def test_one_file_typed_three_ways_is_one_source(
    make_rag, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finding 3: f/c.txt, then /abs/f/c.txt after an edit, then ./c.txt from inside f after another."""
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "c.txt").write_text(BRIDGE + "\n")
    rag = make_rag()
    monkeypatch.chdir(tmp_path)
    ingest(rag, "f/c.txt")
    (folder / "c.txt").write_text(FERRY + "\n")
    assert len(ingest(rag, str(folder.resolve() / "c.txt")).replaced) == 1
    monkeypatch.chdir(folder)
    (folder / "c.txt").write_text(MARKET + "\n")
    assert len(ingest(rag, "./c.txt").replaced) == 1
    link = tmp_path / "link"
    link.symlink_to(folder)
    assert ingest(rag, link / "c.txt").unchanged  # the same file through a symbolic link
    assert texts(rag) == {file_source(folder / "c.txt"): MARKET}
    answer = rag.ask("When will the winter market open?")
    assert answer.citations and all("market" in c.quote.lower() for c in answer.citations)


def test_two_uploads_with_one_name_are_two_documents(tmp_path: Path) -> None:
    """Finding 2: a/article.txt and a different b/article.txt, alone or in one upload."""
    for name, text in (("a", BRIDGE), ("b", FERRY), ("c", MARKET)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "article.txt").write_text(text + "\n")
    actions = WebActions(Settings(index_dir=tmp_path / "index"), tmp_path / "work")
    both = actions.ingest_files([str(tmp_path / "a" / "article.txt"), str(tmp_path / "b" / "article.txt")],
                                ["article.txt", "article.txt"])
    assert both.ok and not both.error and len(both.report.added) == 2, both
    later = actions.ingest_files([str(tmp_path / "c" / "article.txt")], ["article.txt"])
    assert len(later.report.added) == 1 and later.report.replaced == ()
    again = actions.ingest_files([str(tmp_path / "a" / "article.txt")], ["article.txt"])
    assert again.report.added == () and len(again.report.unchanged) == 1  # the same upload again
    with actions.rag() as rag:
        stored = [(d.source, d.text.strip()) for d in map(rag.document, rag.index.document_ids())]
        assert rag.check() == []
    # Told apart by their ids (shown in the library), not by the name the browser sent.
    assert sorted(stored) == sorted(("upload: article.txt", text) for text in (BRIDGE, FERRY, MARKET))


def test_document_ids_hash_source_and_text() -> None:
    assert document_id("/f/a.txt", BRIDGE) != document_id("/f/b.txt", BRIDGE)
    assert document_id("/f/a.txt", BRIDGE) != document_id("/f/a.txt", FERRY)
    doc = load_paths([str(DATA / "bridge_reopens.txt")]).documents[0]
    assert doc.source == os.path.realpath(DATA / "bridge_reopens.txt")
    assert doc.id == document_id(doc.source, doc.text)


def _as_version_1(index_dir: Path, typed: dict[str, str]) -> None:
    """Rewrite an index as schema version 1 wrote it: ids hash the text alone, sources as typed, no checksums."""
    db = sqlite3.connect(index_dir / "rag.sqlite")
    db.execute("PRAGMA defer_foreign_keys=ON")
    with db:
        for doc_id, source, text in db.execute("SELECT id, source, text FROM documents").fetchall():
            old = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
            db.execute("UPDATE documents SET id = ?, source = ? WHERE id = ?", (old, typed[source], doc_id))
            db.execute("UPDATE chunks SET doc_id = ? WHERE doc_id = ?", (old, doc_id))
        db.execute("UPDATE manifest SET value = '1' WHERE key = 'schema_version'")
        db.execute("DELETE FROM manifest WHERE key IN ('files', 'vector_count', 'lexical_count')")
    db.close()


def test_a_version_1_index_is_upgraded_in_place_by_the_command_the_message_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], minilm
) -> None:
    (tmp_path / "f").mkdir()
    (tmp_path / "f" / "park.txt").write_text(PARK + "\n")
    (tmp_path / "f" / "copy.txt").write_text(PARK + "\n")
    monkeypatch.chdir(tmp_path)
    index_dir = tmp_path / "index"
    with Rag(Settings(index_dir=index_dir), embedder=minilm) as rag:
        ingest(rag, tmp_path / "f" / "park.txt", DATA / "bridge_reopens.txt")
        chunks_before = {c.id: (c.start, c.end) for i in rag.documents() for c in rag.chunks(i.doc_id)}
    _as_version_1(index_dir, {file_source(tmp_path / "f" / "park.txt"): "f/park.txt",
                              file_source(DATA / "bridge_reopens.txt"): str(DATA / "bridge_reopens.txt")})
    with pytest.raises(IndexMismatchError, match=r"schema version 1.*run `rag repair` to upgrade it in place"):
        Rag(Settings(index_dir=index_dir), embedder=minilm)
    capsys.readouterr()
    assert main(["--index-dir", str(index_dir), "status", "--check", "--json"]) == 1
    assert "schema version 1" in json.dumps(json.loads(capsys.readouterr().out)["check"])
    assert main(["--index-dir", str(index_dir), "repair"]) == 0
    assert "upgraded schema 1 to 2 (2 ids changed)" in capsys.readouterr().out
    with Rag(Settings(index_dir=index_dir), embedder=minilm) as rag:
        assert rag.check() == []
        park = file_source(tmp_path / "f" / "park.txt")
        assert set(texts(rag)) == {park, file_source(DATA / "bridge_reopens.txt")}
        after = {c.id: (c.start, c.end) for i in rag.documents() for c in rag.chunks(i.doc_id)}
        assert after == chunks_before  # the same chunks and vectors: nothing re-embedded
        (tmp_path / "f" / "park.txt").write_text(FERRY + "\n")
        report = ingest(rag, "f/park.txt", "f/copy.txt")  # typed relative, as version 1 stored it
        assert len(report.replaced) == 1 and len(report.added) == 2
        assert texts(rag)[park] == FERRY and texts(rag)[file_source(tmp_path / "f" / "copy.txt")] == PARK
