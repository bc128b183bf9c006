"""AppTest of the What layers know page on the shipped default model (and the shipped MLM model).

The probe view runs once (module fixture, through its button and the background job; the probes take a
minute or more on 2 cores), and a second session finds the result in the shared cache; its curves are
checked against the library called directly on the same sentences; the neuron view against activations
recomputed from a plain forward pass and the MLM head; a user's CSV (the page's own example) gives the same
report as the library, and a bad CSV one clear message.
"""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from bert_lens.views import page_file
from bert_lens.views.dataset.jobs import RESULTS
from bert_lens.views.layers import compute
from explain import load_model, run_model
from explain.models.catalog import DEFAULT_MODEL, MLM_MODEL
from explain.probing.data import load_shipped, read_label_csv
from explain.probing.export import example_csv
from explain.probing.features import word_features
from explain.probing.probes import probe_layers
from tests.helpers import MAIN, decode_plotly

pytestmark = pytest.mark.app  # AppTest: the Streamlit app runs

TEXT = "The quick brown fox jumps over the lazy dog in Paris."


def open_layers(view: str = "probes", timeout: int = 900, **query) -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=timeout)
    at.query_params.update({"text": TEXT, **query})
    at.run()
    at.session_state["layers.view"] = view
    at.switch_page(page_file("layers")).run()
    assert not at.exception, at.exception
    return at


def texts(at: AppTest) -> str:
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption] + [i.value for i in at.info]
                     + [e.value for e in at.error])


def figure(at: AppTest, index: int = 0) -> dict:
    return json.loads(at.get("plotly_chart")[index].proto.spec)


def finish(at: AppTest) -> AppTest:
    """Let the probe job end (the page polls it in a fragment, which AppTest does not run by itself)."""
    for _round in range(10):
        job = at.session_state["layers.job"] if "layers.job" in at.session_state else None
        if job is not None:
            job.wait(900)
        at.run()
        assert not at.exception, at.exception
        if at.get("plotly_chart"):
            return at
    raise AssertionError("the probes did not finish")


@pytest.fixture(scope="module")
def probes_page() -> AppTest:
    """The page's own probe run on the default model (through its button and the background job)."""
    RESULTS.clear()
    at = open_layers("probes")
    assert not at.get("plotly_chart"), "nothing is probed before the button is pressed"
    at.button(key="layers.probe").click().run()
    return finish(at)


def test_probe_curves_are_the_librarys_on_the_same_sentences(probes_page):
    at = probes_page
    shown = texts(at)
    assert "**silver** labels" in shown and "first word piece" in shown
    assert "centre of gravity" in shown and "Tenney et al.'s order" in shown
    fig = figure(at)
    lines = {t["name"]: np.asarray(decode_plotly(t["y"]), dtype=float) for t in fig["data"] if t.get("name")}
    assert {"parts of speech", "dependency relation", "entity type"} <= set(lines)
    assert {"parts of speech: control task", "parts of speech: majority class"} <= set(lines)
    data = load_shipped().head(compute.DEFAULT_SAMPLE)
    direct = probe_layers(data, word_features(load_model(DEFAULT_MODEL), data.words), "pos")
    # the same computation on the same shapes in the same process: equal up to the figure's float32 encoding
    np.testing.assert_allclose(lines["parts of speech"], direct.accuracy, atol=1e-6)
    np.testing.assert_allclose(lines["parts of speech: control task"], direct.control_accuracy, atol=1e-6)
    diamonds = [t for t in fig["data"] if t.get("marker", {}).get("symbol") == "diamond"]
    assert float(decode_plotly(diamonds[0]["x"])[0]) == pytest.approx(direct.centre_of_gravity, abs=1e-9)
    assert f"best layer **{direct.best_layer}**" in shown


def test_downloads_and_a_second_session_gets_the_shared_result(probes_page):
    labels = {b.label for b in probes_page.get("download_button")}
    assert {"Probe table (CSV)", "Probe report (JSON)"} <= labels
    other = open_layers("probes", timeout=120)  # the result is shared: no button, no job
    assert len(other.get("plotly_chart")) == 1 and "layers.job" not in other.session_state


def test_metric_switch_draws_macro_f1(probes_page):
    at = probes_page
    at.radio(key="layers.metric").set_value("macro_f1").run()
    assert not at.exception
    fig = figure(at)
    assert fig["layout"]["yaxis"]["title"]["text"] == "held-out macro-F1"
    assert not [t for t in fig["data"] if "control task" in (t.get("name") or "")]
    at.radio(key="layers.metric").set_value("accuracy").run()


