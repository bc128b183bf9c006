"""Shared fixtures: tiny random BERTs for fast property tests, the shipped default for integration."""

from __future__ import annotations

import pytest
from transformers import AutoTokenizer

from explain import DEFAULT_MODEL, ModelBundle, load_model
from explain.models.heads import default_encoder_dir
from tests.helpers import tiny_bundle


@pytest.fixture(scope="session")
def tokenizer():
    return AutoTokenizer.from_pretrained(default_encoder_dir(), local_files_only=True)


@pytest.fixture(scope="session")
def tiny_mlm(tokenizer) -> ModelBundle:
    return tiny_bundle(tokenizer, "masked-lm")


@pytest.fixture(scope="session")
def tiny_classifier(tokenizer) -> ModelBundle:
    return tiny_bundle(tokenizer, "sequence-classification", labels=("neg", "pos"))


@pytest.fixture(scope="session")
def default_bundle() -> ModelBundle:
    return load_model(DEFAULT_MODEL)
