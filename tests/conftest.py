"""Shared fixtures: the real MiniLM (loaded once, each text embedded once), fixture articles, Rag factories.

The one allowed double is ``HashEmbedder``: a deterministic fake embedder for
exact index arithmetic (ids, counts, add/remove bookkeeping) without a model.
``minilm`` is the real model: it keeps every vector it computed for the
session, so tests that embed the same fixtures get the same real vectors
without computing them again (the default ONNX int8 backend embeds one text
per run, so a vector does not depend on what it was batched with).
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# One math thread per process (PyTorch, FAISS, BLAS; inherited by the rag processes the tests
# start): the test models are tiny, so threads cost more than they save, and on a busy
# machine they thrash (one seq2seq test: 55 s with the default threads, 2.7 s with one).
os.environ.setdefault("OMP_NUM_THREADS", "1")

from servers import MilvusServer, PostgresCluster  # noqa: E402

from rag.core import Rag  # noqa: E402
from rag.embedding import Embedder  # noqa: E402
from rag.settings import Settings  # noqa: E402
from rag.storage.milvus import MilvusEngine  # noqa: E402

collect_ignore = ["data"]  # fixture files and the script that made them, not tests

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
SEEDS = ROOT / "seeds"
ARTICLE_FILES = sorted(p for p in DATA.iterdir() if p.suffix in {".txt", ".md", ".html", ".pdf"})


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under ``folder`` with its size and modification time."""
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


def _entries(folder: Path) -> set[str]:
    return set(os.listdir(folder)) if folder.is_dir() else set()


@pytest.fixture(scope="session", autouse=True)
def the_suite_leaves_the_repository_and_home_alone() -> Iterator[None]:
    """After the whole session: the repository's index/ is as it was, and nothing new sits in $HOME.

    rag may write in $HOME only its one model cache, ~/.cache/rag/models (ONNX exports);
    the browser the UI tests drive runs with a scratch home of its own (tests/test_ui.py).
    """
    index_before = snapshot(ROOT / "index")
    home = Path.home()
    allowed = {home: {".cache"}, home / ".cache": {"rag"}, home / ".cache" / "rag": {"models"}}
    before = {folder: _entries(folder) for folder in allowed}
    yield
    assert snapshot(ROOT / "index") == index_before, "the test suite changed the repository's index/ folder"
    for folder, may_appear in allowed.items():
        new = _entries(folder) - before[folder] - may_appear
        assert new == set(), f"the test suite left new files in {folder}: {sorted(new)}"


class HashEmbedder(Embedder):
    """Deterministic fake: a unit vector from a hash of the text's words (no model)."""

    def __init__(self, dimension: int = 16) -> None:
        super().__init__(Settings(embedder_model="test/hash-embedder"))
        self._dimension = dimension

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def device(self) -> str:
        return "cpu"

    def encode(self, texts: Sequence[str], progress=None) -> np.ndarray:
        out = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                digest = hashlib.sha256(word.encode()).digest()
                out[row, digest[0] % self._dimension] += 1.0
            norm = np.linalg.norm(out[row])
            out[row] = out[row] / norm if norm else out[row]
        return out


class SessionMiniLM(Embedder):
    """The real all-MiniLM-L6-v2 (default backend) that computes each distinct text's vector once."""

    def __init__(self) -> None:
        super().__init__(Settings())
        self._vectors: dict[str, np.ndarray] = {}

    def encode(self, texts: Sequence[str], progress=None) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if missing:
            self._vectors.update(zip(missing, super().encode(missing)))
        if progress is not None:
            progress(len(texts), len(texts))
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self._vectors[t] for t in texts])


@pytest.fixture(scope="session")
def minilm() -> Embedder:
    """The real all-MiniLM-L6-v2 with the default backend (ONNX int8 on a CPU), loaded once."""
    embedder = SessionMiniLM()
    embedder.encode(["warm up"])
    return embedder


