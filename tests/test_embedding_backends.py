"""Embedding backends: ONNX float32 gives torch's vectors, int8 stays close, an index never mixes families.

Real MiniLM exported to ONNX offline from the package's weights, real
onnxruntime, real FAISS and SQLite.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from conftest import ARTICLE_FILES, parse_facts
from rag.core import Rag
from rag.embedding import VECTOR_FAMILY, Embedder, resolve_backend
from rag.errors import UnknownBackendError
from rag.ingest import load_paths
from rag.settings import Settings

pytestmark = pytest.mark.slow  # exports MiniLM to ONNX and loads PyTorch

QUESTIONS = [f["question"] for f in parse_facts() if "question" in f]


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory) -> Path:
    """A model cache of its own (``Settings.cache_dir``), so the export is seen happening."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session")
def texts() -> list[str]:
    docs = load_paths([str(p) for p in ARTICLE_FILES]).documents
    return [p for d in docs for p in d.text.split("\n\n") if p.strip()][:40] + QUESTIONS


@pytest.fixture(scope="module")
def torch_minilm() -> Embedder:
    """MiniLM in plain PyTorch float32: the reference the ONNX backends are held to."""
    return Embedder(Settings(embedder_backend="torch"))


def test_onnx_float32_gives_the_same_vectors_as_torch(torch_minilm, model_cache, texts):
    onnx = Embedder(Settings(embedder_backend="onnx", cache_dir=model_cache))
    got, want = onnx.encode(texts), torch_minilm.encode(texts)
    assert onnx.backend == "onnx" and got.dtype == np.float32 and got.shape == want.shape
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert float((got * want).sum(axis=1).min()) > 0.9999
    assert VECTOR_FAMILY["onnx"] == VECTOR_FAMILY["torch"]


def test_onnx_int8_vectors_are_close_and_the_export_is_cached(torch_minilm, model_cache, texts):
    int8 = Embedder(Settings(embedder_backend="onnx-int8", cache_dir=model_cache))
    got, want = int8.encode(texts), torch_minilm.encode(texts)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    cosines = (got * want).sum(axis=1)
    assert float(cosines.mean()) > 0.98 and float(cosines.min()) > 0.95
    files = sorted((model_cache / "models").glob("*.onnx"))
    assert sorted(f.name.endswith("-int8.onnx") for f in files) == [False, True]  # float32 export + int8
    stamps = [f.stat().st_mtime_ns for f in files]
    again = Embedder(Settings(embedder_backend="onnx-int8", cache_dir=model_cache))
    np.testing.assert_array_equal(again.encode(texts[:5]), got[:5])
    assert [f.stat().st_mtime_ns for f in files] == stamps  # loaded, not exported again


def test_an_index_keeps_the_vector_family_it_was_built_with(tmp_path, model_cache):
    folder = tmp_path / "index"
    built = Rag(Settings(index_dir=folder, embedder_backend="onnx-int8", cache_dir=model_cache))
    built.ingest(load_paths([str(p) for p in ARTICLE_FILES]).documents)
    assert built.status().embedder_backend == "onnx-int8"
    before = [h.chunk.id for h in built.search(QUESTIONS[0], k=3)]
    built.close()
    reopened = Rag(Settings(index_dir=folder, embedder_backend="torch", cache_dir=model_cache))
    assert reopened.embedder.backend == "onnx-int8"  # torch vectors would not match int8 ones
    assert [h.chunk.id for h in reopened.search(QUESTIONS[0], k=3)] == before
    assert reopened.rebuild() > 0  # re-embeds with the configured backend
    assert reopened.embedder.backend == "torch" and reopened.status().embedder_backend == "torch"
    assert reopened.check() == []
    reopened.close()
    same_family = Rag(Settings(index_dir=folder, embedder_backend="onnx", cache_dir=model_cache))
    assert same_family.embedder.backend == "onnx"  # float32 from torch or onnx: interchangeable
    hits = same_family.search(QUESTIONS[0], k=3)
    for hit in hits:
        assert same_family.document(hit.chunk.doc_id).text[hit.chunk.start : hit.chunk.end] == hit.chunk.text
    same_family.close()


def test_backend_names_are_checked_and_auto_picks_by_device():
    with pytest.raises(UnknownBackendError, match="auto, torch, onnx, onnx-int8"):
        resolve_backend("tensorrt", "cpu")
    assert resolve_backend("auto", "cuda") == "torch"
    assert resolve_backend("auto", "cpu") in VECTOR_FAMILY


def test_the_onnx_path_never_imports_torch_or_transformers(tmp_path):
    """A fresh process ingests and asks on the default CPU backend without PyTorch or transformers,
    and writes nothing in its home (onnxruntime's telemetry store included) but the model cache."""
    import subprocess
    import sys

    script = (
        "import sys, json\n"
        "from pathlib import Path\n"
        "from rag.core import Rag\n"
        "from rag.ingest.text import text_document\n"
        "from rag.settings import Settings\n"
        "settings = Settings(index_dir=Path(sys.argv[1]), cache_dir=Path(sys.argv[2]), generator='extractive',"
        " device='cpu')\n"
        "rag = Rag(settings)\n"
        "rag.ingest([text_document('The Kessel Bridge reopened to traffic on March 3 after repairs.', 'a.txt', 'a')])\n"
        "answer = rag.ask('When did the Kessel Bridge reopen?')\n"
        "print(json.dumps([rag.embedder.backend, answer.abstained, sorted(m for m in ('torch', 'transformers', "
        "'sentence_transformers') if m in sys.modules)]))\n"
    )
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "ORT_DISABLE_TELEMETRY"}
    env.update(HOME=str(home))
    cache = Settings().cache_dir  # the exported model, already there: nothing to export again
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "index"), str(cache)],
                          capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    backend, abstained, heavy = json.loads(done.stdout.strip().splitlines()[-1])
    assert backend == "onnx-int8" and abstained is False
    assert heavy == []
    assert list(home.iterdir()) == []
