"""AppTest of the Compare page: what it shows for the shipped head against its base, bad pairs, the data-set mode."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest
from transformers import BertConfig, BertForSequenceClassification

from explain import DEFAULT_MODEL, load_model, run_model
from tests.helpers import MAIN, decode_plotly, open_app, tiny_config

pytestmark = pytest.mark.app  # AppTest: the Streamlit app runs

SENTIMENT = "MiniLM + movie-review sentiment head (rotten/fresh)"
TEXT = "A gripping, wonderful and beautifully shot film, though the ending drags."


def open_link(**query) -> AppTest:
    """The Compare page opened from a shared link (model, text, ... in the URL)."""
    at = AppTest.from_file(MAIN, default_timeout=120)
    for k, v in query.items():
        at.query_params[k] = v
    at.switch_page("views/compare.py").run()
    assert not at.exception, at.exception
    return at


def figures(at) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def test_one_text_heads_view_shows_the_js_grid_and_both_maps():
    at = open_link(model=SENTIMENT, text=TEXT)
    assert at.query_params["model_b"] == DEFAULT_MODEL
    assert "the change sits in layers 4-5" in at.success[0].value
    grid, maps, diff = figures(at)[:3]
    js = decode_plotly(grid["data"][0]["marker"]["color"]).reshape(6, 12)
    assert js[:4].max() == 0.0 and js[4:].min() > 0.0
    run_a, run_b = run_model(load_model(SENTIMENT), TEXT), run_model(load_model(DEFAULT_MODEL), TEXT)
    layer, head = at.session_state["cmp.layer"], at.session_state["cmp.head"]
    assert js[layer, head] == pytest.approx(js.max())  # opens on the head that changed most
    np.testing.assert_allclose(decode_plotly(maps["data"][0]["z"]), run_a.attentions[layer, head], atol=1e-6)
    np.testing.assert_allclose(decode_plotly(maps["data"][1]["z"]), run_b.attentions[layer, head], atol=1e-6)
    assert maps["layout"]["coloraxis"]["cmin"] == 0.0  # one colour scale for A and B
    np.testing.assert_allclose(decode_plotly(diff["data"][0]["z"]),
                               run_a.attentions[layer, head] - run_b.attentions[layer, head], atol=1e-6)
    at.slider(key="cmp.layer").set_value(2).run()
    assert decode_plotly(figures(at)[2]["data"][0]["z"]).max() == 0.0  # layer 2 was not adapted: no difference
    assert at.query_params["layer"] == "2"
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["Heads (CSV)", "Layers (CSV)", "Tokens (CSV)", "Report (HTML)"]


def test_layers_and_predictions_views():
    at = open_app("compare", text=TEXT, model=SENTIMENT)
    at.session_state["cmp.view"] = "Layers"
    at.run()
    assert not at.exception, at.exception
    curves = figures(at)[0]
    cka = decode_plotly(curves["data"][0]["y"])
    np.testing.assert_allclose(cka[:5], 1.0, atol=1e-9)
    assert cka[6] < cka[5] < 1.0
    at.session_state["cmp.view"] = "Predictions and attributions"
    at.run()
    assert [m.value for m in at.metric] == ["fresh", "no classifier"]
    assert "all-MiniLM-L6-v2 (offline default) has none" in at.info[0].value


def test_two_heads_of_one_base_compare_their_attributions():
    wordnet = next(n for n in __import__("explain").builtin_models() if "WordNet" in n)
    at = open_app("compare", text=TEXT, model=SENTIMENT, model_b=wordnet)
    at.session_state["cmp.view"] = "Predictions and attributions"
    at.run()
    at.selectbox(key="cmp.method").select("saliency").run()
    assert not at.exception, at.exception
    rho = next(m for m in at.metric if m.label.startswith("Rank correlation"))
    assert -1.0 <= float(rho.value) <= 1.0
    assert "each explains its own prediction" in " ".join(c.value for c in at.caption)


def test_models_without_a_shared_tokenizer_get_the_reason_and_keep_the_text(tmp_path):
    from tests.test_compare import TEXTS, byte_bpe_folder

    folder = byte_bpe_folder(tmp_path, TEXTS)
    at = open_app("compare", text="Keep this text.", model_b=str(folder))
    assert "A uses a 30,522-token WordPiece vocabulary" in at.error[0].value
    assert at.session_state["text"] == "Keep this text."


def tiny_checkpoint(folder, tokenizer, seed: int) -> str:
    torch.manual_seed(seed)
    config: BertConfig = tiny_config(num_labels=2, id2label={0: "neg", 1: "pos"}, architectures=["BertForSequenceClassification"])
    BertForSequenceClassification(config).save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return str(folder)


def test_data_set_mode_on_a_shipped_sample(tmp_path, tokenizer):
    a = tiny_checkpoint(tmp_path / "a", tokenizer, 0)  # tiny models keep the 297 rows fast
    b = tiny_checkpoint(tmp_path / "b", tokenizer, 1)
    at = open_app("compare", model=a, model_b=b)
    at.session_state["cmp.mode"] = "Data set"
    at.run()
    at.radio(key="cmp.data_source").set_value(next(o for o in at.radio(key="cmp.data_source").options
                                                   if "WordNet" in o)).run()
    at.button(key="cmp.data_go").click().run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Rows"] == "297" and "Same prediction" in metrics
    grid = figures(at)[0]
    js = decode_plotly(grid["data"][0]["marker"]["color"]).reshape(2, 4)
    assert js.min() > 0.0
    assert len(at.button) >= 5  # the rows where the chosen head changed most, each opens in one-text mode
    row = int(at.button[0].key.rsplit(".", 1)[1])
    at.button(key=at.button[0].key).click().run()
    assert at.session_state["cmp.mode"] == "One text" and not at.exception and not at.warning
    (result,) = at.session_state["cmp.results"].values()
    assert at.session_state["text"] == result.texts[row]


def test_models_of_different_shapes_show_the_cka_matrix_instead_of_heads():
    from explain.models.catalog import SPLADE_MODEL

    at = open_link(model=SPLADE_MODEL, model_b=DEFAULT_MODEL, text=TEXT)
    assert "per-head attention" in at.info[0].value and "CKA works across shapes" in at.info[0].value
    assert any("equal numbers of layers and heads" in i.value for i in at.info)
    at.session_state["cmp.view"] = "Layers"
    at.run()
    assert not at.exception, at.exception
    matrix = decode_plotly(figures(at)[0]["data"][0]["z"])
    assert matrix.shape == (3, 7) and 0.0 < matrix.min() and matrix.max() <= 1.0
