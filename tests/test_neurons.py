"""Feed-forward neurons: activations against a hooked private copy, top neurons/tokens, NMF, what a neuron writes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from explain import InputError, run_model
from explain.attribution.core import hook_snapshot, private_copy
from explain.models.arch import layers_of
from explain.probing.neurons import (
    class_neurons,
    ffn_activations,
    neuron_view,
    neuron_vocabulary,
    nmf_factors,
)

TEXT = "The bank raised interest rates because inflation kept rising in the spring."


@pytest.fixture(scope="module")
def run(tiny_mlm):
    return run_model(tiny_mlm, TEXT)


@pytest.fixture(scope="module")
def acts(tiny_mlm, run):
    return ffn_activations(tiny_mlm, run)


def hooked_reference(bundle, text: str) -> np.ndarray:
    """Every layer's intermediate output captured by forward hooks on a private copy of the model (L, T, d_ff)."""
    captured = []
    with private_copy(bundle.model) as model:
        handles = [layer.intermediate.register_forward_hook(lambda m, i, o: captured.append(o[0].clone()))
                   for layer in layers_of(model)]
        try:
            with torch.inference_mode():
                model(**bundle.tokenizer(text, return_tensors="pt"))
        finally:
            for h in handles:
                h.remove()
    return torch.stack(captured).numpy()


def test_activations_equal_a_hooked_forward_pass_and_leave_the_model_alone(tiny_mlm, run, acts):
    before = hook_snapshot(tiny_mlm.model)
    again = ffn_activations(tiny_mlm, run)
    assert hook_snapshot(tiny_mlm.model) == before
    assert not tiny_mlm.model.training
    assert acts.activations.shape == (2, run.num_tokens, 64)
    np.testing.assert_allclose(again.activations, hooked_reference(tiny_mlm, TEXT), atol=1e-5)
    with pytest.raises(ValueError):
        acts.activations[0, 0, 0] = 1.0  # read-only


def test_one_layer_alone_equals_that_layer_of_all(tiny_mlm, run, acts):
    one = ffn_activations(tiny_mlm, run, layers=[1])
    assert one.layers == (1,) and one.activations.shape == (1, run.num_tokens, 64)
    np.testing.assert_array_equal(one.of_layer(1), acts.of_layer(1))
    with pytest.raises(InputError, match="not computed"):
        one.of_layer(0)
    with pytest.raises(InputError, match="Layer 2 does not exist"):
        ffn_activations(tiny_mlm, run, layers=[2])


def test_top_neurons_per_token_and_top_tokens_per_neuron(acts, run):
    view = neuron_view(acts, layer=1, k=3, n_neurons=4)
    A = acts.activations[1]
    for t in range(run.num_tokens):
        assert set(view.top_neurons[t]) == set(np.argsort(-A[t])[:3])
        np.testing.assert_allclose(view.top_values[t], np.sort(A[t])[::-1][:3])
    words = np.flatnonzero(~run.special)
    peak = A[words].max(axis=0)
    assert list(view.neurons) == list(np.argsort(-peak, kind="stable")[:4])
    for n, positions in zip(view.neurons, view.neuron_top_positions):
        assert not run.special[positions].any()
        np.testing.assert_allclose(A[positions, n], np.sort(A[words, n])[::-1][:3])
    with pytest.raises(InputError, match="Layer 7"):
        neuron_view(acts, layer=7)


@pytest.mark.parametrize("k", [1, 3, 6])
def test_nmf_factors_reconstruct_the_activations_within_the_reported_error(acts, run, k):
    f = nmf_factors(acts, layer=0, n_factors=k)
    A = np.clip(acts.activations[0][~run.special], 0, None)
    assert f.token_weights.shape == (len(A), k) and f.components.shape == (k, A.shape[1])
    assert (f.token_weights >= 0).all() and (f.components >= 0).all()
    residual = np.linalg.norm(A - f.token_weights @ f.components)
    assert residual == pytest.approx(f.error, rel=1e-6)
    assert f.relative_error == pytest.approx(residual / np.linalg.norm(A), rel=1e-6)
    assert f.relative_error < 1.0
    assert list(f.positions) == list(np.flatnonzero(~run.special))


