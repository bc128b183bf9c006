"""Head importance over a data set (Michel et al. 2019) and the pruning curve; masking = zeroed weights."""

from __future__ import annotations

import copy
import threading

import numpy as np
import pytest
import torch

from explain.attribution.core import hook_snapshot
from explain.attribution.layers import _output_projection, gated_heads
from explain.dataset.batching import encode_rows, pad_batch
from explain.dataset.evaluate import evaluate
from explain.dataset.heads import dataset_head_importance, default_ks, importance_from_rows, pruning_curve
from explain.dataset.reader import read_rows, rows_from_texts
from explain.errors import Cancelled, InputError
from explain.models.heads import HEADS_DIR
from tests.tiny_classifiers import FAMILIES, family_bundle

TEXTS = ["A gripping, beautifully shot film.", "Dull.", "Nothing happens, slowly, for two hours; I loved it.",
         "The acting is wooden and the story drags on.", "ok", "The plot is thin but the cast is wonderful."]
LABELS = ["pos", "neg", "pos", "neg", "pos", "pos"]


def zeroed_copy(model: torch.nn.Module, masked: list[tuple[int, int]], heads: int) -> torch.nn.Module:
    """A deep copy with the masked heads' input columns of their layer's output projection set to 0."""
    twin = copy.deepcopy(model)
    for layer, head in masked:
        weight = _output_projection(twin, layer).weight
        width = weight.shape[1] // heads
        with torch.no_grad():
            weight[:, head * width : (head + 1) * width] = 0.0
    return twin


@pytest.mark.parametrize("family", FAMILIES)
def test_masking_heads_equals_zeroing_their_output_weights(tokenizer, family):
    bundle = family_bundle(family, "sequence-classification", tokenizer, labels=("neg", "pos"), seed=2)
    enc = encode_rows(bundle, TEXTS)
    inputs = pad_batch(bundle, enc, range(len(TEXTS)))
    masked = [(0, 1), (0, 3), (1, 0)]
    gates = torch.ones(bundle.num_layers, bundle.num_heads)
    for l, h in masked:
        gates[l, h] = 0.0
    with gated_heads(bundle.model) as (twin, set_gates), torch.no_grad():
        set_gates(gates)
        gated = twin(**inputs, output_hidden_states=True)
        set_gates(torch.ones_like(gates))
        ungated = twin(**inputs).logits
    with torch.no_grad():
        reference = zeroed_copy(bundle.model, masked, bundle.num_heads)(**inputs, output_hidden_states=True)
        own = bundle.model(**inputs, output_hidden_states=True)
    torch.testing.assert_close(gated.logits, reference.logits, atol=1e-6, rtol=0)
    torch.testing.assert_close(gated.hidden_states[-1], reference.hidden_states[-1], atol=1e-5, rtol=0)
    torch.testing.assert_close(ungated, own.logits, atol=1e-6, rtol=0)
    # the masks did change something (a random tiny head's logits are ~0.01: look at its hidden states)
    assert (gated.hidden_states[-1] - own.hidden_states[-1]).abs().max() > 1e-2  # 1,000 x the tolerance


def test_importance_is_the_gate_gradient_of_each_rows_loss(tokenizer):
    """The hook-free A * dL/dA sum equals dL/dg taken through real gates (one gate set per row)."""
    bundle = family_bundle("bert", "sequence-classification", tokenizer, labels=("neg", "pos"), seed=4)
    rows = rows_from_texts(TEXTS, LABELS)
    imp = dataset_head_importance(bundle, rows)
    enc = encode_rows(bundle, TEXTS)
    inputs = pad_batch(bundle, enc, range(len(TEXTS)))
    y = torch.tensor([1 if l == "pos" else 0 for l in LABELS])
    gates = torch.ones(len(TEXTS), bundle.num_layers, bundle.num_heads, requires_grad=True)
    with gated_heads(bundle.model) as (twin, set_gates):
        set_gates(gates)
        loss = torch.nn.functional.cross_entropy(twin(**inputs).logits, y, reduction="sum")
        (direct,) = torch.autograd.grad(loss, gates)
    np.testing.assert_allclose(imp.per_row, direct.double().numpy(), atol=1e-5)
    np.testing.assert_allclose(imp.raw, np.abs(direct.double().numpy()).mean(0), atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(imp.normalized, axis=1), 1.0, atol=1e-12)
    assert imp.order().shape == (bundle.num_layers * bundle.num_heads, 2)
    first = imp.order()[0]
    assert imp.normalized[first[0], first[1]] == imp.normalized.min()
    halves = [dataset_head_importance(bundle, rows.subset(part)).per_row for part in (range(3), range(3, 6))]
    np.testing.assert_allclose(importance_from_rows(np.concatenate(halves)).raw, imp.raw, atol=1e-9)


