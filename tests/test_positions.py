"""Sinusoidal encoding against its closed form; the primer's one-liner diagnosed; learned table read right."""

from __future__ import annotations

import math

import numpy as np
import pytest

from explain import run_model
from explain.embeddings import embedding_parts, mean_similarity_by_layer, token_similarity, token_trajectories
from explain.positions import (
    cosine_similarity,
    diagnose_primer,
    learned_positions,
    pca,
    primer_formula,
    rotation_error,
    similarity_by_offset,
    sinusoidal_encoding,
    token_type_table,
)


def test_sinusoidal_matches_closed_form_elementwise():
    P, d = 50, 16
    pe = sinusoidal_encoding(P, d)
    for pos in range(P):
        for i in range(d // 2):
            angle = pos / 10000 ** (2 * i / d)
            assert pe[pos, 2 * i] == pytest.approx(math.sin(angle), abs=1e-12)
            assert pe[pos, 2 * i + 1] == pytest.approx(math.cos(angle), abs=1e-12)


def test_sinusoidal_odd_dimension_and_first_rows():
    pe = sinusoidal_encoding(3, 5)
    assert pe.shape == (3, 5)
    np.testing.assert_allclose(pe[0], [0, 1, 0, 1, 0])
    assert pe[1, 0] == pytest.approx(math.sin(1.0))


def test_sinusoidal_offsets_are_rotations_but_primer_is_not_an_encoding():
    pe = sinusoidal_encoding(128, 32)
    assert rotation_error(pe, 7) < 1e-9
    # PE(p+k) . PE(p) depends only on k: the dot-product profile is the same from every start.
    dots = np.array([pe[p] @ pe[p + 5] for p in range(100)])
    np.testing.assert_allclose(dots, dots[0], atol=1e-9)
    d = diagnose_primer(128, 32)
    assert d.rank == 1 and d.min_cosine > 0.999999 and d.layer_norm_collapse < 1e-6
    assert d.sinusoid_rank > 1 and d.sinusoid_min_cosine < 0.9


def test_primer_formula_is_what_primers_print():
    wrong = primer_formula(10, 4)
    np.testing.assert_allclose(wrong[3], math.sin(3 / 10000) + math.cos(3 / 10000))
    assert np.ptp(wrong, axis=1).max() == 0


def test_learned_positions_are_the_model_table(default_bundle):
    table = learned_positions(default_bundle)
    assert table.shape == (512, 384)
    np.testing.assert_allclose(table, default_bundle.model.embeddings.position_embeddings.weight.detach().numpy(), atol=1e-7)
    assert token_type_table(default_bundle).shape == (2, 384)
    sim = similarity_by_offset(table[:64], 10)
    assert sim[0] == pytest.approx(1.0) and sim[1] > sim[10]


def test_cosine_and_pca_basics():
    x = np.array([[1.0, 0], [0, 2], [3, 3]])
    np.testing.assert_allclose(np.diag(cosine_similarity(x)), 1.0)
    assert cosine_similarity(x)[0, 1] == pytest.approx(0.0)
    proj = pca(np.random.default_rng(0).normal(size=(40, 6)) * [10, 1, 1, 1, 1, 1], 2)
    assert proj.coords.shape == (40, 2) and proj.explained[0] > 0.7


def test_embedding_parts_and_similarity(tiny_mlm):
    run = run_model(tiny_mlm, "bank bank", "river")
    parts = embedding_parts(run)
    np.testing.assert_allclose(parts.word, np.linalg.norm(run.word_part, axis=1), rtol=1e-6)
    assert len(parts.total) == run.num_tokens
    sim = token_similarity(run, 0)
    np.testing.assert_allclose(np.diag(sim), 1.0, atol=1e-6)
    assert mean_similarity_by_layer(run).shape == (3,)
    assert token_trajectories(run).coords.shape == (3, run.num_tokens, 2)
