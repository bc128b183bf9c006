"""Two texts' attributions aligned word by word (a failed case's side-by-side view), and the pieces the
Stress tests page builds on: suites from an upload or a dict, the suite digest, the failure-rate figure."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from explain.attribution.methods import attribute
from explain.attribution.words import merge_words
from explain.behaviour.compare import compare_attributions
from explain.behaviour.counterfactual import proposal_model
from explain.behaviour.figures import comparison_figure, failure_rate_figure, ordered_tests
from explain.behaviour.runner import run_suite
from explain.behaviour.suite import load_suite, read_suite, shipped_suites, suite_digest, suite_from_data
from explain.errors import InputError
from tests.behaviour_models import bag_of_words
from tests.helpers import decode_plotly


def _ig_words(bundle, text: str, target: str) -> list[float]:
    """The library's own IG on one text, merged into words, special tokens left out."""
    words = merge_words(attribute(bundle, text, method="ig", target=target, n_steps=64))
    return [s for s, sp in zip(words.scores, words.special) if not sp]


def test_an_inserted_word_is_aligned_with_an_empty_slot(tokenizer):
    bag = bag_of_words(tokenizer, {"clever": 3.0, "not": -1.0})
    cmp = compare_attributions(bag, "The plot is clever.", "The plot is not clever.", "fresh")
    assert cmp.words_before == ("the", "plot", "is", "", "clever", ".")
    assert cmp.words_after == ("the", "plot", "is", "not", "clever", ".")
    assert list(cmp.edited) == [False, False, False, True, False, False]
    before = _ig_words(bag, "The plot is clever.", "fresh")
    after = _ig_words(bag, "The plot is not clever.", "fresh")
    np.testing.assert_allclose(np.delete(cmp.scores_before, 3), before, atol=1e-4)  # IG's completeness bound
    np.testing.assert_allclose(cmp.scores_after, after, atol=1e-4)
    assert cmp.scores_before[3] == 0.0 and cmp.scores_after[3] < 0  # 'not' pulls away from fresh
    np.testing.assert_allclose(cmp.difference, cmp.scores_after - cmp.scores_before)
    assert cmp.target_label == "fresh" and all(s >= 4 for s in cmp.steps)


def test_a_substitution_is_compared_position_by_position(tokenizer):
    bag = bag_of_words(tokenizer, {"good": 2.0, "awful": -2.0})
    cmp = compare_attributions(bag, "A good film.", "A awful film.", 0)  # target by index: rotten
    assert cmp.words_before == ("a", "good", "film", ".") and cmp.words_after == ("a", "awful", "film", ".")
    assert list(cmp.edited) == [False, True, False, False]
    assert cmp.target_label == "rotten" and cmp.scores_before[1] < 0 < cmp.scores_after[1]


def test_compare_refuses_a_tagger_and_an_unknown_label(tiny_classifier, tokenizer):
    from tests.helpers import tiny_bundle

    tagger = tiny_bundle(tokenizer, "token-classification", labels=("O", "B-X", "I-X"))
    with pytest.raises(InputError, match="text classifier"):
        compare_attributions(tagger, "a b", "a c", 0)
    with pytest.raises(InputError, match="not a label"):
        compare_attributions(tiny_classifier, "a b", "a c", "nonsense")


def test_an_uploaded_suite_is_read_from_bytes_and_errors_name_the_upload():
    raw = {"name": "mine", "tests": [{"name": "neg", "type": "MFT", "capability": "Negation",
                                      "template": "The {thing} is not {adj}.", "expected": "rotten"}],
           "lexicons": {"thing": ["film", "plot"], "adj": ["good", "great"]}}
    suite = read_suite(json.dumps(raw).encode(), "mine.json")
    assert suite.path == "mine.json" and len(suite.tests[0].texts) == 4
    assert suite_from_data(raw, "built here").tests[0].texts == suite.tests[0].texts
    with pytest.raises(InputError) as err:
        read_suite(b"name: x\ntests:\n  - {name: t, type: DIR, capability: c, texts: [a], perturbation: add_negation,"
                   b" expected: {class: fresh, direction: sideways}}\n", "bad.yaml")
    assert str(err.value) == "bad.yaml: test 't', field 'expected.direction': must be up or down; got 'sideways'."
    with pytest.raises(InputError, match=r"^up\.yaml: test 'd', field 'data': an uploaded suite cannot read files"):
        read_suite(b"name: x\ntests:\n  - {name: d, type: INV, capability: c, data: /etc/passwd, perturbation: typos}\n",
                   "up.yaml")
    with pytest.raises(InputError, match=r"^x\.yaml: not valid YAML"):
        read_suite(b"name: [unclosed\n", "x.yaml")
    with pytest.raises(InputError, match=r"^b\.yaml: cannot be read as UTF-8"):
        read_suite(b"\xff\xfe name", "b.yaml")
    many = {"name": "m", "tests": [{"name": f"t{i}", "type": "MFT", "capability": "c", "texts": ["x"] * 50,
                                    "expected": "fresh"} for i in range(3)]}
    with pytest.raises(InputError, match=r"test 't2', field 'max_cases': the tests so far have 150 texts; at most 120"):
        suite_from_data(many, "m.json", max_texts=120)