@pytest.mark.slow
def test_pruning_curve_ends_and_random_order(tokenizer):
    bundle = family_bundle("distilbert", "sequence-classification", tokenizer, labels=("neg", "pos"), seed=5)
    rows = rows_from_texts(TEXTS * 3, LABELS * 3)
    imp = dataset_head_importance(bundle, rows)
    calls = []
    curve = pruning_curve(bundle, rows, imp, random_orders=2, progress=lambda d, t: calls.append((d, t)))
    n_heads = bundle.num_layers * bundle.num_heads
    assert curve.ks.tolist() == list(range(n_heads + 1))  # 8 heads: every k
    assert curve.accuracy[0] == pytest.approx(evaluate(bundle, rows).metrics.accuracy)
    assert calls[-1] == (len(rows) * (n_heads + 1) * 3,) * 2
    enc = encode_rows(bundle, rows.texts)
    inputs = pad_batch(bundle, enc, range(len(rows)))
    y = np.array([1 if l == "pos" else 0 for l in rows.labels])
    for j in (3, n_heads):  # the curve's k-th point masks exactly the k least important heads
        masked = [tuple(p) for p in curve.order[:j]]
        with torch.no_grad():
            pred = zeroed_copy(bundle.model, masked, bundle.num_heads)(**inputs).logits.argmax(-1).numpy()
        assert curve.accuracy[j] == pytest.approx((pred == y).mean())
    again = pruning_curve(bundle, rows, imp, ks=[0, 4, 8], random_orders=2)
    np.testing.assert_allclose(again.random_accuracy, curve.random_accuracy[[0, 4, 8]])
    assert curve.random_order.shape == (n_heads, 2)
    assert curve.random_accuracy[0] == curve.accuracy[0] and curve.random_accuracy[-1] == curve.accuracy[-1]


def test_default_ks_and_bad_input(tiny_classifier):
    assert default_ks(8).tolist() == list(range(9))
    ks = default_ks(144)
    assert ks[0] == 0 and ks[-1] == 144 and len(ks) <= 26
    rows = rows_from_texts(TEXTS, LABELS)
    with pytest.raises(InputError, match="Each k must lie between 0 and 8"):
        pruning_curve(tiny_classifier, rows, np.ones((2, 4)), ks=[0, 9])
    with pytest.raises(InputError, match="shape"):
        pruning_curve(tiny_classifier, rows, np.ones((3, 4)))


@pytest.mark.slow
def test_shipped_head_importance_and_no_state_left(sentiment):
    bundle = sentiment
    rows = read_rows(HEADS_DIR / "minilm-sentiment" / "heldout.jsonl").subset(range(0, 300, 5))
    dataset_head_importance(bundle, rows.subset(range(2)))  # transformers' own lazy hooks, once
    hooks = hook_snapshot(bundle.model)
    imp = dataset_head_importance(bundle, rows)
    assert imp.raw.shape == (6, 12) and (imp.raw > 0).all()
    curve = pruning_curve(bundle, rows, imp, ks=[0, 72], random_orders=0)
    assert curve.accuracy[0] == pytest.approx(evaluate(bundle, rows).metrics.accuracy)
    assert np.isnan(curve.random_accuracy).all()
    assert hook_snapshot(bundle.model) == hooks and not bundle.model.training
    stop = threading.Event()
    stop.set()
    with pytest.raises(Cancelled):
        dataset_head_importance(bundle, rows, cancel=stop)
