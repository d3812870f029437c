"""An honest `rag status --check` and a `rag repair` that restores what the store still holds
(issue 14, finding 10): the corruption matrix.

One real index (real MiniLM, SQLite, FAISS and BM25 files) is copied for each case and damaged one
way: every search-index file truncated or garbled, each table and index dropped, the manifest
emptied, chunks lost, SQLite pages garbled. Then, through the real ``rag`` entry point:

- ``status --check`` exits 1 and names the damage;
- every other command exits 0 or 1 with one-line messages, never a traceback, never "No matching
  passages." over a lost manifest, never advice to move an intact database away;
- ``repair`` restores a working, checked index where the store is intact, and where it is not
  (documents gone, database pages garbled) exits 1 with the ``.recover`` route and changes nothing.
"""

from __future__ import annotations

import json
import random
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
from conftest import ARTICLE_FILES, DATA, SEEDS

from rag.cli import main
from rag.core import Rag
from rag.errors import IndexMismatchError
from rag.ingest import load_paths
from rag.settings import Settings

QUESTION = "When did the Kessel Bridge reopen?"
Damage = Callable[[Path], None]


@dataclass(frozen=True)
class Base:
    folder: Path
    files: list[str]  # the search engine's files, relative to the folder
    documents: int


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory, minilm) -> Base:
    folder = tmp_path_factory.mktemp("check") / "base"
    with Rag(Settings(index_dir=folder), embedder=minilm) as rag:
        rag.ingest(load_paths([str(p) for p in ARTICLE_FILES] + [str(SEEDS)]).documents)
        documents = len(rag.documents())
        assert rag.check() == []
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                   if p.is_file() and (p.name.endswith(".faiss") or "bm25-" in str(p)))
    assert len(files) >= 8  # a vector file and a BM25 folder of several files
    return Base(folder, files, documents)