def test_the_digest_follows_what_decides_the_cases():
    assert suite_digest(load_suite(shipped_suites()["sentiment"])) == suite_digest(load_suite("sentiment"))
    assert suite_digest(load_suite("sentiment")) != suite_digest(load_suite("pii"))
    raw = {"name": "s", "seed": 0, "tests": [{"name": "t", "type": "INV", "capability": "c", "texts": ["I met Anna."],
                                             "perturbation": "swap_name"}]}
    d0 = suite_digest(suite_from_data(raw, "a"))
    assert suite_digest(suite_from_data(raw, "another label")) == d0  # where it came from does not matter
    assert suite_digest(suite_from_data({**raw, "seed": 1}, "a")) != d0
    raw2 = json.loads(json.dumps(raw))
    raw2["tests"][0]["perturbation"] = "typos"
    assert suite_digest(suite_from_data(raw2, "a")) != d0


def test_failure_rate_figure_groups_by_capability_and_keeps_each_test_index(tokenizer):
    bag = bag_of_words(tokenizer, {"good": 2.0, "bad": -2.0})
    raw = {"name": "s", "tests": [
        {"name": "pos", "type": "MFT", "capability": "Vocabulary", "texts": ["good", "bad good good"], "expected": "fresh"},
        {"name": "neg", "type": "DIR", "capability": "Negation", "texts": ["It is good."], "perturbation": "add_negation",
         "expected": {"class": "fresh", "direction": "down", "margin": 0.1}},
        {"name": "neg2", "type": "MFT", "capability": "Vocabulary", "texts": ["bad", "good"], "expected": "rotten"},
        {"name": "none", "type": "INV", "capability": "Negation", "texts": ["no contraction"], "perturbation": "expand_contractions"},
    ]}
    result = run_suite(bag, suite_from_data(raw, "s.json"))
    assert [i for i, _t in ordered_tests(result)] == [0, 2, 1, 3]
    bar = failure_rate_figure(result, selected=2).to_plotly_json()["data"][0]
    assert list(decode_plotly(bar["customdata"])) == [3, 1, 2, 0]  # bottom to top
    assert bar["y"][0] == ["Negation", "Negation", "Vocabulary", "Vocabulary"]
    rates = decode_plotly(bar["x"])
    for index, rate, text in zip(decode_plotly(bar["customdata"]), rates, bar["text"]):
        t = result.tests[index]
        if math.isnan(t.failure_rate):
            assert text == "-" and rate == 0
        else:
            assert rate == pytest.approx(100 * t.n_failed / t.n_cases)
    assert result.tests[2].failure_rate == 0.5 and result.tests[1].failure_rate == 1.0  # a bag of words ignores 'not'
    assert bar["marker"]["line"]["color"][2] == "#000000"  # the selected test (index 2) is outlined


def test_comparison_figure_labels_the_edit(tokenizer):
    bag = bag_of_words(tokenizer, {"clever": 3.0})
    fig = comparison_figure(compare_attributions(bag, "The plot is clever.", "The plot is not clever.", "fresh"))
    data = fig.to_plotly_json()["data"]
    assert list(data[0]["x"]) == ["the", "plot", "is", "+not", "clever", "."]
    np.testing.assert_allclose(decode_plotly(data[2]["y"]), decode_plotly(data[1]["y"]) - decode_plotly(data[0]["y"]))


def test_the_sentiment_heads_get_the_shipped_mlm_for_proposals(sentiment, default_bundle):
    assert proposal_model(sentiment) == "all-MiniLM-L6-v2 + BERT Lens MLM head"
    assert proposal_model(default_bundle) is None  # no card: the whole vocabulary
