"""Property-based tests (Hypothesis): any text or pair, from empty to over-long, with masks anywhere.

Whatever a user types, `run_model`, the masked-token functions and the app's guards either work or raise a
BertLensError whose message says what to do: any other exception is a bug. Where they work, attention rows
sum to 1, the embedding parts add up to the model's own embedding output, and Integrated Gradients on the
shipped sentiment head is complete. The settings profile ("ci" unless HYPOTHESIS_PROFILE says otherwise)
is registered in tests/conftest.py.
"""

from __future__ import annotations

import os
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bert_lens.common import MAX_INPUT_CHARS
from bert_lens.views import page_file
from explain import BertLensError, run_model
from explain.attention.maps import head_map, rollout
from explain.attribution.methods import attribute
from explain.mlm import fill_mask, layer_lens, mask_positions, next_sentence_probability, pseudo_log_likelihood
from explain.run import MAX_TEXT_CHARS
from tests.families import embedding_output_from_parts
from tests.helpers import open_app

pytestmark = pytest.mark.filterwarnings("ignore:Setting forward, backward hooks:UserWarning")
FIXTURES = [HealthCheck.function_scoped_fixture]  # only session-scoped fixtures are used inside examples
FEW = max(5, settings.default.max_examples // 3)  # examples for the tests that run a real model or the app

# ---- what users type ---------------------------------------------------------------------------

SPECIALS = ["[MASK]", "[CLS]", "[SEP]", "[PAD]", "[UNK]", "<s>", "</s>", "<pad>", "<mask>", "<unk>",
            "[mask]", "[MASK", "MASK]", "##", "Ġ", "▁"]
ODD = ["\x00", "\x1b[31m", "\u200b", "\ufeff", "\u202e", "🙂", "👩‍👩‍👧", "中文字符", "שלום", "مرحبا", "e\u0301",
       "\r\n", "\t", " " * 40, "<script>alert(1)</script>", "&amp;", "\U0001d54f", "ﷺ", "Ⅻ", "ß"]
WORDS = ["the", "film", "was", "good", "bad", "not", "wonderful", "boring", "capital", "Paris", "it", "."]

fragment = st.one_of(st.text(max_size=30), st.sampled_from(SPECIALS + ODD + WORDS))
short_text = st.one_of(
    st.lists(fragment, max_size=12).map("".join),  # masks glued to words: "a[MASK]b"
    st.lists(fragment, max_size=12).map(" ".join),
)
long_text = st.builds(lambda piece, n: piece * n, st.text(min_size=1, max_size=12), st.integers(20, 6000))
any_text = st.one_of(short_text, short_text, long_text)  # empty to over-long (60k characters at most)
pair = st.one_of(st.none(), st.just(""), short_text, long_text)

RUN_MODELS = ["bert-mlm", "roberta-mlm", "distilbert-seq", "electra-tok", "xlm-roberta-tok"]
MLM_MODELS = ["bert-pretraining", "roberta-mlm", "distilbert-mlm", "electra-mlm", "camembert-mlm"]


def outcome(fn, *args, **kwargs):
    """fn's result, or None when it refused with a BertLensError that has a message; anything else propagates."""
    try:
        return fn(*args, **kwargs)
    except BertLensError as err:
        assert str(err).strip(), f"{type(err).__name__} without a message"
        return None


def with_masks(bundle, text: str) -> str:
    return text.replace("[MASK]", bundle.mask_token)


# ---- the library -------------------------------------------------------------------------------


@pytest.mark.slow
@settings(suppress_health_check=FIXTURES)
@given(ck_id=st.sampled_from(RUN_MODELS), text=any_text, text_pair=pair)
def test_run_model_works_or_says_why(family_bundle, ck_id, text, text_pair):
    bundle = family_bundle(ck_id)
    run = outcome(run_model, bundle, text, text_pair)
    if run is None:
        return
    T = run.num_tokens
    assert 1 < T <= bundle.max_tokens and len(run.tokens) == T
    assert run.truncated_from is None or run.truncated_from > T
    assert np.all(np.isfinite(run.attentions)) and np.all(np.isfinite(run.hidden_states))
    np.testing.assert_allclose(run.attentions.sum(-1), 1.0, atol=1e-5)
    assert run.position_ids.max() < bundle.config.max_position_embeddings
    # the three parts add up to the model's own embedding output, whatever tokens were typed
    np.testing.assert_allclose(embedding_output_from_parts(bundle, run), run.hidden_states[0], atol=1e-4)
    if run.head_logits is not None:
        assert np.all(np.isfinite(run.head_logits))


@settings(suppress_health_check=FIXTURES)
@given(
    ck_id=st.sampled_from(MLM_MODELS),
    text=any_text,
    text_pair=pair,
    chosen=st.lists(st.integers(-3, 70), max_size=4),
    position=st.integers(-3, 70),
    top_k=st.one_of(st.integers(1, 20), st.integers(-3, 0), st.integers(10**6, 10**7)),
)
@pytest.mark.slow
def test_masked_token_functions_work_or_say_why(family_bundle, ck_id, text, text_pair, chosen, position, top_k):
    bundle = family_bundle(ck_id)
    text, text_pair = with_masks(bundle, text), text_pair and with_masks(bundle, text_pair)
    run = outcome(run_model, bundle, text, text_pair, mask_positions=tuple(chosen))
    if run is not None:
        np.testing.assert_allclose(run.attentions.sum(-1), 1.0, atol=1e-5)
        masks = mask_positions(bundle, run)
        assert set(run.masked) <= set(masks.tolist())
        fm = outcome(fill_mask, bundle, run, top_k=top_k)
        if fm is not None:
            assert list(fm.positions) == masks.tolist() and fm.top_probs.shape[1] == top_k
            assert np.all(np.diff(fm.top_probs, axis=1) <= 0) and np.all((fm.top_probs >= 0) & (fm.top_probs <= 1))
        lens = outcome(layer_lens, bundle, run, position, top_k=top_k)
        if lens is not None:
            assert lens.top_probs.shape[0] == run.num_layers + 1 and np.all(lens.top_probs <= 1)
        p = next_sentence_probability(run)
        assert p is None or 0 <= p <= 1
    pll = outcome(pseudo_log_likelihood, bundle, text, text_pair)
    if pll is not None:
        assert len(pll.log_probs) >= 1 and np.all(pll.log_probs <= 0) and np.all(np.isfinite(pll.log_probs))
        assert pll.pseudo_perplexity >= 1


@pytest.mark.slow
@settings(max_examples=FEW, suppress_health_check=FIXTURES)
@given(text=any_text, text_pair=pair)
def test_default_model_attention_rows_sum_to_one(default_bundle, text, text_pair):
    run = outcome(run_model, default_bundle, text, text_pair)
    if run is None:
        return
    np.testing.assert_allclose(run.attentions.sum(-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(rollout(run.attentions).sum(-1), 1.0, atol=1e-9)
    amap = head_map(run, 5, 11, hide_special=True, renormalize=True)
    np.testing.assert_allclose(amap.weights.sum(1), 1.0, atol=1e-9)


@settings(max_examples=FEW, suppress_health_check=FIXTURES)
@given(words=st.lists(st.one_of(st.sampled_from(WORDS), st.text(min_size=1, max_size=5)), min_size=1, max_size=10),
       baseline=st.sampled_from(["pad", "mask", "zero"]))
@pytest.mark.slow
def test_integrated_gradients_is_complete_on_the_sentiment_head(sentiment, words, baseline):
    """sum(scores) = f(x) - f(baseline) within 5 % (or 1e-3 when the two scores almost agree), 50 steps."""
    a = outcome(attribute, sentiment, " ".join(words), method="ig", baseline=baseline)
    if a is None:
        return
    gap = a.target_score - a.baseline_score
    assert abs(a.delta) <= max(0.05 * abs(gap), 1e-3), (a.delta, gap)


# ---- the app's guards --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app_session(family_checkpoints):
    """One AppTest session on the tiny BERT MLM folder; every example types into it, as a user would."""
    return open_app("masked", model=str(family_checkpoints["bert-mlm"].folder))


@pytest.mark.app
@settings(max_examples=FEW, suppress_health_check=FIXTURES)
@given(text=any_text, text_pair=pair)
def test_app_pages_never_show_a_traceback_and_keep_the_text(app_session, text, text_pair):
    at = app_session
    text, text_pair = text[:MAX_INPUT_CHARS], (text_pair or "")[:MAX_INPUT_CHARS]  # the text areas' max_chars
    at.sidebar.text_area(key="text").input(text)
    at.sidebar.text_area(key="pair").input(text_pair)
    for page in ("masked", "attention", "tokens"):
        at.switch_page(page_file(page)).run()
        assert not at.exception, (page, at.exception)
        assert at.session_state["text"] == text and at.session_state["pair"] == text_pair


link_value = st.one_of(st.text(max_size=20), st.sampled_from(["-1", "99", "1e3", "٣", " 2 ", "0x1", "nan", ""]))
model_value = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["/", ".", "..", "~", "/etc/passwd", "a/b/c", "bert base!", "gpt2", "\x00", "C:\\models", "-"]),
)


@pytest.mark.app
@settings(max_examples=FEW, suppress_health_check=FIXTURES)
@given(model=model_value, layer=link_value, head=link_value, text=st.text(max_size=200))
def test_any_shared_link_gets_a_page_not_a_traceback(model, layer, head, text):
    with mock.patch.dict(os.environ, {"HF_HUB_OFFLINE": "1"}):
        at = open_app_quietly("attention", model=model, layer=layer, head=head, text=text)
    assert not at.exception, at.exception
    if at.error:  # a model that cannot be loaded: its message and the way back to the default
        assert at.error[0].value.strip() and at.button


def open_app_quietly(page: str, **query):
    from streamlit.testing.v1 import AppTest

    from tests.helpers import MAIN

    at = AppTest.from_file(MAIN, default_timeout=60)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    if not at.exception:
        at.switch_page(page_file(page)).run()
    return at


def test_over_long_text_is_cut_before_it_reaches_the_tokenizer(family_bundle):
    """The library's own limit (MAX_TEXT_CHARS) holds when the app's does not apply (CLI, API)."""
    run = run_model(family_bundle("bert-mlm"), "ab " * MAX_TEXT_CHARS)
    assert run.num_tokens == family_bundle("bert-mlm").max_tokens and run.truncated_from < MAX_TEXT_CHARS