def cli(folder: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run `rag --index-dir FOLDER ARGS` in this process: an uncaught exception fails the test."""
    capsys.readouterr()
    code = main(["--index-dir", str(folder), *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err and "move it away" not in out + err
    return code, out, err


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("rag: ")]
    assert len(lines) == 1, err
    return lines[0]


# -- the damage -------------------------------------------------------------------------------
def truncate(name: str) -> Damage:
    def damage(folder: Path) -> None:
        path = folder / name
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return damage


def garble(name: str, offset: int | None = None, size: int = 64) -> Damage:
    def damage(folder: Path) -> None:
        path = folder / name
        data = bytearray(path.read_bytes())
        start = len(data) // 2 if offset is None else offset
        end = min(len(data), start + size)
        data[start:end] = random.Random(14).randbytes(end - start)
        path.write_bytes(bytes(data))
    return damage


def sql(*statements: str) -> Damage:
    def damage(folder: Path) -> None:
        db = sqlite3.connect(folder / "rag.sqlite", isolation_level=None)
        db.execute("PRAGMA foreign_keys=OFF")
        for statement in statements:
            db.execute(statement)
        db.close()
    return damage


def remove(name: str) -> Damage:
    def damage(folder: Path) -> None:
        path = folder / name
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    return damage


PAGE = 4096
LOSE_CHUNKS = ("DELETE FROM chunks WHERE id IN (SELECT id FROM chunks WHERE doc_id = "
               "(SELECT doc_id FROM chunks GROUP BY doc_id HAVING count(*) > 3 LIMIT 1) ORDER BY start_char LIMIT 2)")
# name -> (damage, words `status --check` must print, whether the store still holds the truth)
STORE_CASES: dict[str, tuple[Damage, tuple[str, ...], bool]] = {
    "drop-table-manifest": (sql("DROP TABLE manifest"), ("manifest table is missing",), True),
    "drop-table-chunks": (sql("DROP TABLE chunks"), ("chunks table is missing",), True),
    "drop-table-documents": (sql("DROP TABLE documents"), ("documents table is missing", ".recover"), False),
    "drop-index-documents_source": (sql("DROP INDEX documents_source"), ("documents_source index",), True),
    "drop-index-chunks_doc": (sql("DROP INDEX chunks_doc"), ("chunks_doc index",), True),
    "delete-manifest": (sql("DELETE FROM manifest"), ("manifest", "is missing"), True),
    "delete-checksums": (sql("DELETE FROM manifest WHERE key = 'files'"), ("no checksums recorded",), True),
    "lose-chunks": (sql(LOSE_CHUNKS), ("1 document(s) have lost chunks",), True),
    "garble-pages-20-29": (garble("rag.sqlite", 19 * PAGE, 10 * PAGE), ("rag.sqlite is damaged", ".recover"), False),
    "garble-header": (garble("rag.sqlite", 0, 100), ("rag.sqlite is damaged", ".recover"), False),
    "truncate-database": (truncate("rag.sqlite"), ("rag.sqlite is damaged", ".recover"), False),
}


# Every file of a generation, with the generation as G and the BM25 segment's folder as SEG.
ENGINE_FILES = [
    "vectors-G.faiss", "bm25-G/segments.json", "bm25-G/deleted.npy", "bm25-G/SEG/data.csc.index.npy",
    "bm25-G/SEG/indices.csc.index.npy", "bm25-G/SEG/indptr.csc.index.npy", "bm25-G/SEG/vocab.index.json",
    "bm25-G/SEG/params.index.json", "bm25-G/SEG/ids.npy", "bm25-G/SEG/lengths.npy",
]
ENGINE_CASES = [f"{'truncate' if i % 2 == 0 else 'garble'}:{name}" for i, name in enumerate(ENGINE_FILES)]
ENGINE_CASES += ["remove:vectors-G.faiss", "remove:bm25-G"]


def actual(pattern: str, base: Base) -> str:
    """``pattern``'s file in the base index."""
    generation = base.files[0].split("-", 1)[1].split("/")[0].split(".")[0]
    segment = next(f.split("/")[1] for f in base.files if f.count("/") == 2)
    return pattern.replace("G", generation, 1).replace("SEG", segment)


def test_the_matrix_covers_every_file_of_the_search_index(base: Base) -> None:
    assert sorted(actual(p, base) for p in ENGINE_FILES) == base.files


def engine_case(case: str, base: Base) -> tuple[Damage, tuple[str, ...], bool]:
    how, pattern = case.split(":")
    name = actual(pattern, base)
    damage = {"truncate": truncate, "garble": garble, "remove": remove}[how](name)
    return damage, (name, "missing" if how == "remove" else "damaged", "rag repair"), True


@pytest.mark.parametrize("name", ENGINE_CASES + list(STORE_CASES))
def test_corruption_matrix(name: str, base: Base, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    damage, words, store_intact = STORE_CASES[name] if name in STORE_CASES else engine_case(name, base)
    folder = tmp_path / "index"
    shutil.copytree(base.folder, folder)
    damage(folder)

    code, out, err = cli(folder, capsys, "status", "--check", "--json")
    report = json.loads(out)["check"] if code == 1 and out.strip() else one_line(err)
    assert code == 1, f"{name}: the check passed over the damage: {out}"
    assert all(word in json.dumps(report) for word in words), f"{name}: {report}"

    extra = tmp_path / "extra.txt"
    extra.write_text("The Alder night train returns in May, the rail operator said on Friday.\n")
    for command in (["search", QUESTION], ["ask", QUESTION], ["docs"], ["ingest", str(extra)]):
        code, out, err = cli(folder, capsys, *command)
        if code != 0:
            one_line(err)
        if command[0] == "search" and "manifest" in name:
            assert code == 1 and "manifest" in err, f"{name}: search hid the lost manifest: {out}"
    files_before_repair = sorted(p.name for p in folder.iterdir())

    code, out, err = cli(folder, capsys, "repair")
    if not store_intact:
        assert code == 1 and ".recover" in one_line(err) and "re-ingest" in one_line(err), f"{name}: {out}{err}"
        assert sorted(p.name for p in folder.iterdir()) == files_before_repair
        return
    assert code == 0 and "Check: ok" in out, f"{name}: {out}{err}"
    code, out, err = cli(folder, capsys, "status", "--check", "--json")
    assert code == 0 and json.loads(out)["check"] == "ok", f"{name}: {out}{err}"
    code, out, err = cli(folder, capsys, "search", QUESTION, "--json")
    hits = json.loads(out)
    assert code == 0 and hits[0]["source"].endswith("bridge_reopens.txt"), f"{name}: {hits[:1]}"
    with Rag(Settings(index_dir=folder)) as rag:
        infos = rag.documents()
        assert len(infos) in (base.documents, base.documents + 1)  # the extra file, where ingest went through
        for info in infos:
            doc = rag.document(info.doc_id)
            assert all(doc.text[c.start : c.end] == c.text for c in rag.chunks(info.doc_id))


def test_opening_a_damaged_index_reports_and_never_rebuilds(
    base: Base, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "index"
    shutil.copytree(base.folder, folder)
    vectors = next(folder.glob("vectors-*.faiss"))
    truncate(vectors.name)(folder)
    before = (vectors.stat().st_size, vectors.stat().st_mtime_ns, sorted(p.name for p in folder.iterdir()))
    code, out, err = cli(folder, capsys, "search", QUESTION)
    assert code == 1 and f"{vectors.name}: " in one_line(err) and "run `rag repair`" in err
    code, out, err = cli(folder, capsys, "status")
    assert code == 0 and "unreadable" in out  # status says so; only --check fails
    after = (vectors.stat().st_size, vectors.stat().st_mtime_ns, sorted(p.name for p in folder.iterdir()))
    assert after == before


def test_a_lost_manifest_is_restored_only_for_the_embedder_that_made_the_vectors(
    base: Base, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from conftest import HashEmbedder

    folder = tmp_path / "index"
    shutil.copytree(base.folder, folder)
    sql("DELETE FROM manifest")(folder)
    with Rag(Settings(index_dir=folder), embedder=HashEmbedder(384)) as other:
        with pytest.raises(IndexMismatchError, match=r"stored vectors were not made by .*--embedder MODEL"):
            other.repair()
    code, out, _ = cli(folder, capsys, "repair")
    assert code == 0 and "restored the manifest" in out
    assert json.loads(cli(folder, capsys, "status", "--json")[1])["embedder"] == Settings().embedder_model


def test_search_reads_on_when_a_writer_replaces_the_generation_it_showed(base: Base, tmp_path: Path, minilm) -> None:
    folder = tmp_path / "index"
    shutil.copytree(base.folder, folder)
    with Rag(Settings(index_dir=folder), embedder=minilm) as reader, \
            Rag(Settings(index_dir=folder), embedder=minilm) as writer:
        reader.index.refresh()  # shows generation g, loads nothing yet
        writer.ingest(load_paths([str(DATA / "bridge_reopens.txt")]).documents)  # unchanged: no commit
        writer.remove([writer.documents()[-1].doc_id])  # commits g+1 and deletes g's files
        hits = reader.index.dense(minilm.encode_query(QUESTION), 3)  # g's files are gone: shows g+1
        assert hits and reader.index.generation == writer.index.generation
