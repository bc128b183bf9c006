"""Shared fixtures: tiny random BERTs for fast property tests, the shipped default for integration."""

from __future__ import annotations

import pytest
import torch
from transformers import (
    AutoTokenizer,
    BertConfig,
    BertForMaskedLM,
    BertForSequenceClassification,
    BertForTokenClassification,
)

from explain import DEFAULT_MODEL, ModelBundle, load_model
from explain.heads import default_encoder_dir
from explain.models import prepare_model


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


@pytest.fixture(scope="session")
def tokenizer():
    return AutoTokenizer.from_pretrained(default_encoder_dir(), local_files_only=True)


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


@pytest.fixture(scope="session")
def tiny_mlm(tokenizer) -> ModelBundle:
    return tiny_bundle(tokenizer, "masked-lm")


@pytest.fixture(scope="session")
def tiny_classifier(tokenizer) -> ModelBundle:
    return tiny_bundle(tokenizer, "sequence-classification", labels=("neg", "pos"))


@pytest.fixture(scope="session")
def default_bundle() -> ModelBundle:
    return load_model(DEFAULT_MODEL)
