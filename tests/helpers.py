"""Test helpers: tiny random BERTs and synthetic runs (importable as tests.helpers)."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import torch
from streamlit.testing.v1 import AppTest
from transformers import (
    BertConfig,
    BertForMaskedLM,
    BertForSequenceClassification,
    BertForTokenClassification,
)

from bert_lens.views import page_file
from explain import ModelBundle, ModelRun
from explain.models.checkpoint import prepare_model
from tests.i18n_scan import untranslated, visible_texts  # noqa: F401  (the zh scanner, for every page's tests)


def tiny_config(**overrides) -> BertConfig:
    """A 2-layer, 4-head BERT with the bert-base-uncased vocabulary (so the real tokenizer fits)."""
    settings = dict(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=64,
        attn_implementation="eager",
    )
    settings.update(overrides)
    return BertConfig(**settings)


def tiny_bundle(tokenizer, task: str = "masked-lm", labels: tuple[str, ...] = (), seed: int = 0, **cfg) -> ModelBundle:
    torch.manual_seed(seed)
    classes = {
        "masked-lm": BertForMaskedLM,
        "sequence-classification": BertForSequenceClassification,
        "token-classification": BertForTokenClassification,
    }
    if labels:
        cfg.update(num_labels=len(labels), id2label=dict(enumerate(labels)))
    model = classes[task](tiny_config(**cfg))
    return ModelBundle(
        name=f"tiny-{task}-{seed}", source="random", tokenizer=tokenizer, model=prepare_model(model), task=task, labels=labels
    )


def random_run(layers=12, heads=12, tokens=256, seed=0, pair_at=None) -> ModelRun:
    """A ModelRun whose attentions are random softmax rows (L, H, T, T): shape and budget tests."""
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((layers, heads, tokens, tokens), dtype=np.float32) * 2
    attn = np.exp(logits - logits.max(-1, keepdims=True))
    attn /= attn.sum(-1, keepdims=True)
    toks = ["[CLS]"] + [f"w{i}" for i in range(tokens - 2)] + ["[SEP]"]
    special = np.zeros(tokens, bool)
    special[[0, -1]] = True
    segment = np.zeros(tokens, np.int64)
    if pair_at is not None:
        segment[pair_at:] = 1
        special[pair_at - 1] = True
        toks[pair_at - 1] = "[SEP]"
    zeros = np.zeros((tokens, 1), np.float32)
    return ModelRun(
        model_name="random",
        text="x",
        text_pair="y" if pair_at else None,
        tokens=tuple(toks),
        input_ids=np.zeros(tokens, np.int64),
        token_type_ids=segment,
        position_ids=np.arange(tokens),
        segment=segment,
        special=special,
        word_ids=np.arange(tokens),
        attentions=attn,
        hidden_states=np.zeros((layers + 1, tokens, 1), np.float32),
        word_part=zeros,
        position_part=zeros,
        type_part=zeros,
    )


# ---- driving the app with streamlit.testing.v1.AppTest ---------------------------------------------

MAIN = str(Path(__file__).resolve().parents[1] / "app" / "main.py")


def open_app(page: str | None = None, text: str | None = None, pair: str = "", **query) -> AppTest:
    """Run the app (query params as a shared link would set them: model=..., lang="zh"), switch page, type
    text; no exception."""
    at = AppTest.from_file(MAIN, default_timeout=120)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    if page:
        at.switch_page(page_file(page)).run()
    if text is not None:
        set_text(at, text, pair)
    assert not at.exception, at.exception
    return at


def set_text(at: AppTest, text: str, pair: str = "") -> AppTest:
    at.sidebar.text_area(key="text").input(text)
    at.sidebar.text_area(key="pair").input(pair)
    at.run()
    assert not at.exception, at.exception
    return at


def decode_plotly(value):
    """Plotly 7 typed arrays ({'dtype', 'bdata', 'shape'}) to numpy; other values unchanged."""
    if isinstance(value, dict) and "bdata" in value:
        out = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        return out.reshape([int(s) for s in str(value["shape"]).split(",")]) if "shape" in value else out
    return value
