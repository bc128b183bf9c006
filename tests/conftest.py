"""Shared fixtures: tiny random BERTs for fast property tests, the shipped default for integration."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, settings
from transformers import AutoTokenizer

from explain import DEFAULT_MODEL, ModelBundle, load_model
from explain.models.heads import default_encoder_dir
from tests.helpers import tiny_bundle

# Property tests (tests/test_properties.py): "ci" (default) keeps them to about half a minute with a fixed
# seed and no example database; HYPOTHESIS_PROFILE=dev searches much longer and remembers failures.
# The deadline only catches a pathological input that hangs: speed goals belong in the benchmark.
settings.register_profile(
    "ci",
    max_examples=25,
    deadline=timedelta(seconds=20),
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("dev", max_examples=300, deadline=timedelta(seconds=60), print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_collection_modifyitems(items):
    """Everything in tests/browser/ drives Chromium: marked `browser` (`make test-fast` leaves it out)."""
    for item in items:
        if "browser" in item.path.parent.parts:
            item.add_marker(pytest.mark.browser)


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


@pytest.fixture(scope="session")
def family_checkpoints(tmp_path_factory):
    """Tiny random checkpoint folders of every claimed family and head (tests/families.py), built once."""
    from tests.families import build_checkpoints

    return build_checkpoints(tmp_path_factory.mktemp("families"))


@pytest.fixture(scope="session")
def family_bundle(family_checkpoints):
    """family_bundle("roberta-mlm"): that checkpoint folder loaded once through `load_model` and shared."""
    cache: dict[str, ModelBundle] = {}

    def get(ck_id: str) -> ModelBundle:
        if ck_id not in cache:
            cache[ck_id] = load_model(str(family_checkpoints[ck_id].folder))
        return cache[ck_id]

    return get


@pytest.fixture(scope="session")
def wheel(tmp_path_factory):
    """The wheel `python -m build` makes from this checkout (via its sdist), built once per session."""
    from tests.wheel_install import build_wheel

    return build_wheel(tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="session")
def installed_bin(wheel, tmp_path_factory):
    """bin/ of a fresh virtual environment, outside the checkout, with the wheel installed by pip (~2 min)."""
    from tests.wheel_install import install

    return install(wheel, tmp_path_factory.mktemp("venv"))
