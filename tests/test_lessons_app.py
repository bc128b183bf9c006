"""AppTest of the Lessons page: all ten steps on the live model, Previous/Next, links that restore a
step, the model switches of steps 6-9, NSP with the shipped head in step 6, the probe curves of step 10 (in
English and Chinese), the Chinese example, and presenter mode."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from bert_lens.fallback import SENTIMENT_MODEL
from bert_lens.views import page_file
from bert_lens.views.lessons.state import CHINESE, EXAMPLES, NUM_STEPS
from explain import load_model, run_model
from explain.mlm import next_sentence_probability
from explain.mlm_pretraining import draw_masking
from explain.models.catalog import NER_MODEL, NSP_MODEL, builtin_models_for
from tests.helpers import MAIN, open_app, set_text

pytestmark = pytest.mark.app  # AppTest: the Streamlit app runs

MLM_MODEL = builtin_models_for("masked-lm")[0]


def lesson(**query) -> AppTest:
    return open_app("lessons", **query)


def texts(at: AppTest) -> str:
    """Every markdown, caption and info text of the page, joined."""
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [i.value for i in at.info]
    return "\n".join(parts)


def heading(at: AppTest) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("#### Step"))


# what each step must show on the live numbers (a recomputation checked, or the step's own result)
EXPECTED = {
    1: ("T = 16 tokens", "[CLS]"),
    2: ("rank **1**", "the position vanishes"),
    3: ("max |difference|", "✓"),
    4: ("(after LayerNorm) ✓", "**W^O**"),
    5: ("Strongest link from 'it'", "layer"),
    6: ("tokens chosen (seed 0)", MLM_MODEL),
    7: ("Recomputed vs the model's logits", "✓"),
    8: ("Completeness: the scores add up to", SENTIMENT_MODEL),
    9: ("Rank agreement with |IG| (Spearman ρ)", "Largest disagreement"),
    10: ("A **linear probe**", "Tenney et al. (2019)"),  # the curves come after the Probe button (test below)
}


def test_walk_all_steps_with_next_and_back():
    at = lesson()
    for step in range(1, NUM_STEPS + 1):
        assert not at.exception, (step, at.exception)
        assert heading(at).startswith(f"#### Step {step} of {NUM_STEPS}")
        assert at.query_params["step"] in (str(step), [str(step)])
        shown = texts(at)
        for needle in EXPECTED[step]:
            assert needle in shown, (step, needle)
        assert any("Question for the class" in m.value for m in at.markdown)
        assert at.button(key="lesson.prev").disabled == (step == 1)
        if step < NUM_STEPS:
            at.button(key="lesson.next").click().run()
    assert at.button(key="lesson.next").disabled
    at.button(key="lesson.prev").click().run()
    assert heading(at).startswith(f"#### Step {NUM_STEPS - 1}")


def test_multihead_and_head_errors_are_tiny():
    at = lesson(step="4", layer="3")
    line = next(m.value for m in at.markdown if "Recomputed from the weights" in m.value)
    errors = [float(x) for x in line.replace("*", "").split("|difference| ")[1].replace("(output), ", "").split(" (after")[0].split()]
    assert errors[0] < 1e-5
    assert "Layer 3:" in json.loads(at.get("plotly_chart")[1].proto.spec)["layout"]["title"]["text"]


def test_link_restores_step_model_text_layer_and_head():
    at = lesson(step="3", layer="4", head="7", text="The cat sat on the mat because it was warm.")
    assert heading(at).startswith("#### Step 3")
    assert at.session_state["lesson.layer"] == 4 and at.session_state["lesson.head"] == 7
    assert at.slider(key="lesson.layer").value == 4 and at.slider(key="lesson.head").value == 7
    title = json.loads(at.get("plotly_chart")[1].proto.spec)["layout"]["title"]["text"]
    assert "Layer 4, head 7" in title
    link = next(m.value for m in at.markdown if "Link to this step" in m.value)
    for part in ("step=3", "layer=4", "head=7", "text=The+cat+sat", "model=all-MiniLM"):
        assert part in link, part
    # a fresh session opened from that link's parameters lands on the same place
    again = lesson(step="3", layer="4", head="7", text="The cat sat on the mat because it was warm.")
    assert heading(again) == heading(at)


def test_out_of_range_link_is_clamped():
    at = lesson(step="42", layer="99", head="-1")
    assert at.session_state["lesson.step"] == NUM_STEPS
    assert at.session_state["lesson.layer"] == 5 and at.session_state["lesson.head"] == 0


def test_step_5_opens_the_strongest_head_in_step_3():
    at = lesson(step="5")
    at.button(key="lesson.open_link").click().run()
    assert heading(at).startswith("#### Step 3")
    assert any(m.value.startswith("Largest:") and "✓" in m.value for m in at.markdown)


def test_steps_6_to_9_switch_models_with_a_note_and_use_the_sidebar_model_when_it_fits():
    at = lesson(step="6")
    assert any(MLM_MODEL in c.value and "has no" in c.value for c in at.caption)
    at.button(key="lesson.redraw").click().run()
    assert "seed 1" in texts(at)
    bundle = load_model(MLM_MODEL)  # the table is the library's draw with the new seed
    draw = draw_masking(bundle, run_model(bundle, at.session_state["text"]), seed=1)
    assert [int(p) for p in at.table[0].value.iloc[:, 0]] == draw.positions.tolist()
    assert list(at.table[0].value.iloc[:, 1]) == [draw.tokens[p] for p in draw.positions]
    own = lesson(step="8", model=SENTIMENT_MODEL)
    assert not any("has no" in c.value for c in own.caption)  # the sidebar's classifier is used as it is


def test_step_7_sentence_head_numbers_and_ner_per_token():
    at = lesson(step="7", text="A gorgeous, witty, seductive movie.")
    table = at.table[0].value
    recomputed = [float(v) for v in table.iloc[:, 1]]
    model = [float(v) for v in table.iloc[:, 2]]
    assert recomputed == pytest.approx(model, abs=1e-3)
    assert "Prediction: fresh" in json.loads(at.get("plotly_chart")[1].proto.spec)["layout"]["title"]["text"]
    at.radio(key="lesson.head_kind").set_value("token-classification").run()
    set_text(at, "Please call Maria Garcia in London.")
    assert not at.exception
    assert any(NER_MODEL in c.value for c in at.caption)
    labels = dict(zip(at.table[0].value.iloc[:, 0], at.table[0].value.iloc[:, 1]))
    assert "CITY" in labels["london"]


def test_chinese_example_is_split_into_characters():
    at = lesson()
    index = next(i for i, ex in enumerate(EXAMPLES) if ex[1] == CHINESE)
    at.selectbox(key="lesson.example").set_value(index).run()
    assert at.session_state["text"] == CHINESE
    assert "bert-base-chinese" in texts(at) and "[UNK]" in texts(at)
    assert "北" in at.get("html")[0].proto.body


def test_sentence_pair_example_shows_segments():
    at = lesson()
    at.button(key="lesson.pair_example").click().run()
    assert at.session_state["pair"] == EXAMPLES[1][2]
    assert "segments: 0, 1" in texts(at)


def test_presenter_mode_from_the_link():
    at = lesson(step="2", present="1")
    assert at.session_state["present"] is True
    assert at.sidebar.toggle(key="present").value is True
    assert any("font-size: 18px" in h.proto.body for h in at.get("html"))
    layout = json.loads(at.get("plotly_chart")[1].proto.spec)["layout"]
    assert layout["font"]["size"] == 19 and layout["colorway"][:2] == ["#0072B2", "#E69F00"]
    at.sidebar.toggle(key="present").set_value(False).run()
    layout = json.loads(at.get("plotly_chart")[1].proto.spec)["layout"]
    assert layout["font"]["size"] == 15 and "present" not in at.query_params


def test_presenter_heatmaps_use_cividis():
    at = lesson(step="3", present="1")
    trace = json.loads(at.get("plotly_chart")[1].proto.spec)["data"][0]
    assert trace["type"] == "heatmap"
    assert trace["colorscale"][0][1].lower() in ("#00224e", "rgb(0,34,78)", "rgb(0, 34, 78)")  # cividis starts dark blue


@pytest.mark.parametrize("page", ["tokens", "embeddings", "attention", "masked", "attributions"])
def test_presenter_mode_on_every_page(page):
    at = open_app(page, text="The cat sat on the [MASK]." if page == "masked" else None, present="1")
    assert not at.exception
    assert at.session_state["present"] is True
    charts = at.get("plotly_chart")
    if page != "tokens":
        assert charts and json.loads(charts[-1].proto.spec)["layout"]["font"]["size"] == 19


def test_step_6_nsp_uses_the_shipped_head_on_a_true_and_a_random_pair():
    at = lesson(step="6")
    at.radio(key="lesson.pretrain").set_value("nsp").run()
    assert "NSP needs a sentence pair" in texts(at)
    nsp = load_model(NSP_MODEL)
    shown = {}
    for button in ("lesson.nsp_true", "lesson.nsp_random"):
        at.button(key=button).click().run()
        assert not at.exception, at.exception
        assert any(NSP_MODEL in c.value and "has no" in c.value for c in at.caption)
        line = next(m.value for m in at.markdown if "P(B follows A)" in m.value)
        p = next_sentence_probability(run_model(nsp, at.session_state["text"], at.session_state["pair"]))
        assert f"{p:.1%}" in line
        shown[button] = p
        assert "segment" in json.loads(at.get("plotly_chart")[-1].proto.spec)["layout"]["title"]["text"]
    assert shown["lesson.nsp_true"] > 0.5 > shown["lesson.nsp_random"]


def finish_probes(at: AppTest) -> AppTest:
    """Let the probe job end (the page polls it in a fragment, which AppTest does not run by itself)."""
    for _round in range(10):
        job = at.session_state["layers.job"] if "layers.job" in at.session_state else None
        if job is not None:
            job.wait(900)
        at.run()
        assert not at.exception, at.exception
        if any("Centre of gravity" in m.value or "重心" in m.value for m in at.markdown):
            return at
    raise AssertionError("the probes did not finish")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_step_10_draws_the_probe_curves_of_the_live_model(lang):
    from tests.helpers import untranslated

    at = AppTest.from_file(MAIN, default_timeout=900)
    at.query_params.update({"step": "10", "lang": lang, "present": "1"})
    at.run()
    at.switch_page(page_file("lessons")).run()
    if not any("Centre of gravity" in m.value or "重心" in m.value for m in at.markdown):
        at.button(key="lesson.probe").click().run()
        finish_probes(at)
    fig = json.loads(at.get("plotly_chart")[-1].proto.spec)
    names = [t.get("name") for t in fig["data"] if t.get("mode") == "lines+markers"]
    assert len(names) == 3
    assert fig["layout"]["font"]["size"] == 19  # presenter mode's fonts on the library's figure
    if lang == "zh":
        assert names == ["词性", "依存关系", "实体类型"]
        from explain import builtin_models

        text = at.session_state["text"]  # the model names (the sidebar's list) and the sentence stay English
        allow = [text, *load_model(at.session_state["choice"].spec).tokenizer.tokenize(text), *builtin_models(),
                 "rotten", "fresh"]
        assert not untranslated(at, allow)
