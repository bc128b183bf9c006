"""The suite runner: scores recomputed one text at a time, a bag-of-words model's known failures, taggers, exports."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest
import torch
from seqeval.metrics.sequence_labeling import get_entities

from explain import run_model
from explain.attribution.core import hook_snapshot
from explain.behaviour.edits import Edit
from explain.behaviour.export import behaviour_report_html, failures_csv, results_dict, summary_csv
from explain.behaviour.runner import moved, run_suite
from explain.behaviour.suite import load_suite
from explain.errors import Cancelled, InputError
from tests.behaviour_models import bag_of_words
from tests.helpers import tiny_bundle

TINY_SUITE = """
name: tiny
lexicons: {adj: [good, bad, fine, awful, great], thing: [film, plot, cast]}
tests:
  - {name: mft, type: MFT, capability: Vocabulary, template: "The {thing} is {adj}.", expected: pos}
  - {name: inv, type: INV, capability: Robustness, template: "The {thing} is {adj}.", perturbation: typos}
  - {name: dir, type: DIR, capability: Negation, template: "The {thing} was {adj}.", perturbation: add_negation,
     expected: {class: predicted, direction: down, margin: 0.0}}
  - {name: never, type: INV, capability: Robustness, texts: ["No contraction here."], perturbation: expand_contractions}
"""


@pytest.fixture(scope="module")
def tiny_suite(tmp_path_factory):
    path = tmp_path_factory.mktemp("suite") / "tiny.yaml"
    path.write_text(TINY_SUITE, encoding="utf-8")
    return load_suite(path)


def _probs(bundle, text):
    return torch.softmax(torch.tensor(run_model(bundle, text).head_logits, dtype=torch.float64), -1).numpy()


@pytest.mark.slow
def test_scores_equal_one_text_at_a_time(tiny_classifier, tiny_suite):
    before = hook_snapshot(tiny_classifier.model)
    result = run_suite(tiny_classifier, tiny_suite)
    assert hook_snapshot(tiny_classifier.model) == before and not tiny_classifier.model.training
    labels = tiny_classifier.labels
    for test in result.tests:
        for case in test.cases:
            p = _probs(tiny_classifier, case.text)
            assert np.allclose(case.before.probs, p, atol=1e-5) and case.before.label == labels[p.argmax()]
            if test.type == "MFT":
                assert case.passed == (labels[p.argmax()] == "pos")
            elif case.passed is None:
                assert case.after is None and str(case.note)
            else:
                q = _probs(tiny_classifier, case.perturbed)
                assert np.allclose(case.after.probs, q, atol=1e-5)
                if test.type == "INV":
                    assert case.passed == (p.argmax() == q.argmax())
                else:
                    change = q[p.argmax()] - p[p.argmax()]
                    assert case.change == pytest.approx(change, abs=1e-5) and case.passed == (change <= 0)
        scored = [c for c in test.cases if c.passed is not None]
        if scored:
            assert test.failure_rate == pytest.approx(sum(not c.passed for c in scored) / len(scored))
    never = result.tests[-1]
    assert never.n_cases == 0 and never.n_skipped == 1 and np.isnan(never.failure_rate)
    assert any("never" in str(n) for n in result.notices)


def test_progress_counts_distinct_texts_and_cancel_stops(tiny_classifier, tiny_suite):
    calls = []
    result = run_suite(tiny_classifier, tiny_suite, progress=lambda done, total: calls.append((done, total)),
                       batch_rows=8)
    assert calls[0] == (0, result.n_texts) and calls[-1] == (result.n_texts, result.n_texts) and len(calls) > 2
    stop = threading.Event()
    stop.set()
    with pytest.raises(Cancelled):
        run_suite(tiny_classifier, tiny_suite, cancel=stop)


def test_labels_that_the_model_lacks_are_named(tiny_classifier, tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("name: s\ntests: [{name: a, type: MFT, capability: c, texts: [x], expected: fresh}]")
    with pytest.raises(InputError, match=r"s.yaml: test 'a', field 'expected': 'fresh' is not a label"):
        run_suite(tiny_classifier, load_suite(path))


@pytest.fixture(scope="module")
def bag(tokenizer):
    """Every single-token sentiment word of the shipped suite: +2 (positive) or -2 (negative); all else 0."""
    lex = load_suite("sentiment").lexicons
    single = lambda w: len(tokenizer(w, add_special_tokens=False)["input_ids"]) == 1
    weights = {w: 2.0 for w in lex["pos_adj"] + lex["pos_verb"] + lex["pos_verb_base"] if single(w)}
    weights.update({w: -2.0 for w in lex["neg_adj"] + lex["neg_verb"] if single(w)})
    return bag_of_words(tokenizer, weights)


def test_bag_of_words_fails_negation_and_passes_typo_free_invariance(bag):
    result = run_suite(bag, load_suite("sentiment"))
    by_name = {t.name: t for t in result.tests}
    negation = by_name["Adding 'not' lowers P(fresh)"]
    assert negation.n_cases == 100 and negation.failure_rate == 1.0
    assert all(abs(c.change) < 1e-12 for c in negation.cases)  # 'not' weighs nothing: P(fresh) does not move
    typo_free = [t for t in result.tests if t.type == "INV" and "typo" not in t.name.lower()]
    assert len(typo_free) >= 7
    for test in typo_free:
        assert test.n_cases > 0 and test.failure_rate == 0.0, test.name


TAGS = ("O", "B-GIVEN_NAME", "I-GIVEN_NAME", "B-CITY", "I-CITY")


@pytest.mark.slow
def test_tagger_entities_equal_an_independent_reading(tokenizer, tmp_path):
    tagger = tiny_bundle(tokenizer, "token-classification", labels=TAGS, seed=3)
    path = tmp_path / "t.yaml"
    path.write_text("""
