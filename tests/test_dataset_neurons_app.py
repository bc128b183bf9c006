"""AppTest of the Data set page's Neurons view on the shipped sentiment head and its held-out sample: the top
neurons shown per class equal `class_neurons` called directly, the rows of a chosen neuron, the note on what a
neuron writes, and the exports."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bert_lens.common import clear_caches
from bert_lens.views.dataset.jobs import RESULTS
from explain import builtin_models
from explain.dataset.reader import read_rows
from explain.probing.neurons import class_neurons
from tests.helpers import decode_plotly
from tests.test_dataset_app import HELDOUT, finish, open_dataset, run_view

pytestmark = pytest.mark.app  # AppTest: the Streamlit app runs


def teardown_module():
    RESULTS.clear()
    clear_caches()


def frame(at, column: str):
    return next(d.value for d in at.dataframe if column in d.value.columns)


def test_neurons_view_shows_class_neurons_of_the_held_out_sample(sentiment):
    at = finish(open_dataset())
    assert "ds.job.neurons" not in at.session_state  # computed only when opened
    rows = read_rows(HELDOUT)
    labels = list(rows.labels)
    assert set(labels) == {"rotten", "fresh"} and len(labels) == 300

    run_view(at, "neurons", "ds.job.neurons")
    last = sentiment.num_layers
    assert at.slider(key="ds.nlayer").value == last  # the last layer by default
    want = class_neurons(sentiment, list(rows.texts), labels, layer=last - 1, k=10, contrast=True)
    shown = frame(at, "neuron")
    for c, label in enumerate(want.classes):
        part = shown[shown["class"] == label]
        assert list(part["neuron"]) == [int(n) for n in want.neurons[c]], label
        np.testing.assert_allclose(part["score"], want.score[c], atol=1e-5)
        np.testing.assert_allclose(part["mean activation in the class"], want.mean_activation[c], atol=1e-5)
    figures = [json.loads(f.proto.spec)["data"][0] for f in at.get("plotly_chart")
               if "neurons of" in json.loads(f.proto.spec)["layout"]["title"]["text"]]
    assert len(figures) == 2
    rotten = want.classes.index("rotten")
    assert figures[0]["y"] == [f"neuron {int(n)}" for n in want.neurons[rotten]]  # the model's class order
    np.testing.assert_allclose(decode_plotly(figures[0]["x"]), want.score[rotten], atol=1e-5)

    # the chosen neuron (default: the first class's top one): the rows it fires most on
    neuron = int(want.neurons[rotten, 0])
    assert at.selectbox(key="ds.neuron").value == neuron
    top = np.argsort(-want.of_row(neuron), kind="stable")[:8]
    table = frame(at, "fires most on (token)")
    assert list(table["row"]) == [int(t) for t in top]
    assert list(table["text"]) == [rows.texts[t] for t in top]
    assert list(table["gold"]) == [labels[t] for t in top]
    np.testing.assert_allclose(table["mean activation"], want.of_row(neuron)[top], atol=1e-5)
    assert any("classifier without one" in i.value for i in at.info)  # no MLM head: why "writes" is missing
    assert any("What layers know page shows this neuron" in c.value for c in at.caption)

    # another layer, no contrast: recomputed, still equal to the direct call
    at.slider(key="ds.nlayer").set_value(2)
    at.toggle(key="ds.ncontrast").set_value(False)
    at.number_input(key="ds.nk").set_value(4)
    run_view(at, "neurons", "ds.job.neurons")
    want = class_neurons(sentiment, list(rows.texts), labels, layer=1, k=4, contrast=False)
    shown = frame(at, "neuron")
    assert len(shown) == 8
    for c, label in enumerate(want.classes):
        part = shown[shown["class"] == label]
        assert list(part["neuron"]) == [int(n) for n in want.neurons[c]]
        np.testing.assert_allclose(part["score"], part["mean activation in the class"], atol=0)  # score = class mean
        np.testing.assert_allclose(part["score"], want.mean_activation[c], atol=1e-5)
    exported = [b for b in at.get("download_button") if b.proto.label == "Neurons per class (CSV)"]
    assert exported


def test_neurons_view_in_chinese(sentiment):
    from tests.i18n_scan import untranslated

    from explain.i18n import language

    with language("zh"):  # AppTest formats widget options (format_func=_) in this thread: in the page's language
        at = finish(open_dataset(lang="zh"))
        run_view(at, "neurons", "ds.job.neurons")
    assert at.subheader and "一个神经元在各行上的表现" in [s.value for s in at.subheader]
    rows = read_rows(HELDOUT)
    tokens = [t for text in rows.texts for t in sentiment.tokenizer.tokenize(text)]
    allow = [*rows.texts, *(w for t in rows.texts for w in t.split()), *tokens, *builtin_models(), *sentiment.labels,
             "heldout.jsonl"]
    found = untranslated(at, allow)
    assert not found, found


def test_one_class_upload_is_scored_by_its_mean_and_says_so(sentiment):
    import io

    import pandas as pd

    from tests.test_dataset_app import upload

    reviews = [json.loads(line) for line in HELDOUT.read_text().splitlines()]
    fresh = [r["text"] for r in reviews if r["label"] == "fresh"][:10]
    out = io.StringIO()
    pd.DataFrame({"text": fresh, "label": ["fresh"] * len(fresh)}).to_csv(out, index=False)
    at = finish(upload(open_dataset(), "fresh.csv", out.getvalue().encode()))
    run_view(at, "neurons", "ds.job.neurons")
    assert any("hold one class" in c.value for c in at.caption)
    want = class_neurons(sentiment, fresh, ["fresh"] * len(fresh), layer=sentiment.num_layers - 1, k=10)
    shown = frame(at, "neuron")
    assert list(shown["neuron"]) == [int(n) for n in want.neurons[0]] and not want.contrast
    np.testing.assert_allclose(shown["score"], want.mean_activation[0], atol=1e-5)