@pytest.fixture
def make_rag(tmp_path: Path, minilm: Embedder) -> Iterator[Callable[..., Rag]]:
    """Open a Rag on a fresh folder with the real MiniLM; keyword args change Settings."""
    opened: list[Rag] = []

    def factory(name: str = "index", embedder: Embedder | None = None, **changes) -> Rag:
        settings = Settings(index_dir=tmp_path / name, generator="extractive").with_(**changes)
        rag = Rag(settings, embedder=embedder or minilm)
        opened.append(rag)
        return rag

    yield factory
    for rag in opened:
        rag.close()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """A throwaway PostgreSQL cluster for the whole session (tests/servers.py)."""
    cluster = PostgresCluster()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def milvus() -> Iterator[MilvusServer]:
    """One Milvus Lite server for the whole session, reached by URI like a Milvus cluster (tests/servers.py)."""
    server = MilvusServer()
    yield server
    server.stop()


DEPLOYMENTS = ["local", "shared"]


def deployment_settings(request: pytest.FixtureRequest, deployment: str) -> dict[str, str]:
    """Settings changes for a fresh index on ``deployment``: local files, or PostgreSQL + Milvus."""
    if deployment == "local":
        return {}
    return {"store": request.getfixturevalue("postgres").new_database(),
            "search_engine": request.getfixturevalue("milvus").uri}


def _factory(request: pytest.FixtureRequest, deployment: str, tmp_path: Path, minilm: Embedder, opened: list[Rag]):
    def factory(name: str = "index", embedder: Embedder | None = None, **changes) -> Rag:
        settings = Settings(index_dir=tmp_path / name, generator="extractive").with_(
            **deployment_settings(request, deployment), **changes
        )
        rag = Rag(settings, embedder=embedder or minilm)
        opened.append(rag)
        return rag

    return factory


@pytest.fixture(params=DEPLOYMENTS)
def make_index(request: pytest.FixtureRequest, tmp_path: Path, minilm: Embedder) -> Iterator[Callable[..., Rag]]:
    """Like ``make_rag``, once per deployment: local (SQLite + FAISS/BM25 files), shared (PostgreSQL + Milvus)."""
    opened: list[Rag] = []
    yield _factory(request, request.param, tmp_path, minilm, opened)
    for rag in opened:
        rag.close()


@pytest.fixture
def make_index_shared(request: pytest.FixtureRequest, tmp_path: Path, minilm: Embedder) -> Iterator[Callable[..., Rag]]:
    """Like ``make_rag``, on the shared deployment (a fresh PostgreSQL database, the session's Milvus)."""
    opened: list[Rag] = []
    yield _factory(request, "shared", tmp_path, minilm, opened)
    for rag in opened:
        rag.close()


def engine_ids(rag: Rag, structure: str = "vectors") -> set[int]:
    """The chunk ids the search engine holds: in FAISS (``vectors``) or BM25 (``lexical``); Milvus has one collection."""
    rag.index.refresh()
    engine = rag.index.engine
    if isinstance(engine, MilvusEngine):
        return engine.ids()
    return set(getattr(engine, structure).ids().tolist())


def parse_facts() -> list[dict]:
    """Entries of tests/data/FACTS.md: file, question, sentence (and unrelated questions)."""
    facts: list[dict] = []
    current = None
    lines = (DATA / "FACTS.md").read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if line.startswith("## "):
            current = line[3:].strip()
        elif line.strip().startswith("- Q:") and current:
            sentence = lines[i + 1].strip().removeprefix("Sentence:").strip()
            question = line.split("- Q:", 1)[1].strip()
            page = re.search(r"\s*\(page (\d+)\)$", question)
            if page:
                question = question[: page.start()]
            fact = {"file": current, "question": question, "sentence": sentence}
            facts.append({**fact, "page": int(page.group(1))} if page else fact)
        elif line.strip().startswith("- Unrelated:") and current:
            facts.append({"file": current, "unrelated": line.split("- Unrelated:", 1)[1].strip()})
    return facts


@pytest.fixture(scope="session")
def tiny_t5_dir(tmp_path_factory) -> Path:
    """A tiny random T5 checkpoint folder, built offline from fixture text (tests/tiny_t5.py)."""
    from tiny_t5 import build_tiny_t5

    texts = [p.read_text(encoding="utf-8") for p in sorted(SEEDS.iterdir())]
    texts += [p.read_text(encoding="utf-8") for p in sorted(DATA.glob("*.txt"))]
    return build_tiny_t5(tmp_path_factory.mktemp("tiny-t5-pipeline"), texts)