def test_more_nmf_factors_fit_better(acts):
    errors = [nmf_factors(acts, layer=1, n_factors=k).relative_error for k in (1, 4, 8)]
    assert errors[0] > errors[1] > errors[2]
    with pytest.raises(InputError, match="factors"):
        nmf_factors(acts, layer=1, n_factors=0)


def test_neuron_top_tokens_equal_a_direct_projection_through_the_mlm_head(tiny_mlm):
    neurons = [0, 5, 63]
    vocab = neuron_vocabulary(tiny_mlm, layer=1, neurons=neurons, k=7)
    model = tiny_mlm.model
    W_out = model.bert.encoder.layer[1].output.dense.weight  # (D, d_ff)
    with torch.inference_mode():
        h = model.cls.predictions.transform(W_out[:, neurons].T)
        logits = h @ model.bert.embeddings.word_embeddings.weight.T + model.cls.predictions.bias
    want = torch.topk(logits, 7, dim=-1)
    np.testing.assert_array_equal(vocab.top_ids, want.indices.numpy())
    np.testing.assert_allclose(vocab.top_logits, want.values.numpy(), rtol=1e-5, atol=1e-5)
    assert vocab.top_tokens[0] == tuple(tiny_mlm.tokenizer.convert_ids_to_tokens(want.indices[0].tolist()))


def test_neuron_vocabulary_needs_an_mlm_head(tiny_classifier):
    with pytest.raises(InputError, match="no masked-language-model head"):
        neuron_vocabulary(tiny_classifier, layer=0, neurons=[1])


def test_class_neurons_equal_per_row_means_of_unpadded_runs(tiny_mlm):
    texts = ["good film", "a truly bad and boring film with no plot at all", "great movie!", "awful"]
    labels = ["pos", "neg", "pos", "neg"]
    got = class_neurons(tiny_mlm, texts, labels, layer=1, k=4, contrast=False, max_batch_tokens=64)
    rows = []
    for text in texts:
        r = run_model(tiny_mlm, text)
        rows.append(ffn_activations(tiny_mlm, r).activations[1][~r.special].mean(axis=0))
    rows = np.array(rows)
    for c, name in enumerate(got.classes):
        mean = rows[[i for i, l in enumerate(labels) if l == name]].mean(axis=0)
        np.testing.assert_allclose(got.mean_activation[c], np.sort(mean)[::-1][:4], atol=1e-5)
    contrast = class_neurons(tiny_mlm, texts, labels, layer=1, k=4)
    pos, neg = rows[[0, 2]].mean(0), rows[[1, 3]].mean(0)
    assert list(contrast.neurons[0]) == list(np.argsort(-(pos - neg), kind="stable")[:4])
    assert list(got.rows) == [2, 2] and contrast.contrast


def test_class_neurons_equal_a_hooked_recomputation_averaged_with_numpy(tiny_mlm):
    """Independent of the library's batching: each row alone through a hooked private copy (the layer's
    intermediate output), its non-special tokens averaged, then per class with numpy. The library pads rows of
    different lengths into shared batches (max_batch_tokens=40), so 1e-5."""
    texts = ["good film", "a truly bad and boring film with no plot at all, sadly", "great movie!", "awful",
             "the acting was wonderful and the story moving", "dull", "not bad at all", "I hated every minute"]
    labels = ["pos", "neg", "pos", "neg", "pos", "neg", "pos", "neg"]
    layer, k = 1, 5
    rows = []
    for text in texts:
        special = np.array(tiny_mlm.tokenizer(text, return_special_tokens_mask=True)["special_tokens_mask"], bool)
        rows.append(hooked_reference(tiny_mlm, text)[layer][~special].mean(axis=0))
    rows = np.array(rows, dtype=np.float64)
    is_pos = np.array(labels) == "pos"
    means = {"pos": rows[is_pos].mean(0), "neg": rows[~is_pos].mean(0)}
    for contrast in (False, True):
        got = class_neurons(tiny_mlm, texts, labels, layer=layer, k=k, contrast=contrast, max_batch_tokens=40)
        assert got.classes == ("pos", "neg") and list(got.rows) == [4, 4] and got.contrast == contrast
        for c, name in enumerate(got.classes):
            other = means["neg" if name == "pos" else "pos"]
            score = means[name] - other if contrast else means[name]
            want = np.argsort(-score, kind="stable")[:k]
            # ties within 1e-5 could reorder; the scores themselves must match at every rank
            np.testing.assert_allclose(got.score[c], score[want], atol=1e-5)
            np.testing.assert_allclose(got.mean_activation[c], means[name][got.neurons[c]], atol=1e-5)
            np.testing.assert_allclose(score[got.neurons[c]], score[want], atol=1e-5)
        assert list(got.shown) == sorted(set(got.neurons.ravel().tolist()))
        np.testing.assert_allclose(got.row_activation, rows[:, got.shown], atol=1e-5)
        n = int(got.neurons[0, 0])
        np.testing.assert_allclose(got.of_row(n), rows[:, n], atol=1e-5)


