"""Every page in Chinese (?lang=zh): no English left on screen but model names, tokens and the model's outputs.

Each test opens a page with AppTest in Chinese, walks its views, and asks tests/i18n_scan.py for every
visible text (titles, labels, options, help, captions, markdown, alerts, metrics, table headers,
chart titles and axes, HTML) that still holds English. On failure the message lists each text and its
English words: mark the string with _() / N_() where it is shown, then `make translations`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bert_lens.views import page_names
from explain import load_model, run_model
from explain.i18n import get_language, language
from explain.models.catalog import NER_MODEL, SPLADE_MODEL, builtin_models
from tests import test_bad_inputs as bad
from tests.helpers import open_app, set_text
from tests.i18n_scan import ALLOWED, ALLOWED_PHRASES, english_words, untranslated

pytestmark = pytest.mark.app  # AppTest: the Streamlit app runs

TEXT = "The quick brown fox jumps over the lazy dog because it was bored."
PAIR = "Then it slept."
MASKED = "The cat sat on the [MASK] because it was [MASK]."
SENTIMENT = "MiniLM + movie-review sentiment head (rotten/fresh)"
PII = "Please call Maria Garcia in London."
# Class names of the shipped heads (rotten/fresh, noun.animal...): model outputs, named in model names too.
SHIPPED_LABELS = [label for card in Path(__file__).resolve().parents[1].glob("assets/heads/*/card.json")
                  for label in json.loads(card.read_text()).get("labels", [])]


def _allowed(at, *texts: str, models: tuple[str, ...] = ()) -> list[str]:
    """What may stay English: the input texts, their tokens, the built-in model names, the models' labels."""
    bundle = load_model(at.session_state["choice"].spec) if "choice" in at.session_state else None
    allow = [*texts, *(w for t in texts for w in t.split()), *builtin_models(), *SHIPPED_LABELS]
    for spec in {*(models or ()), *([bundle.name] if bundle else [])}:
        b = load_model(spec)
        allow += [*b.labels, *(tok for t in texts for tok in b.tokenizer.tokenize(t))]
    return allow


def _check(at, where: str, allow: list[str], found: list) -> None:
    assert not at.exception, f"{where}: {at.exception}"
    found += [(where, kind, text, words) for kind, text, words in untranslated(at, allow)]


def _report(found: list) -> str:
    return f"{len(found)} text(s) with English left in Chinese mode:\n" + "\n".join(
        f"  [{where}] {kind}: {text[:160]!r} -> {words[:6]}" for where, kind, text, words in found)


def _walk(page: str, key: str | None, views: list[str], text: str = TEXT, pair: str = PAIR, models=(), **query):
    at = open_app(page, text, pair, lang="zh", **query)
    allow = _allowed(at, text, pair, models=models)
    found: list = []
    _check(at, page, allow, found)
    for view in views:
        at.session_state[key] = view
        at.run()
        _check(at, f"{page}: {view}", allow, found)
    return at, found


def test_tokens_page_in_chinese():
    _at, found = _walk(None, None, [])
    assert not found, _report(found)


def test_tokens_page_with_the_ner_model_in_chinese():
    _at, found = _walk(None, None, [], text=PII, pair="", model=NER_MODEL, models=(NER_MODEL,))
    assert not found, _report(found)


def test_embeddings_page_in_chinese():
    _at, found = _walk("embeddings", "emb.view",
                       ["Learned vs sinusoidal positions", "Segments", "Similarity across layers"])
    assert not found, _report(found)


def test_attention_page_in_chinese():
    _at, found = _walk("attention", "attn.view", ["All heads", "Head statistics", "Rollout & flow", "bertviz", "The math"])
    assert not found, _report(found)


def test_masked_page_in_chinese():
    from explain.mlm import fill_mask

    bundle = load_model(SPLADE_MODEL)
    predicted = [str(t) for row in fill_mask(bundle, run_model(bundle, MASKED, None), top_k=10).top_tokens for t in row]
    at = open_app("masked", MASKED, "", lang="zh", model=SPLADE_MODEL)
    allow = _allowed(at, MASKED) + predicted
    found: list = []
    _check(at, "masked", allow, found)
    for view in ["layers", "surprisal"]:
        at.session_state["mlm.view"] = view
        at.run()
        _check(at, f"masked: {view}", allow, found)
    set_text(at, "Nothing is masked here.")  # the guidance shown before a [MASK] is typed
    at.session_state["mlm.view"] = "fill"
    at.run()
    _check(at, "masked: no [MASK] yet", _allowed(at, "Nothing is masked here."), found)
    assert not found, _report(found)


def test_attributions_page_in_chinese():
    _at, found = _walk("attributions", "attr.view", ["Compare methods", "Faithfulness", "Inside the model"],
                       model=SENTIMENT, models=(SENTIMENT,))
    assert not found, _report(found)


def test_attributions_page_without_a_classifier_in_chinese():
    """The default encoder has no head: the page says so and offers models, in Chinese."""
    at, found = _walk("attributions", None, [])
    assert at.info and any("分类头" in i.value for i in at.info), [i.value for i in at.info]
    assert not found, _report(found)


