"""Shared fixtures: the real MiniLM (loaded once), fixture articles, index factories.

The one allowed double is ``HashEmbedder``: a deterministic fake embedder for
exact index arithmetic (ids, counts, add/remove bookkeeping) without a model.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from rag.embedding import Embedder  # noqa: E402
from rag.index import Index  # noqa: E402
from rag.settings import Settings  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
SEEDS = ROOT / "seeds"
ARTICLE_FILES = sorted(p for p in DATA.iterdir() if p.suffix in {".txt", ".md", ".html", ".pdf"})


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


@pytest.fixture(scope="session")
def minilm() -> Embedder:
    """The real all-MiniLM-L6-v2 with the default backend (ONNX int8 on a CPU), loaded once."""
    embedder = Embedder(Settings())
    embedder.encode(["warm up"])
    return embedder


@pytest.fixture
def make_index(tmp_path: Path, minilm: Embedder) -> Callable[..., Index]:
    """Open an index in a fresh folder with the real MiniLM; keyword args change Settings."""
    opened: list[Index] = []

    def factory(name: str = "index", embedder: Embedder | None = None, **changes) -> Index:
        settings = Settings(index_dir=tmp_path / name, generator="extractive").with_(**changes)
        index = Index.open(settings, embedder=embedder or minilm)
        opened.append(index)
        return index

    yield factory
    for index in opened:
        index.close()


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
