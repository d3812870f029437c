"""Tests for rag/models.py: local checkpoint discovery and offline-safe downloads.

Caches are real Hugging Face cache layouts built in tmp (blobs, symlinked
snapshots, refs/main) holding real transformers configs and a tiny saved model.
Environment variables are read by huggingface_hub at import, so the tests that
set HF_HUB_CACHE / HF_HOME / HF_HUB_OFFLINE run Python in a subprocess.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest

from rag.models import LocalModel, family, local_seq2seq_models, resolve_seq2seq

ROOT = Path(__file__).resolve().parents[1]
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def _tiny_t5_files(folder: Path) -> None:
    import torch  # PyTorch and transformers are imported by the tests that need them, not at collection
    from transformers import T5Config, T5ForConditionalGeneration

    torch.manual_seed(0)
    config = T5Config(vocab_size=64, d_model=8, d_kv=4, d_ff=16, num_layers=1, num_heads=2)
    T5ForConditionalGeneration(config).save_pretrained(folder)


def cache_repo(cache: Path, repo_id: str, write: Callable[[Path], None]) -> Path:
    """Lay out ``repo_id`` as huggingface_hub does: blobs/, snapshots/<commit>/ symlinks, refs/main."""
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    staging = repo / "staging"
    staging.mkdir(parents=True)
    write(staging)
    snapshot = repo / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    (repo / "blobs").mkdir()
    for file in staging.iterdir():
        blob = repo / "blobs" / hashlib.sha256(file.read_bytes()).hexdigest()
        file.rename(blob)
        (snapshot / file.name).symlink_to(os.path.relpath(blob, snapshot))
    staging.rmdir()
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT)
    return snapshot


def _config_only(config: object) -> Callable[[Path], None]:
    return lambda folder: config.save_pretrained(folder)  # type: ignore[attr-defined]


def _config_and_weights(config: object) -> Callable[[Path], None]:
    def write(folder: Path) -> None:
        config.save_pretrained(folder)  # type: ignore[attr-defined]
        (folder / "model.safetensors").write_bytes(b"weights stand-in for discovery only")

    return write


@pytest.fixture(scope="module")
def hf_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from transformers import BartConfig, BertConfig, PegasusConfig, T5Config

    cache = tmp_path_factory.mktemp("hub")
    cache_repo(cache, "org/tiny-t5", _tiny_t5_files)
    bart = BartConfig(d_model=16, encoder_layers=1, decoder_layers=1)
    cache_repo(cache, "org/tiny-bart", _config_and_weights(bart))
    cache_repo(cache, "org/tiny-pegasus", _config_and_weights(PegasusConfig(d_model=16)))
    cache_repo(cache, "org/tiny-bert", _config_and_weights(BertConfig(hidden_size=16)))
    cache_repo(cache, "org/config-only-t5", _config_only(T5Config(d_model=8)))
    return cache


def run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter (so huggingface_hub reads ``env`` at import)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    full_env.update(env)
    full_env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-c", code], env=full_env, capture_output=True, text=True, timeout=120, check=False
    )


def test_family_maps_model_types_from_dicts_and_configs() -> None:
    from transformers import BartConfig, PegasusConfig

    assert family({"model_type": "t5"}) == "t5"
    assert family({"model_type": "mt5"}) == "t5"
    assert family(BartConfig()) == "bart"
    assert family(PegasusConfig()) == "pegasus"
    assert family({"model_type": "marian"}) == "marian"
    assert family({}) == "unknown"


def test_resolve_returns_a_local_folder_with_config(tmp_path: Path) -> None:
    _tiny_t5_files(tmp_path / "ckpt")
    assert resolve_seq2seq(str(tmp_path / "ckpt")) == str(tmp_path / "ckpt")


def test_resolve_rejects_a_folder_without_config(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert resolve_seq2seq(str(tmp_path / "empty")) is None


def test_resolve_finds_a_hub_id_in_the_cache_and_it_loads(hf_cache: Path) -> None:
    from transformers import AutoModelForSeq2SeqLM

    folder = resolve_seq2seq("org/tiny-t5", cache_dir=hf_cache)
    assert folder == str(hf_cache / "models--org--tiny-t5" / "snapshots" / COMMIT)
    model = AutoModelForSeq2SeqLM.from_pretrained(folder, local_files_only=True)
    assert model.config.is_encoder_decoder


def test_resolve_returns_none_for_missing_or_incomplete_models(hf_cache: Path) -> None:
    assert resolve_seq2seq("org/no-such-model", cache_dir=hf_cache) is None
    assert resolve_seq2seq("org/config-only-t5", cache_dir=hf_cache) is None  # no weights
    assert resolve_seq2seq("not a valid id!", cache_dir=hf_cache) is None
    assert resolve_seq2seq("google/flan-t5-base", cache_dir=hf_cache / "absent") is None


def test_local_models_lists_encoder_decoders_only(hf_cache: Path) -> None:
    found = local_seq2seq_models(hf_cache)
    assert [m.model_id for m in found] == ["org/config-only-t5", "org/tiny-bart", "org/tiny-pegasus", "org/tiny-t5"]
    by_id = {m.model_id: m for m in found}
    assert by_id["org/tiny-t5"].family == "t5"
    assert by_id["org/tiny-bart"].family == "bart"
    assert by_id["org/tiny-pegasus"].family == "pegasus"
    for model in found:
        assert isinstance(model, LocalModel)
        assert json.loads((Path(model.path) / "config.json").read_text())["is_encoder_decoder"] is True
        assert model.size_bytes == sum(p.stat().st_size for p in Path(model.path).iterdir())
    with pytest.raises(AttributeError):
        found[0].model_id = "changed"  # type: ignore[misc]


def test_local_models_of_a_missing_cache_is_empty(tmp_path: Path) -> None:
    assert local_seq2seq_models(tmp_path / "nowhere") == []


def test_default_cache_honours_hf_hub_cache_and_hf_home(hf_cache: Path) -> None:
    code = (
        "from rag.models import resolve_seq2seq, local_seq2seq_models\n"
        "print(resolve_seq2seq('org/tiny-t5'))\nprint(len(local_seq2seq_models()))"
    )
    by_cache = run_python(code, {"HF_HUB_CACHE": str(hf_cache), "HF_HUB_OFFLINE": "1"})
    assert by_cache.returncode == 0, by_cache.stderr
    assert by_cache.stdout.split() == [str(hf_cache / "models--org--tiny-t5" / "snapshots" / COMMIT), "4"]
    home = hf_cache.parent / "home"
    if not (home / "hub").exists():
        home.mkdir()
        (home / "hub").symlink_to(hf_cache)
    by_home = run_python(code, {"HF_HOME": str(home), "HF_HUB_OFFLINE": "1"})
    assert by_home.returncode == 0, by_home.stderr
    assert by_home.stdout.split()[0].endswith(f"models--org--tiny-t5/snapshots/{COMMIT}")


PULL = """
from rag.errors import NetworkUnavailableError
from rag.models import pull
try:
    print("PATH", pull({model!r}))