def test_train_page_in_chinese(tmp_path, monkeypatch):
    monkeypatch.setenv("BERT_LENS_CACHE", str(tmp_path))
    at, found = _walk("train", None, [])
    at.radio(key="train.source").set_value("Use the sample (300 movie-review snippets)").run()
    at.radio(key="train.mode").set_value("probe").run()
    _check(at, "train: sample", _allowed(at, TEXT, PAIR), found)
    at.button(key="train.start").click().run()
    job = at.session_state["train.job"]
    job.thread.join(timeout=300)  # the queue starts it at once: no other job is training
    at.run()
    assert job.error is None, job.error
    _check(at, "train: trained", _allowed(at, TEXT, PAIR), found)
    at.button(key="train.save").click().run()
    at.button(key="train.explain").click().run()  # the new head on the Attributions page, with its card's notes
    _check(at, "train: the new head explained", _allowed(at, TEXT, PAIR), found)
    assert any("线性探针" in c.value for c in at.caption), [c.value for c in at.caption]
    assert not found, _report(found)


def test_compare_page_in_chinese():
    _at, found = _walk("compare", "cmp.view", ["Layers", "Predictions and attributions"], model=SENTIMENT,
                       model_b="MiniLM + WordNet category head (what a definition describes)", models=(SENTIMENT,))
    assert not found, _report(found)


def test_compare_data_set_mode_in_chinese(tmp_path, tokenizer):
    from tests.test_compare_app import tiny_checkpoint

    a, b = tiny_checkpoint(tmp_path / "a", tokenizer, 0), tiny_checkpoint(tmp_path / "b", tokenizer, 1)
    at = open_app("compare", TEXT, "", lang="zh", model=a, model_b=b)
    at.session_state["cmp.mode"] = "Data set"
    at.run()
    found: list = []
    allow = _allowed(at, TEXT) + [a, b]
    _check(at, "compare: data set", allow, found)
    at.radio(key="cmp.data_source").set_value(next(o for o in at.radio(key="cmp.data_source").options
                                                   if "WordNet" in o)).run()
    at.button(key="cmp.data_go").click().run()
    (result,) = at.session_state["cmp.results"].values()
    rows = [f"{t[:90]}" for t in result.texts]
    _check(at, "compare: data set run", allow + rows + [w for t in rows for w in t.split()], found)
    assert not found, _report(found)


PAGES = page_names()


@pytest.mark.parametrize("page", PAGES)
def test_every_page_opens_in_chinese(page):
    """Every page file, also one added later (its first view, the default model): a new page's strings show up here."""
    at = open_app(None if page == "tokens" else page, TEXT, PAIR, lang="zh")
    found: list = []
    _check(at, page, _allowed(at, TEXT, PAIR), found)
    assert not found, _report(found)


def test_the_sidebar_switches_language_and_keeps_the_text():
    at = open_app("attention", TEXT, lang="zh")
    assert at.title[0].value == "注意力"
    at.sidebar.selectbox(key="lang").select("en").run()
    assert at.title[0].value == "Attention" and at.session_state["text"] == TEXT
    assert at.query_params["lang"] == ["en"] or at.query_params["lang"] == "en"


def test_one_session_in_chinese_does_not_change_another_in_english():
    """The language is per session: a Chinese run leaves this thread (another session) in English."""
    zh = open_app("attention", TEXT, lang="zh")
    en = open_app("attention", TEXT)
    assert zh.title[0].value == "注意力" and en.title[0].value == "Attention"
    zh.run()
    assert zh.title[0].value == "注意力" and get_language() == "en"



def test_the_scanner_finds_english():
    """The same page in English fails the scan: the checks above can fail."""
    at = open_app("attention", TEXT, PAIR)
    found = untranslated(at, _allowed(at, TEXT, PAIR))
    kinds = {kind for kind, _text, _words in found}
    assert {"title", "plotly_chart", "markdown"} <= kinds or len(found) > 10, found
    assert any(text == "Attention" for _kind, text, _words in found)


# What the user typed, echoed in a message (a hub id, a model type): English on purpose.
BAD_INPUT_WORDS = {
    "Corrupt safetensors file": ["SafetensorError", "Error", "while", "deserializing", "header", "invalid", "length"],
    "CSV missing the label column": ["review", "stars"],
    "CSV with a tiny class": ["rare"],
    "Encoder without classifier on the Attributions page": ["rotten", "fresh"],  # the sentiment head's classes
    "5,000-character target class in the link": ["rotten", "fresh"],
}


# ---- the bad-input catalogue (tests/test_bad_inputs.py), in Chinese ----------------------------------------------

@pytest.mark.parametrize("case", bad.params(bad.CASES))
def test_bad_input_gets_a_chinese_message(case, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(bad, "QUERY", {"lang": "zh"})
    with language("zh"):  # the cases that call the library directly (CSV) run in this thread
        message = case.run()
    if case.expect == r"^$" or message.startswith(("accepted:", "shown as text")):  # no message to translate
        assert re.search(case.expect, message, re.DOTALL), message
        return
    assert "Traceback" not in message
    assert re.search(r"[\u4e00-\u9fff]", message), message
    words = english_words(message, {*ALLOWED, *(w.lower() for w in BAD_INPUT_WORDS.get(case.name, ()))}, ALLOWED_PHRASES)
    assert not words, f"{message!r}: English words {words}"
