"""Adaptive Integrated Gradients (one input and many), data-set attributions merged to words, their summary."""

from __future__ import annotations

import itertools
import threading

import numpy as np
import pytest
import torch
from captum.attr import IntegratedGradients

from explain import attribute, merge_words
from explain.attribution.adaptive import MAX_STEPS
from explain.attribution.core import hook_snapshot, prepare
from explain.dataset.attributions import dataset_attributions, warm_start
from explain.dataset.reader import read_rows, rows_from_texts
from explain.dataset.words import tally_words, word_summary
from explain.errors import Cancelled
from explain.models.heads import HEADS_DIR
from tests.tiny_classifiers import family_bundle

SENTIMENT = "MiniLM + movie-review sentiment head (rotten/fresh)"
TEXT = "The plot is thin but the performances are wonderful."
TEXTS = ["A gripping, beautifully shot film.", "Dull.", "Nothing happens, slowly, for two hours; I loved it.",
         "The acting is wooden and the story drags on and on and on.", "ok", TEXT]
PAIRS = [None, "Is it good?", None, "Really.", "fine", None]


@pytest.mark.slow
def test_ig_default_is_adaptive_and_complete(sentiment):
    a = attribute(sentiment, TEXT, method="ig")
    gap = a.target_score - a.baseline_score
    assert a.options["n_steps"] == "auto" and a.n_steps in (4, 8, 16, 32, 64, 128, 256)
    assert abs(a.delta) < 0.01 * abs(gap)
    # the same steps through Captum's IntegratedGradients (the fixed-steps path) give the same scores
    fixed = attribute(sentiment, TEXT, method="ig", n_steps=a.n_steps)
    assert fixed.n_steps == a.n_steps and fixed.options["n_steps"] == a.n_steps
    np.testing.assert_allclose(a.scores, fixed.scores, atol=1e-5)
    if a.n_steps > 4:  # half as many steps did not meet the 1 % condition, or it would have stopped there
        half = attribute(sentiment, TEXT, method="ig", n_steps=a.n_steps // 2)
        assert abs(half.delta) >= 0.01 * abs(gap)


def test_adaptive_ig_equals_a_direct_captum_call(clf_two):
    prep = prepare(clf_two, TEXT)
    a = attribute(clf_two, TEXT, method="ig", n_steps=None)
    ig = IntegratedGradients(prep.score_embeddings, multiply_by_inputs=True)
    ref = ig.attribute(prep.embeddings, baselines=prep.baseline_embeddings("pad"), n_steps=a.n_steps,
                       method="gausslegendre")
    np.testing.assert_allclose(a.scores, ref[0].sum(-1).double().numpy(), atol=1e-5)


@pytest.fixture(scope="module")
def clf_two(tokenizer):
    return family_bundle("bert", "sequence-classification", tokenizer, labels=("neg", "pos"), seed=3)


@pytest.mark.parametrize("family", ["bert", "distilbert", "roberta"])
@pytest.mark.parametrize("method, options", [("ig", {"n_steps": 8, "baseline": "mask"}), ("saliency", {}),
                                             ("input_x_gradient", {}), ("occlusion", {"features": "word"})])
@pytest.mark.slow
def test_rows_batched_with_padding_equal_one_row_attribute(tokenizer, family, method, options):
    bundle = family_bundle(family, "sequence-classification", tokenizer, labels=("neg", "pos"), seed=1)
    if method == "ig" and bundle.tokenizer.mask_token_id is None:
        pytest.skip("no mask token")
    rows = rows_from_texts(TEXTS, ["pos", "neg", "pos", "neg", "pos", "neg"], PAIRS)
    da = dataset_attributions(bundle, rows, method=method, target="gold", group_rows=4, **options)
    for i, (text, pair) in enumerate(zip(TEXTS, PAIRS)):
        one = attribute(bundle, text, pair, method=method, target=int(da.targets[i]), **options)
        assert da.tokens[i] == one.tokens
        np.testing.assert_allclose(da.scores[i], one.scores, atol=1e-5)
        assert da.f_x[i] == pytest.approx(one.target_score, abs=1e-5)
        if method == "ig":
            assert da.steps[i] == 8 and da.delta[i] == pytest.approx(one.delta, abs=2e-6)
        w = merge_words(one)
        assert da.words[i].words == w.words


@pytest.mark.slow
def test_dataset_ig_is_complete_for_every_row(sentiment):
    rows = read_rows(HEADS_DIR / "minilm-sentiment" / "heldout.jsonl").subset(range(0, 300, 20))
    calls = []
    da = dataset_attributions(sentiment, rows, progress=lambda d, t: calls.append(d))
    gap = np.abs(da.f_x - da.f_base)
    assert da.converged.all() and (np.abs(da.delta) < 0.01 * gap).all()
    assert set(np.unique(da.steps)) <= {4, 8, 16, 32, 64, 128, 256}
    assert sum(da.steps_histogram().values()) == len(rows) and da.delta_summary()["max"] < 0.01
    assert calls[0] == 0 and calls[-1] == len(rows)
    # at the steps each row used, one-row IG (Captum) gives the same scores
    for i in (0, 7, 14):
        one = attribute(sentiment, rows.texts[i], method="ig", n_steps=int(da.steps[i]), target=int(da.targets[i]))
        np.testing.assert_allclose(da.scores[i], one.scores, atol=1e-5)
    # every row pays its rounds: from its group's start, doubling, to its own count
    assert da.evaluations >= da.steps.sum()
    summary = word_summary(da, da.targets)
    assert {s.label for group in summary.per_class for s in group} <= {"rotten", "fresh"}
    assert all(a.mean >= b.mean for group in summary.per_class for a, b in itertools.pairwise(group))


@pytest.mark.slow
def test_dataset_ig_on_all_300_heldout_reviews(sentiment):
    """The issue's condition on the whole shipped sample: |delta| < 1 % of |f(x) - f(x')| for every row."""
    rows = read_rows(HEADS_DIR / "minilm-sentiment" / "heldout.jsonl")
    da = dataset_attributions(sentiment, rows)
    assert da.converged.all() and da.steps.max() <= MAX_STEPS
    assert (np.abs(da.delta) < 0.01 * np.abs(da.f_x - da.f_base)).all()


def test_warm_start_is_the_median_power_of_two():
    assert warm_start(np.array([], dtype=int)) == 4
    assert warm_start(np.array([8, 16, 16, 64, 128])) == 16
    assert warm_start(np.array([4, 4, 8])) == 4


def test_word_tally_counts_every_word_and_merges(tiny_classifier):
    rows = rows_from_texts(TEXTS, ["pos", "neg", "pos", "neg", "pos", "neg"])
    da = dataset_attributions(tiny_classifier, rows, method="saliency", target="gold")
    gold = np.array([1, 0, 1, 0, 1, 0])
    tally = tally_words(da, gold)
    words = [w.casefold() for ws in da.words for w, sp in zip(ws.words, ws.special) if not sp]
    assert sum(int(f.sum()) for f in tally.frequency.values()) == len(words)
    assert tally.frequency["the"].sum() == words.count("the") == 4
    first, second = (tally_words(_part(da, s), gold[s]) for s in (slice(0, 3), slice(3, 6)))
    merged = first + second
    for w in tally.frequency:
        np.testing.assert_array_equal(merged.frequency[w], tally.frequency[w])
        np.testing.assert_allclose(merged.attribution[w], tally.attribution[w], atol=1e-12)


def _part(da, s):
    from dataclasses import replace

    return replace(da, words=da.words[s], targets=da.targets[s])


def test_dataset_attributions_cancel(tiny_classifier):
    rows = rows_from_texts(TEXTS * 4, ["pos", "neg"] * 12)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        dataset_attributions(tiny_classifier, rows, cancel=cancel)


@pytest.mark.slow
def test_no_hooks_or_gradients_left_on_the_shared_model(sentiment):
    rows = rows_from_texts(TEXTS, ["fresh", "rotten"] * 3)
    dataset_attributions(sentiment, rows, method="saliency")  # transformers' own lazy hooks, once
    before = [(n, p.requires_grad) for n, p in sentiment.model.named_parameters()]
    hooks = hook_snapshot(sentiment.model)
    dataset_attributions(sentiment, rows, method="ig", n_steps=4)
    assert [(n, p.requires_grad) for n, p in sentiment.model.named_parameters()] == before
    assert hook_snapshot(sentiment.model) == hooks
    assert not sentiment.model.training and torch.is_grad_enabled()
