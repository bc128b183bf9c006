"""The local Hugging Face cache: BERT-family models are listed (real cache layout: blobs/, snapshots/<rev>/,
refs/main), load offline by hub id, and `prefetch` says in one line that it needs a network."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
import torch
from huggingface_hub import constants

from explain.cli import main as cli_main
from explain.models import checkpoint
from explain.models.checkpoint import load_checkpoint
from explain.models.hub_cache import cached_model_ids, cached_models
from tests.helpers import tiny_bundle

REV = "0123456789abcdef0123456789abcdef01234567"


def add_to_cache(cache: Path, repo_id: str, files: dict[str, bytes], rev: str = REV, ref: str = "main",
                 kind: str = "models") -> None:
    """Lay files out as huggingface_hub does: content in blobs/<hash>, snapshots/<rev>/<name> -> ../../blobs/<hash>."""
    repo = cache / f"{kind}--{repo_id.replace('/', '--')}"
    for name, data in files.items():
        blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(data)
        link = repo / "snapshots" / rev / name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / ref).write_text(rev)


@pytest.fixture(scope="module")
def saved_tiny(tokenizer, tmp_path_factory):
    """A tiny BertForMaskedLM saved with save_pretrained: {file name: bytes} and the model."""
    bundle = tiny_bundle(tokenizer, "masked-lm", seed=5)
    folder = tmp_path_factory.mktemp("tiny")
    bundle.model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}, bundle


@pytest.fixture()
def cache(tmp_path, saved_tiny, monkeypatch):
    files, _ = saved_tiny
    add_to_cache(tmp_path, "lab/tiny-bert", files)
    config = files["config.json"]
    add_to_cache(tmp_path, "lab/pickle-only", {"config.json": config, "pytorch_model.bin": b"pickle"})
    gpt2 = config.replace(b'"model_type": "bert"', b'"model_type": "gpt2"')
    assert gpt2 != config
    add_to_cache(tmp_path, "lab/tiny-gpt2", {"config.json": gpt2, "model.safetensors": files["model.safetensors"]})
    add_to_cache(tmp_path, "lab/no-main", files, ref="v1")
    add_to_cache(tmp_path, "lab/corpus", {"config.json": config, "x.safetensors": b"x"}, kind="datasets")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    return tmp_path


def test_lists_only_bert_family_models_with_safetensors(cache):
    models = cached_models(cache)
    assert [m.repo_id for m in models] == ["lab/tiny-bert"]
    (m,) = models
    assert m.model_type == "bert" and m.architectures == ("BertForMaskedLM",) and m.revision == REV
    assert Path(m.snapshot) == cache / "models--lab--tiny-bert" / "snapshots" / REV and m.size_bytes > 0
    assert cached_model_ids() == ["lab/tiny-bert"]  # the default cache folder (HF_HUB_CACHE) is read too


def test_missing_cache_lists_nothing(tmp_path):
    assert cached_models(tmp_path / "nowhere") == ()


def test_cached_hub_id_loads_offline(cache, saved_tiny, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    bundle = load_checkpoint("lab/tiny-bert")
    assert bundle.has_mlm and bundle.source == "lab/tiny-bert"
    original = saved_tiny[1]
    ids = original.tokenizer("Cached models load offline.", return_tensors="pt")["input_ids"]
    with torch.inference_mode():
        torch.testing.assert_close(bundle.model(input_ids=ids).logits, original.model(input_ids=ids).logits)


def _prefetch_message(capsys) -> str:
    assert cli_main(["prefetch", "bert-base-uncased", "bert-base-chinese"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert "needs a network" in err and "HF_HUB_OFFLINE" in err and "cache" in err
    return err


def test_prefetch_offline_says_it_needs_a_network(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    _prefetch_message(capsys)
    assert not any(tmp_path.iterdir())  # nothing was written


def test_prefetch_with_an_unreachable_hub_says_it_needs_a_network(monkeypatch, capsys):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # the discard port: nothing listens on loopback
    monkeypatch.setattr(checkpoint, "_reachability", {})
    _prefetch_message(capsys)


@pytest.mark.app
def test_sidebar_offers_cached_models_and_runs_them_offline(cache, monkeypatch):
    from tests.helpers import open_app

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    at = open_app()
    box = at.sidebar.selectbox(key="model.choice")
    assert "lab/tiny-bert (cached)" in box.options
    assert not any("gpt2" in o or "pickle" in o for o in box.options)
    box.select("lab/tiny-bert").run()
    assert not at.exception, at.exception
    assert not at.error
    assert at.query_params["model"] == "lab/tiny-bert"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Layers"] == "2" and metrics["Heads per layer"] == "4"
