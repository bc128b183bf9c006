"""Every page of the app, through AppTest, with a tiny checkpoint folder of every claimed family as the model.

The folder goes in through the link (`?model=/path/to/folder`), as a user shares it; each test visits every
page and every view of it, and fails on any exception or error message.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from bert_lens.views import page_file
from tests.families import FAMILY_HEADS
from tests.helpers import decode_plotly, open_app, set_text

pytestmark = [pytest.mark.app, pytest.mark.filterwarnings("ignore:Setting forward, backward hooks:UserWarning")]

TEXT = "The animal was too tired to cross the street."  # short: the pages' work, flow included, stays small
PAIR = "It slept."
ALL = [f"{f}-{h}" for f, heads in FAMILY_HEADS.items() for h in heads]
ATTENTION_VIEWS = ["One head", "All heads", "Head statistics", "Rollout & flow", "bertviz", "The math"]
EMBEDDING_VIEWS = ["This sentence", "Learned vs sinusoidal positions", "Segments", "Similarity across layers"]
ATTRIBUTION_VIEWS = ["Compare methods", "Faithfulness", "Inside the model"]


def ok(at: AppTest, where: str) -> AppTest:
    assert not at.exception, (where, at.exception)
    assert not at.error, (where, [e.value for e in at.error])
    return at


def go(at: AppTest, page: str) -> AppTest:
    at.switch_page(page_file(page)).run()
    return ok(at, page)


def charts(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


@pytest.mark.parametrize("ck_id", ALL)
def test_every_page_with_the_folder_as_model(family_checkpoints, ck_id):
    ck = family_checkpoints[ck_id]
    at = ok(open_app(model=str(ck.folder)), "tokens")
    assert at.session_state["model.custom"] == str(ck.folder)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Layers"] == "2" and metrics["Heads per layer"] == "4"
    if ck_id == "electra-pretraining":  # shown as an encoder, and the page says why
        assert metrics["Task head"] == "encoder only" and any("ELECTRA discriminator" in c.value for c in at.caption)
    set_text(at, TEXT, PAIR)
    ok(at, "tokens with a pair")

    go(at, "embeddings")
    for view in EMBEDDING_VIEWS:
        at.session_state["emb.view"] = view
        ok(at.run(), view)
        if view == "Segments" and ck.family == "distilbert":
            assert any("no segment" in i.value for i in at.info)
        else:
            assert at.get("plotly_chart"), view

    go(at, "attention")
    one_head = charts(at)[0]
    z = decode_plotly(one_head["data"][0]["z"])
    np.testing.assert_allclose(z.sum(1), 1.0, atol=1e-3)
    for view in ATTENTION_VIEWS[1:]:
        at.session_state["attn.view"] = view
        ok(at.run(), view)
        assert at.get("plotly_chart") or at.get("iframe"), view
    assert any("match the model's own attention" in s.value for s in at.success)

    go(at, "masked")
    bundle_has_mlm = ck.head == "mlm" or ck_id == "bert-pretraining"
    if not bundle_has_mlm:
        assert any("no masked-language-model head" in i.value for i in at.info)
    else:
        mask = "<mask>" if ck.family in ("roberta", "xlm-roberta", "camembert") else "[MASK]"
        set_text(at, f"The capital of France is {mask}.", PAIR)
        fills = [c for c in charts(at) if "at position" in c["layout"].get("title", {}).get("text", "")]
        assert len(fills) == 1
        probs = decode_plotly(fills[0]["data"][0]["x"])
        assert np.all(np.diff(probs) <= 0) and 0 < probs[0] <= 1

    go(at, "attributions")
    if not ck.classifies:
        assert any("no classification head" in i.value for i in at.info)
    else:
        set_text(at, TEXT, PAIR)
        assert at.metric[0].label == "Prediction"
        methods = at.selectbox(key="attr.method").options
        assert len(methods) == 7
        # every method on sequence heads; token heads (same page code, one token explained) the cheap two and LIME
        for method in methods if ck.head == "seq" else ["Saliency", "Occlusion", "LIME"]:
            at.selectbox(key="attr.method").select(method)
            ok(at.run(), method)
            assert at.get("plotly_chart"), method
        at.toggle(key="attr.by_word").set_value(True)  # pieces merged into words (## or Ġ markers)
        at.radio(key="attr.features").set_value("word")  # LIME, the last method, on words
        ok(at.run(), "by word")
        bars = [c for c in charts(at) if c["data"] and c["data"][0].get("name") == "LIME"]
        words = [w.replace("\u200b", "") for w in bars[0]["data"][0]["x"]]
        assert "animal" in words and "street" in words, words
        for view in ATTRIBUTION_VIEWS:
            at.session_state["attr.view"] = view
            ok(at.run(), view)
            assert at.get("plotly_chart"), view

    go(at, "train")
    go(at, "tokens")
    assert at.session_state["model.custom"] == str(ck.folder)  # the folder stays the model across pages
