"""Rollout, flow, head statistics and one head's arithmetic against direct references."""

from __future__ import annotations

import numpy as np
import pytest

from explain import InputError, run_model
from explain.attention.head_math import head_arithmetic, head_weights
from explain.attention.head_stats import STATISTICS, head_stats
from explain.attention.maps import attention_flow, head_map, residual_attention, restrict, rollout


def random_attention(L, H, T, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.random((L, H, T, T)) ** 3
    return a / a.sum(-1, keepdims=True)


def test_rollout_equals_matrix_product_reference():
    attn = random_attention(4, 3, 6)
    eye = np.eye(6)
    aug = [(0.5 * attn[l].mean(0) + 0.5 * eye) for l in range(4)]
    aug = [a / a.sum(1, keepdims=True) for a in aug]
    reference = aug[3] @ aug[2] @ aug[1] @ aug[0]
    np.testing.assert_allclose(rollout(attn)[-1], reference, atol=1e-12)
    np.testing.assert_allclose(rollout(attn)[0], aug[0], atol=1e-12)
    np.testing.assert_allclose(rollout(attn).sum(-1), 1.0, atol=1e-12)


def test_flow_one_layer_is_the_edge_capacity():
    attn = random_attention(1, 2, 5, seed=1)
    np.testing.assert_allclose(attention_flow(attn), residual_attention(attn)[0], atol=1e-5)


def test_flow_two_layers_sums_disjoint_path_bottlenecks():
    # Through two layers every path j -> k -> i uses its own middle node k, so the max flow is
    # sum_k min(A1[k, j], A2[i, k]).
    attn = random_attention(2, 3, 5, seed=2)
    a1, a2 = residual_attention(attn)
    reference = np.array([[sum(min(a1[k, j], a2[i, k]) for k in range(5)) for j in range(5)] for i in range(5)])
    np.testing.assert_allclose(attention_flow(attn), reference, atol=2e-5)


def test_flow_refuses_beyond_time_budget():
    with pytest.raises(InputError, match="on demand"):
        attention_flow(random_attention(12, 2, 200), max_seconds=1.0)


def test_head_map_hides_specials_and_renormalises(tiny_mlm):
    run = run_model(tiny_mlm, "Hide the special tokens.")
    full = head_map(run, 1, 2)
    np.testing.assert_allclose(full.weights.sum(1), 1.0, atol=1e-5)
    hidden = head_map(run, 1, 2, hide_special=True)
    assert "[CLS]" not in hidden.query_tokens and len(hidden.key_tokens) == run.num_tokens - 2
    assert (hidden.weights.sum(1) < 1.0).all()
    renorm = head_map(run, 1, 2, hide_special=True, renormalize=True)
    np.testing.assert_allclose(renorm.weights.sum(1), 1.0, atol=1e-9)


def test_out_of_range_head_is_a_clear_error(tiny_mlm):
    run = run_model(tiny_mlm, "Only two layers here.")
    with pytest.raises(InputError, match="layers 0 to 1"):
        head_map(run, 5, 0)
    with pytest.raises(InputError, match="heads 0 to 3"):
        head_map(run, 0, 9)


def test_head_statistics_against_loops(tiny_mlm):
    run = run_model(tiny_mlm, "Statistics of every head.", "And a pair.")
    stats = head_stats(run)
    assert set(stats.values) == set(STATISTICS)
    l, h = 1, 3
    a = run.attentions[l, h].astype(np.float64)
    T = run.num_tokens
    entropy = np.mean([-(row * np.log2(row)).sum() for row in a])
    distance = np.mean([sum(a[i, j] * abs(i - j) for j in range(T)) for i in range(T)])
    seps = [i for i in range(1, T) if run.special[i]]
    assert stats["entropy"][l, h] == pytest.approx(entropy)
    assert stats["distance"][l, h] == pytest.approx(distance)
    assert stats["cls"][l, h] == pytest.approx(a[:, 0].mean())
    assert stats["sep"][l, h] == pytest.approx(a[:, seps].sum(1).mean())
    assert stats["self"][l, h] == pytest.approx(np.trace(a) / T)
    assert stats["prev"][l, h] == pytest.approx(sum(a[i, i - 1] for i in range(1, T)) / T)
    assert stats["next"][l, h] == pytest.approx(sum(a[i, i + 1] for i in range(T - 1)) / T)


@pytest.mark.parametrize("layer, head", [(0, 0), (1, 3)])
def test_head_recomputation_matches_model_attention_tiny(tiny_mlm, layer, head):
    run = run_model(tiny_mlm, "Recompute the head by hand.")
    calc = head_arithmetic(run, head_weights(tiny_mlm, layer, head))
    assert calc.max_abs_error < 1e-5
    np.testing.assert_allclose(calc.weights.sum(1), 1.0, atol=1e-12)
    np.testing.assert_allclose(calc.output, calc.weights @ calc.v)


def test_head_recomputation_matches_every_head_of_default_model(default_bundle):
    run = run_model(default_bundle, "The animal didn't cross the street because it was too tired.")
    errors = [
        head_arithmetic(run, head_weights(default_bundle, l, h)).max_abs_error
        for l in range(default_bundle.num_layers)
        for h in range(default_bundle.num_heads)
    ]
    assert max(errors) < 1e-5


def test_restrict_keeps_token_labels(tiny_mlm):
    run = run_model(tiny_mlm, "a b", "c")
    m = restrict(run, rollout(run.attentions)[-1], hide_special=True)
    assert m.query_tokens == ("a", "b", "c")
