"""Explanations that scale (issue 17): the seeded sample, mergeable parts, nested IG, the row file, the device.

Tiny random classifiers; every comparison is against an independent computation (the whole set at once,
per-row IG, scikit-free recomputation of the quadrature).
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from explain.attribution.adaptive import IGInput, integrated_gradients_rows
from explain.attribution.nested import clenshaw_curtis, integrated_gradients_nested
from explain.dataset.chunk import explain_chunk, explain_sample, prune_chunk
from explain.dataset.heads import curve_from_counts, dataset_head_importance, pruning_curve, pruning_orders
from explain.dataset.labels import match_labels
from explain.dataset.parts import merge_parts
from explain.dataset.ray_engine import actor_device
from explain.dataset.reader import rows_from_texts
from explain.dataset.words import summarize_words
from explain.models.arch import embeddings_of

ROOT = Path(__file__).resolve().parents[1]
TEXTS = ["A gripping, beautifully shot film.", "Dull.", "Nothing happens, slowly, for two hours; I loved it.",
         "The acting is wooden and the story drags on.", "ok", "The plot is thin but the cast is wonderful.",
         "Wonderful, moving, funny.", "Awful; I left early and so did everyone else in the room."]
LABELS = ["pos", "neg", "pos", "neg", "pos", "pos", "pos", "neg"]


def test_the_sample_is_seeded_drawn_over_the_whole_file_and_sorted():
    a, b = explain_sample(50_000, 300), explain_sample(50_000, 300)
    assert np.array_equal(a, b) and len(np.unique(a)) == 300 and np.all(np.diff(a) > 0)
    assert a.max() > 40_000 and a.min() < 10_000  # not the top of the file
    assert not np.array_equal(a, explain_sample(50_000, 300, seed=1))
    assert np.array_equal(explain_sample(7, 300), np.arange(7))  # more than the file: every row


def test_merged_chunk_parts_equal_the_whole_set(tiny_classifier):
    rows = rows_from_texts(TEXTS, LABELS)
    match = match_labels(rows.classes, tiny_classifier.labels)
    whole = explain_chunk(tiny_classifier, rows, np.arange(8), match, method="ig")
    halves = [explain_chunk(tiny_classifier, rows.subset(ix), ix, match, method="ig")
              for ix in (np.array([5, 6, 7]), np.array([0, 1, 2, 3, 4]))]
    merged = pickle.loads(pickle.dumps(merge_parts(r.parts for r in halves))).in_row_order()  # as Ray sends them
    assert np.array_equal(merged.ids, np.arange(8)) and np.array_equal(merged.steps, whole.parts.steps)
    by_row = {r["row"]: r for h in halves for r in h.records}
    for r in whole.records:  # each row's scores do not depend on the rows beside it
        assert by_row[r["row"]]["words"] == r["words"]
        np.testing.assert_allclose(by_row[r["row"]]["scores"], r["scores"], atol=1e-5)
    a, b = summarize_words(whole.parts.tally, min_count=1), summarize_words(merged.tally, min_count=1)
    assert [[s.word for s in c] for c in a.per_class] == [[s.word for s in c] for c in b.per_class]
    for ca, cb in zip(a.per_class, b.per_class):
        np.testing.assert_allclose([s.mean for s in ca], [s.mean for s in cb], atol=1e-6)
        np.testing.assert_allclose([s.std for s in ca], [s.std for s in cb], atol=1e-6)
    # head importance from merged |gradient| sums equals the per-row computation over all rows
    imp = dataset_head_importance(tiny_classifier, rows, match=match)
    np.testing.assert_allclose(merged.heads.importance().raw, imp.raw, atol=1e-6)
    np.testing.assert_allclose(merged.heads.importance().normalized, imp.normalized, atol=1e-6)
    assert merged.heads.importance().rows == 8


def test_merged_prune_counts_give_the_pruning_curve(tiny_classifier):
    rows = rows_from_texts(TEXTS, LABELS)
    match = match_labels(rows.classes, tiny_classifier.labels)
    imp = dataset_head_importance(tiny_classifier, rows, match=match)
    ks = np.array([0, 2, 5, 8])
    expected = pruning_curve(tiny_classifier, rows, imp, ks=ks, random_orders=1, match=match)
    orders = pruning_orders(imp.normalized, 1, 0)
    counts = merge_parts(prune_chunk(tiny_classifier, rows.subset(ix), match, orders, ks)
                         for ix in (range(0, 3), range(3, 8)))
    curve = curve_from_counts(counts, ks, orders, imp.raw.shape)
    np.testing.assert_array_equal(curve.accuracy, expected.accuracy)
    np.testing.assert_array_equal(curve.random_accuracy, expected.random_accuracy)
    np.testing.assert_allclose(curve.loss, expected.loss, atol=1e-6)
    assert curve.n_rows == 8 and np.array_equal(curve.order, expected.order)


def test_clenshaw_curtis_nests_and_integrates_polynomials_exactly():
    for n in (2, 4, 8, 16, 64):
        a, w = clenshaw_curtis(n)
        for degree in range(n + 1):
            assert abs(float(w @ a**degree) - 1 / (degree + 1)) < 1e-12
        if n > 2:
            np.testing.assert_allclose(clenshaw_curtis(n // 2)[0], a[::2], atol=1e-15)  # the points are reused


def _inputs(bundle, texts):
    emb = embeddings_of(bundle.model).word_embeddings
    out = []
    for k, t in enumerate(texts):
        ids = bundle.tokenizer(t, return_tensors="pt")["input_ids"][0]
        with torch.no_grad():
            x = emb(ids)
            special = torch.zeros(len(ids), dtype=torch.bool)
            special[[0, -1]] = True
            xb = emb(torch.where(special, ids, torch.full_like(ids, bundle.tokenizer.pad_token_id)))
        out.append(IGInput(x, xb, torch.zeros(len(ids), dtype=torch.long), k % 2))
    return out


def test_nested_ig_in_one_padded_batch_equals_each_row_alone_and_is_complete(tiny_classifier):
    items = _inputs(tiny_classifier, TEXTS[:5])
    together, evaluations = integrated_gradients_nested(tiny_classifier, items, n_steps=16)
    assert evaluations == 5 * 17
    for item, r in zip(items, together):
        alone = integrated_gradients_nested(tiny_classifier, [item], n_steps=16)[0][0]
        np.testing.assert_allclose(r.scores, alone.scores, atol=1e-5)
        assert r.steps == 17 and abs(r.f_x - alone.f_x) < 1e-5
    # the same integral as Gauss-Legendre at many steps
    reference, _ = integrated_gradients_rows(tiny_classifier, items, n_steps=128)
    for r, g in zip(together, reference):
        np.testing.assert_allclose(r.scores, g.scores, atol=1e-4)
    adaptive, _ = integrated_gradients_nested(tiny_classifier, items)
    assert all(r.converged and abs(r.delta) <= 0.01 * abs(r.f_x - r.f_base) + 1e-6 for r in adaptive)


def test_the_actor_device_follows_the_gpus_asked_for_and_present():
    assert actor_device(0, True) == "cpu" and actor_device(0, False) == "cpu"
    assert actor_device(1, True) == "cuda" and actor_device(0.5, True) == "cuda"
    assert actor_device(1, False) == "cpu"  # asked for a GPU on a node without CUDA: still runs


def test_no_dataset_zip_anywhere():
    """Ray removes `Dataset.zip` in 2.64: row order comes from the ids the row file carries."""
    found = [f"{p}:{n}" for p in (ROOT / "explain").rglob("*.py") for n, line in
             enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if re.search(r"\.zip\(", line)]
    assert found == []


def test_max_data_rows_is_a_setting_with_a_hosted_default_and_a_clear_error():
    from explain.settings import HOSTED_DEFAULTS, SettingsError, load_settings

    assert load_settings({}).max_data_rows is None and HOSTED_DEFAULTS["max_data_rows"] == 2_000
    assert load_settings({"BERT_LENS_HOSTED": "1"}).max_data_rows == 2_000
    assert load_settings({"BERT_LENS_MAX_DATA_ROWS": "50k"}).max_data_rows == 50_000
    with pytest.raises(SettingsError, match="max_data_rows|MAX_DATA_ROWS"):
        load_settings({"BERT_LENS_MAX_DATA_ROWS": "5"})