def test_class_neurons_bad_input_gives_a_clear_message(tiny_mlm):
    texts, labels = ["good", "bad"], ["pos", "neg"]
    for layer in (2, -1):
        with pytest.raises(InputError, match=r"Layer .* does not exist: the model has layers 0 to 1"):
            class_neurons(tiny_mlm, texts, labels, layer=layer)
    for k in (0, -3, 1.5, 65):
        with pytest.raises(InputError, match="neurons per class must be a whole number from 1 to 64"):
            class_neurons(tiny_mlm, texts, labels, layer=0, k=k)
    with pytest.raises(InputError, match="one label per row"):
        class_neurons(tiny_mlm, texts, labels[:1], layer=0)
    got = class_neurons(tiny_mlm, texts, labels, layer=0, k=3)
    with pytest.raises(InputError, match="not among the top neurons"):
        got.of_row(next(n for n in range(64) if n not in got.shown))


def test_class_neurons_report_progress_and_stop_when_cancelled(tiny_mlm):
    import threading

    from explain.errors import Cancelled

    texts, labels = ["good film", "bad film", "fine", "awful plot"] * 3, ["pos", "neg", "pos", "neg"] * 3
    seen = []
    class_neurons(tiny_mlm, texts, labels, layer=0, k=2, max_batch_tokens=16, progress=lambda d, t: seen.append((d, t)))
    assert seen[0] == (0, 12) and seen[-1] == (12, 12) and len(seen) > 2
    stop = threading.Event()
    stop.set()
    with pytest.raises(Cancelled):
        class_neurons(tiny_mlm, texts, labels, layer=0, cancel=stop)


def test_class_neuron_bars_and_exports_hold_the_result(tiny_mlm):
    import csv
    import io

    from explain.probing.export import CLASS_NEURON_HEADER, class_neurons_csv, class_neurons_json
    from explain.probing.figures import class_neuron_bars

    got = class_neurons(tiny_mlm, ["good film", "bad film", "fine", "awful"], ["pos", "neg", "pos", "neg"],
                        layer=1, k=3)
    fig = class_neuron_bars(got, 1)
    assert list(fig.data[0].y) == [f"neuron {int(n)}" for n in got.neurons[1]]
    np.testing.assert_array_equal(fig.data[0].x, got.score[1])
    np.testing.assert_array_equal(fig.data[0].customdata, got.mean_activation[1])
    assert "minus in the other classes" in fig.layout.xaxis.title.text
    vocab = neuron_vocabulary(tiny_mlm, 1, got.shown, k=4)
    rows = list(csv.reader(io.StringIO(class_neurons_csv(got, vocab))))
    assert tuple(rows[0]) == CLASS_NEURON_HEADER and len(rows) == 1 + 2 * 3
    first = dict(zip(rows[0], rows[1]))
    assert (first["class"], first["rank"], first["layer"], first["neuron"]) == ("pos", "1", "2", str(got.neurons[0, 0]))
    assert abs(float(first["score"]) - got.score[0, 0]) < 1e-5
    assert first["writes"] == " ".join(vocab.top_tokens[list(vocab.neurons).index(got.neurons[0, 0])])
    data = class_neurons_json(got, "tiny", "four rows")
    assert data["layer"] == 2 and data["score"].startswith("class mean -")
    assert [n["neuron"] for n in data["classes"]["neg"]["neurons"]] == [int(n) for n in got.neurons[1]]