def test_neuron_view_matches_a_direct_recomputation():
    at = open_layers("neurons", timeout=300)
    bundle = load_model(DEFAULT_MODEL)
    run = run_model(bundle, TEXT)
    heat = figure(at, 0)["data"][0]
    z = np.asarray(decode_plotly(heat["z"]), dtype=float)
    neurons = [int(label.split()[-1]) for label in heat["y"]]
    assert len(neurons) == 8  # "Neurons shown" default
    # layer 3 (the third block) recomputed by a plain call of the model's own modules on its input hidden state
    block = bundle.model.encoder.layer[2]
    with torch.inference_mode():
        h = torch.tensor(np.array(run.hidden_states[2:3]))
        expected = block.intermediate(block.attention(h)[0])[0].numpy()
    np.testing.assert_allclose(z, expected[:, neurons].T, atol=1e-5)
    words = ~np.asarray(run.special)
    assert neurons[0] == int(np.where(words[:, None], expected, -np.inf).max(0).argmax())
    assert "has none" in texts(at)  # the default encoder has no MLM head: what a neuron writes is explained
    nmf = figure(at, 1)
    assert len([t for t in nmf["data"] if t.get("name", "").startswith("factor")]) == 3
    at.slider(key="layers.factors").set_value(5).run()
    assert len([t for t in figure(at, 1)["data"] if t.get("name", "").startswith("factor")]) == 5
    assert "‖A − WH‖ / ‖A‖" in texts(at)


def test_the_mlm_model_shows_what_each_neuron_writes():
    at = open_layers("neurons", timeout=300)
    at.button(key="layers.use_mlm").click().run()
    assert not at.exception and at.session_state["model.choice"] == MLM_MODEL
    frame = at.dataframe[0].value
    column = "writes (top tokens through the MLM head)"
    assert column in frame.columns
    bundle = load_model(MLM_MODEL)
    neuron = int(frame["neuron"].iloc[0])
    W = bundle.model.bert.encoder.layer[2].output.dense.weight[:, neuron]
    with torch.inference_mode():
        logits = bundle.model.cls.predictions(W[None].float())[0]
    top = bundle.tokenizer.convert_ids_to_tokens(torch.topk(logits, 8).indices.tolist())
    assert frame[column].iloc[0].split("  ") == top


def test_own_labels_csv_gives_the_librarys_report_and_a_bad_one_a_message():
    at = open_layers("own", timeout=600)
    raw = example_csv(load_shipped(), "pos", n=40).encode()
    at.file_uploader(key="layers.upload").set_value(("my-labels.csv", raw, "text/csv")).run()
    assert not at.exception, at.exception
    data = read_label_csv(raw)
    direct = probe_layers(data, word_features(load_model(DEFAULT_MODEL), data.words), "labels")
    line = next(t for t in figure(at)["data"] if t.get("name") == "your labels")
    np.testing.assert_allclose(np.asarray(decode_plotly(line["y"]), dtype=float), direct.accuracy, atol=1e-6)
    rows = list(csv.reader(io.StringIO(raw.decode())))
    assert rows[0] == ["text", "labels", "split"] and len(rows) == 1 + 40 + 10
    bad = b"text,labels\nThe cat sat,DET NOUN\n"
    at.file_uploader(key="layers.upload").set_value(("bad.csv", bad, "text/csv")).run()
    assert not at.exception
    assert len(at.error) == 1 and "bad.csv" in at.error[0].value and "2 labels for 3 words" in at.error[0].value


def test_neuron_and_own_label_views_in_chinese():
    from explain import builtin_models
    from tests.helpers import untranslated

    at = open_layers("neurons", timeout=300, lang="zh")
    bundle = load_model(DEFAULT_MODEL)
    allow = [TEXT, *bundle.tokenizer.tokenize(TEXT), *builtin_models(), "rotten", "fresh"]
    assert not untranslated(at, allow)
    at.session_state["layers.view"] = "own"
    at.run()
    assert not at.exception and not untranslated(at, allow)
    at.file_uploader(key="layers.upload").set_value(("bad.csv", b"text\nThe cat\n", "text/csv")).run()
    assert not at.exception and "labels" in at.error[0].value
    assert not untranslated(at, allow + ["bad.csv", "text", "labels"])  # column names stay English
