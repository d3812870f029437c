"""Embedding backends: ONNX float32 gives torch's vectors, int8 stays close, an index never mixes families.

Real MiniLM exported to ONNX offline from the package's weights, real
onnxruntime, real FAISS and SQLite.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import ARTICLE_FILES, parse_facts
from rag.embedding import VECTOR_FAMILY, Embedder, resolve_backend
from rag.errors import ModelNotFoundError
from rag.index import Index
from rag.ingest import load_paths
from rag.retrieval import search
from rag.settings import Settings

QUESTIONS = [f["question"] for f in parse_facts() if "question" in f]


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def texts() -> list[str]:
    docs = load_paths([str(p) for p in ARTICLE_FILES]).documents
    return [p for d in docs for p in d.text.split("\n\n") if p.strip()][:40] + QUESTIONS


@pytest.fixture(scope="module")
def torch_minilm() -> Embedder:
    """MiniLM in plain PyTorch float32: the reference the ONNX backends are held to."""
    return Embedder(Settings(embedder_backend="torch"))


def test_onnx_float32_gives_the_same_vectors_as_torch(torch_minilm, model_cache, texts):
    onnx = Embedder(Settings(embedder_backend="onnx", model_cache_dir=model_cache))
    got, want = onnx.encode(texts), torch_minilm.encode(texts)
    assert onnx.backend == "onnx" and got.dtype == np.float32 and got.shape == want.shape
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert float((got * want).sum(axis=1).min()) > 0.9999
    assert VECTOR_FAMILY["onnx"] == VECTOR_FAMILY["torch"]


def test_onnx_int8_vectors_are_close_and_the_export_is_cached(torch_minilm, model_cache, texts):
    int8 = Embedder(Settings(embedder_backend="onnx-int8", model_cache_dir=model_cache))
    got, want = int8.encode(texts), torch_minilm.encode(texts)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    cosines = (got * want).sum(axis=1)
    assert float(cosines.mean()) > 0.98 and float(cosines.min()) > 0.95
    files = sorted(model_cache.glob("*.onnx"))
    assert sorted(f.name.endswith("-int8.onnx") for f in files) == [False, True]  # float32 export + int8
    stamps = [f.stat().st_mtime_ns for f in files]
    again = Embedder(Settings(embedder_backend="onnx-int8", model_cache_dir=model_cache))
    np.testing.assert_array_equal(again.encode(texts[:5]), got[:5])
    assert [f.stat().st_mtime_ns for f in files] == stamps  # loaded, not exported again


def test_an_index_keeps_the_vector_family_it_was_built_with(tmp_path, model_cache):
    folder = tmp_path / "index"
    built = Index.open(Settings(index_dir=folder, embedder_backend="onnx-int8", model_cache_dir=model_cache))
    built.add(load_paths([str(p) for p in ARTICLE_FILES]).documents)
    assert built.status().embedder_backend == "onnx-int8"
    before = [h.chunk.id for h in search(built, QUESTIONS[0], k=3)]
    built.close()
    reopened = Index.open(Settings(index_dir=folder, embedder_backend="torch", model_cache_dir=model_cache))
    assert reopened.embedder.backend == "onnx-int8"  # torch vectors would not match int8 ones
    assert [h.chunk.id for h in search(reopened, QUESTIONS[0], k=3)] == before
    assert reopened.rebuild() > 0  # re-embeds with the configured backend
    assert reopened.embedder.backend == "torch" and reopened.status().embedder_backend == "torch"
    assert reopened.check() == []
    reopened.close()
    same_family = Index.open(Settings(index_dir=folder, embedder_backend="onnx", model_cache_dir=model_cache))
    assert same_family.embedder.backend == "onnx"  # float32 from torch or onnx: interchangeable
    hits = search(same_family, QUESTIONS[0], k=3)
    for hit in hits:
        assert same_family.document(hit.chunk.doc_id).text[hit.chunk.start : hit.chunk.end] == hit.chunk.text
    same_family.close()


def test_backend_names_are_checked_and_auto_picks_by_device():
    with pytest.raises(ModelNotFoundError, match="auto, torch, onnx, onnx-int8"):
        resolve_backend("tensorrt", "cpu")
    assert resolve_backend("auto", "cuda") == "torch"
    assert resolve_backend("auto", "cpu") in VECTOR_FAMILY
