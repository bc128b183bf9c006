"""AppTest: every page runs without an exception and shows the right things for good and bad input."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from explain.models.catalog import SPLADE_MODEL, builtin_models_for
from tests.helpers import decode_plotly, open_app, set_text

pytestmark = pytest.mark.app  # AppTest: the Streamlit app runs

MLM_MODEL = builtin_models_for("masked-lm")[0]


def app(page: str | None = None, **query) -> AppTest:
    return open_app(page, **query)


def figure(at: AppTest, n: int = 0) -> dict:
    return json.loads(at.get("plotly_chart")[n].proto.spec)


def test_tokens_page_shows_model_and_tokens():
    at = app()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Layers"] == "6" and metrics["Heads per layer"] == "12"
    set_text(at, "Hello world", "Second")
    assert "6 tokens" in at.subheader[0].value


@pytest.mark.parametrize("text", ["", "   ", "\x00\x01"])
def test_empty_or_unusable_text_gets_a_message(text):
    at = set_text(app(), text)
    assert any("empty" in i.value or "Nothing is left" in i.value for i in at.info)


def test_unknown_model_offline_gets_a_message_and_keeps_the_text(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    at = set_text(app(), "Keep this text.")
    at.sidebar.selectbox(key="model.choice").select("Other: hub id or local folder…").run()
    at.sidebar.text_input(key="model.custom").input("no-such-org/no-such-model").run()
    assert not at.exception
    assert "cannot be reached" in at.error[0].value
    assert at.session_state["text"] == "Keep this text."


def test_embeddings_page_every_view():
    at = app("embeddings")
    assert len(at.get("plotly_chart")) == 1
    for view in ["Learned vs sinusoidal positions", "Segments", "Similarity across layers"]:
        at.session_state["emb.view"] = view
        at.run()
        assert not at.exception, at.exception
        assert at.get("plotly_chart"), view
    at.session_state["emb.view"] = "Learned vs sinusoidal positions"
    at.run()
    assert any("WRONG" in l.value for l in at.latex)


def test_masked_page_shows_the_mlm_model_at_once_then_goes_back():
    at = app("masked")
    note = at.info[0].value
    assert "has no masked-language-model head, so this page shows" in note
    assert MLM_MODEL in note
    assert any("There is no [MASK] yet" in i.value for i in at.info)  # the MLM model's page, at once
    set_text(at, "She poured a cup of [MASK] and sat down.")
    labels = [t.replace("\u200b", "") for t in figure(at)["data"][0]["y"]]
    assert "coffee" in labels[:3]
    at.button(key="mlm.back").click().run()  # the way back: the sidebar's own model and the usual prompt
    assert not at.exception
    assert any("Choose a model that has one" in i.value for i in at.info)
    assert not at.get("plotly_chart")
    at.button(key="mlm.default").click().run()
    assert MLM_MODEL in at.info[0].value and at.get("plotly_chart")


def test_masked_page_guides_then_predicts():
    at = app("masked")
    at.button(key="mlm.back").click().run()
    at.button(key=f"use.{SPLADE_MODEL}").click().run()
    assert not at.exception
    assert any("There is no [MASK] yet" in i.value for i in at.info)
    set_text(at, "The capital of France is [MASK].")
    fig = figure(at)
    labels = [t.replace("\u200b", "") for t in fig["data"][0]["y"]]
    assert labels[0] == "city"
    probs = decode_plotly(fig["data"][0]["x"])
    assert probs[0] == pytest.approx(0.087, abs=0.01)


def test_masked_page_masks_a_chosen_token():
    at = app("masked", model=SPLADE_MODEL, text="The capital of France is Paris.")
    at.multiselect(key="mlm.mask").select(6).run()
    assert not at.exception
    assert "was 'paris'" in figure(at)["layout"]["title"]["text"]


def test_attention_page_every_view():
    at = app("attention")
    fig = figure(at)
    z = decode_plotly(fig["data"][0]["z"])
    np.testing.assert_allclose(z.sum(1), 1.0, atol=1e-3)  # rows of one head sum to 1
    for view in ["All heads", "Head statistics", "Rollout & flow", "bertviz", "The math"]:
        at.session_state["attn.view"] = view
        at.run()
        assert not at.exception, (view, at.exception)
    assert any("match the model's own attention" in s.value for s in at.success)


def test_attention_offline_html_has_no_network_references():
    at = app("attention")
    for view in ["All heads", "bertviz"]:
        at.session_state["attn.view"] = view
        at.run()
        html = at.get("iframe")[0].proto.srcdoc
        assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", html), view
        assert not re.search(r"cdnjs|jsdelivr|unpkg|googleapis", html), view
        assert len(html) > 10_000


def test_attention_layer_and_head_from_link_are_clamped():
    at = app("attention", layer="99", head="-3")
    assert at.session_state["attn.layer"] == 5 and at.session_state["attn.head"] == 0
    assert "Layer 5, head 0" in figure(at)["layout"]["title"]["text"]


def test_attention_flow_for_short_text_is_computed_at_once():
    at = app("attention")
    at.session_state["attn.view"] = "Rollout & flow"
    at.run()
    titles = [figure(at, i)["layout"]["title"]["text"] for i in range(len(at.get("plotly_chart")))]
    assert any("Rollout" in t for t in titles) and any("flow" in t for t in titles)


SENTIMENT = "MiniLM + movie-review sentiment head (rotten/fresh)"


def test_attributions_page_shows_the_sentiment_head_at_once_then_goes_back():
    at = app("attributions")
    note = at.info[0].value
    assert "has no classification head, so this page shows" in note and SENTIMENT in note
    assert at.metric[0].value in ("fresh", "rotten") and at.get("html")  # explained at once
    at.button(key="attr.back").click().run()
    assert any("Choose a model that has one" in i.value for i in at.info)
    assert not at.metric
    at.button(key=f"use.{SENTIMENT}").click().run()
    assert not at.exception and at.metric[0].value in ("fresh", "rotten")


def test_attributions_page_needs_a_classifier_then_explains():
    at = app("attributions")
    set_text(at, "A gripping, wonderful and beautifully shot film.")
    assert at.metric[0].value == "fresh"
    assert any("Completeness" in i.value for i in at.info)  # IG by default, with its delta
    html = at.get("html")[0].proto.body
    assert "wonderful" in html
    for view in ["Compare methods", "Faithfulness", "Inside the model"]:
        at.session_state["attr.view"] = view
        at.run()
        assert not at.exception, (view, at.exception)
        assert at.get("plotly_chart"), view


def test_attributions_escape_user_text():
    at = app("attributions", model=SENTIMENT, text="<script>alert(1)</script> <b>bold</b> fine film")
    html = at.get("html")[0].proto.body
    assert "<script>" not in html and "&lt;" in html


def test_train_page_trains_saves_and_explains(tmp_path, monkeypatch):

    monkeypatch.setenv("BERT_LENS_CACHE", str(tmp_path))
    at = app("train")
    assert any("Upload a CSV" in i.value for i in at.info)
    # AppTest cannot upload files (the browser test does); the sample drives the same code path.
    at.radio(key="train.source").set_value("Use the sample (300 movie-review snippets)").run()
    assert "300 examples in 2 classes" in at.caption[0].value
    at.radio(key="train.mode").set_value("probe").run()
    at.text_input(key="train.name").input("AppTest probe").run()
    at.button(key="train.start").click().run()
    job = at.session_state["train.job"]
    job.thread.join(timeout=300)  # the queue starts it at once: no other job is training
    at.run()
    assert not at.exception and job.error is None
    assert at.metric[0].label == "Held-out accuracy"
    at.button(key="train.save").click().run()
    assert (tmp_path / "heads" / "apptest-probe" / "card.json").exists()
    at.button(key="train.explain").click().run()
    assert not at.exception
    assert at.session_state["model.choice"] == "AppTest probe"