name: t
task: token-classification
tests:
  - {name: names, type: MFT, capability: c, template: "Call {first_name} in {city} today.",
     expected: {first_name: GIVEN_NAME, city: CITY}, max_cases: 40}
  - {name: swap, type: INV, capability: c, template: "Call {first_name} in {city} today.", perturbation: swap_city,
     max_cases: 40}
""")
    result = run_suite(tagger, load_suite(path))
    pre = tokenizer.backend_tokenizer.pre_tokenizer
    for test in result.tests:
        for case in test.cases:
            for text, pred in ((case.text, case.before), (case.perturbed, case.after)):
                if text is None:
                    continue
                run = run_model(tagger, text)
                tags = run.head_logits.argmax(-1)
                spans = [span for _word, span in pre.pre_tokenize_str(text)]
                first = {}
                for pos, w in enumerate(run.word_ids):
                    if w >= 0:
                        first.setdefault(int(w), pos)
                word_tags = [TAGS[tags[first[w]]] for w in range(len(spans))]
                want = [(kind, spans[a][0], spans[b][1]) for kind, a, b in get_entities(word_tags)]
                assert [(e.type, e.start, e.end) for e in pred.entities] == want
                assert all(text[e.start:e.end] == e.text for e in pred.entities)
    mft = result.tests[0]
    for case in mft.cases:  # passed iff both placeholders are found, each as exactly one entity of its type
        found = {(e.type, e.text) for e in case.before.entities}
        name, city = case.text[5:].split(" in ")[0], case.text.split(" in ")[1][: -len(" today.")]
        assert case.passed == ({("GIVEN_NAME", name), ("CITY", city)} <= found)


def test_entity_boundaries_move_with_the_edit():
    swap = [Edit(10, 16, 10, 14, "Garcia", "Diaz")]  # "Call Maria Garcia in Rome" -> "Call Maria Diaz in Rome"
    assert (moved(5, swap, False), moved(16, swap, True)) == (5, 14)  # "Maria Garcia" -> "Maria Diaz"
    assert (moved(20, swap, False), moved(24, swap, True)) == (18, 22)  # "Rome" after the edit shifts by -2
    assert (moved(10, swap, False), moved(16, swap, True)) == (10, 14)  # the swapped name itself
    start = [Edit(0, 0, 0, 5, "", "Wow. ")]
    assert (moved(0, start, False), moved(4, start, True)) == (5, 9)  # an insertion before the entity
    end = [Edit(4, 4, 4, 8, "", " not")]
    assert (moved(0, end, False), moved(4, end, True)) == (0, 4)  # an insertion right after it


def test_exports_keep_user_text_inert(tiny_classifier, tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(json.dumps({"name": "<b>suite</b>", "tests": [
        {"name": "=HYPERLINK(\"x\")", "type": "MFT", "capability": "<i>c</i>",
         "texts": ["=1+1 <script>alert(1)</script>", "@SUM(A1)", "-2 fine"], "expected": "pos"}]}), encoding="utf-8")
    result = run_suite(tiny_classifier, load_suite(path))
    data = results_dict(result)
    test = data["tests"][0]
    assert test["cases"] == 3 and test["failed"] == result.tests[0].n_failed
    assert json.loads(json.dumps(data)) == data
    summary = summary_csv(result)
    assert "'=HYPERLINK" in summary and "\n=HYPERLINK" not in summary
    failures = failures_csv(result)
    for line in failures.splitlines()[1:]:
        assert not line.startswith(("=", "@", "+", "-"))
    html = behaviour_report_html(result)
    assert "<script>alert(1)</script>" not in html and "<b>suite</b>" not in html and "<i>c</i>" not in html
    if result.tests[0].n_failed:
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