except NetworkUnavailableError as e:
    print("ERROR", e)
"""


def test_pull_offline_says_no_network_and_how_to_copy_the_model(tmp_path: Path) -> None:
    env = {"HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(tmp_path)}
    done = run_python(PULL.format(model="google/flan-t5-base"), env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ERROR")
    assert "no network is reachable" in done.stdout
    assert "rag pull google/flan-t5-base" in done.stdout
    assert "--model /path/to/folder" in done.stdout
    assert str(tmp_path) in done.stdout
    assert not any(tmp_path.iterdir())  # nothing was written


def test_pull_with_unreachable_hub_raises_network_error(tmp_path: Path) -> None:
    # Port 9 (discard) on localhost refuses connections: a real connection error, no network needed.
    env = {"HF_ENDPOINT": "http://127.0.0.1:9", "HF_HUB_CACHE": str(tmp_path), "HF_HUB_ETAG_TIMEOUT": "2"}
    done = run_python(PULL.format(model="google/flan-t5-base"), env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ERROR")
    assert "no network is reachable" in done.stdout
    assert "ConnectError" in done.stdout


def test_pull_offline_returns_a_model_already_cached(hf_cache: Path) -> None:
    done = run_python(PULL.format(model="org/tiny-t5"), {"HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(hf_cache)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["PATH", str(hf_cache / "models--org--tiny-t5" / "snapshots" / COMMIT)]
