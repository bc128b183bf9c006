"""AppTest of the Stress tests page and of the Attributions page's counterfactual ("What would flip this?").

The shipped sentiment suite runs once on the page (module fixture, through the Run button and the background
job); the other tests open new sessions and find the result in the cache shared by sessions. Failure rates
are compared with `bert-lens stress` on the same suite, attributions with the library's own IG on one text,
and the counterfactual's edit with a plain call of the model.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from bert_lens.common import clear_caches
from bert_lens.views import page_file
from bert_lens.views.dataset.jobs import RESULTS
from explain.attribution.methods import attribute
from explain.attribution.words import merge_words
from explain.behaviour.runner import run_suite
from explain.behaviour.suite import read_suite, suite_from_data
from explain.cli import main as cli
from tests.helpers import MAIN, decode_plotly

pytestmark = pytest.mark.app  # AppTest: the Streamlit app runs

SENTIMENT = "MiniLM + movie-review sentiment head (rotten/fresh)"


def open_stress(**query) -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=300)
    at.query_params.update({"model": SENTIMENT, **query})
    at.run()
    at.switch_page(page_file("stress")).run()
    assert not at.exception, at.exception
    return at


def finish(at: AppTest) -> AppTest:
    """Let the run end (the page polls it in a fragment, which AppTest does not run by itself)."""
    for _round in range(10):
        job = at.session_state["stress.job"] if "stress.job" in at.session_state else None
        if job is not None:
            job.wait(900)
        at.run()
        assert not at.exception, at.exception
        if at.metric:
            return at
    raise AssertionError("the suite did not finish")


def table(at: AppTest):
    return next(d for d in at.dataframe if d.key == "stress.tests").value


@pytest.fixture(scope="module")
def shipped_run():
    """The page's own run of the shipped sentiment suite (the model's suite by default): its session."""
    RESULTS.clear()
    at = open_stress()
    assert at.radio(key="stress.source").value == "sentiment"  # the sentiment head's own suite
    assert not at.metric, "nothing runs before Run is clicked"
    at.button(key="stress.run").click().run()
    return finish(at)


@pytest.mark.slow
def test_shipped_suite_gives_the_cli_failure_rates(shipped_run, tmp_path):
    assert cli(["stress", "--model", SENTIMENT, "--suite", "sentiment", "--out", str(tmp_path)]) == 0
    tests = {t["name"]: t for t in json.loads((tmp_path / "results.json").read_text())["tests"]}
    shown = table(shipped_run)
    assert len(shown) == len(tests) == 21
    for _i, row in shown.iterrows():
        t = tests[row["test"]]
        assert (row["capability"], row["type"], row["failed"], row["cases"], row["unchanged"]) == (
            t["capability"], t["type"], t["failed"], t["cases"], t["skipped"])
        assert row["failure rate"] == pytest.approx(100 * t["failed"] / t["cases"], abs=1e-9)
        assert row["failure rate"] == pytest.approx(100 * t["failure_rate"], abs=1e-4)  # results.json keeps 6 digits
    metrics = {m.label: m.value for m in shipped_run.metric}
    assert metrics["Cases"] == f"{sum(t['cases'] for t in tests.values()):,}"
    assert metrics["Failed cases"] == f"{sum(t['failed'] for t in tests.values()):,}"
    assert list(shown["capability"]) == sorted(shown["capability"], key=list(dict.fromkeys(shown["capability"])).index)


@pytest.mark.slow
def test_a_failed_case_opens_side_by_side_with_both_attributions(shipped_run, sentiment):
    at = open_stress()  # a new session: the result comes from the cache shared by sessions, no Run needed
    assert at.metric and "stress.job" not in at.session_state
    shown = table(at)
    row = int(np.flatnonzero(shown["test"].to_numpy() == "One typo")[0])
    at.session_state["stress.tests"] = {"selection": {"rows": [row], "columns": [], "cells": []}}  # what a click stores
    at.run()
    test = next(d for d in at.dataframe if d.key and d.key.startswith("stress.cases."))
    first = test.value.iloc[0]
    at.session_state[test.key] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert not at.exception, at.exception
    before, after = first["before"].split()[0], first["after"].split()[0]
    assert before != after  # a failed INV case: the typo changed the label
    sides = [h.proto.body for h in at.get("html") if "title=" in h.proto.body]
    assert len(sides) == 2, "the original and the perturbed text, each coloured by its attributions"
    figure = json.loads(next(c for c in at.get("plotly_chart") if "stress-diff" in c.proto.config).proto.spec)
    scores_before = decode_plotly(figure["data"][0]["y"])
    a = merge_words(attribute(sentiment, first["text"], method="ig", target=before, n_steps="auto"))
    expected = [s for s, special in zip(a.scores, a.special) if not special]
    kept = [k for k, w in enumerate(figure["data"][0]["x"]) if not w.startswith("+")]
    np.testing.assert_allclose(scores_before[kept], expected, atol=1e-4)  # IG's own bound (1 % completeness)
    for word in re.findall(r"[a-z]+", first["perturbed"].lower())[:5]:
        assert word in sides[1]
    links = [b.label for b in at.button if b.key and b.key.startswith("stress.open.")]
    assert links == ["Open on the Attributions page"] * 2
    at.button(key="stress.open.after").click().run()  # the perturbed text, explained toward the original's label
    assert not at.exception, at.exception
    assert at.session_state["text"] == first["perturbed"] and at.title[0].value == "Attributions"
    assert sentiment.labels[at.session_state["attr.target"]] == before


@pytest.mark.slow
def test_chart_view_and_exports(shipped_run):
    at = open_stress()
    rates = dict(zip(table(at)["test"], table(at)["failure rate"]))
    at.session_state["stress.view"] = "chart"
    at.run()
    bar = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]
    names = bar["y"][1]
    np.testing.assert_allclose(decode_plotly(bar["x"]), [rates[n] for n in names], atol=1e-9)
    config = json.loads(at.get("plotly_chart")[0].proto.config)
    assert config["toImageButtonOptions"]["format"] == "png"
    assert [b.label for b in at.get("download_button")] == ["Results (JSON)", "Tests (CSV)", "Failed cases (CSV)",
                                                             "Report (HTML)"]


def test_a_bad_uploaded_suite_shows_one_clear_message():
    bad = (b"name: mine\ntests:\n  - name: Negation\n    type: DIR\n    capability: Negation\n"
           b"    texts: [The plot is clever.]\n    perturbation: add_negation\n"
           b"    expected: {class: fresh, direction: sideways}\n")
    at = open_stress()
    at.radio(key="stress.source").set_value("upload").run()
    at.file_uploader(key="stress.upload").set_value(("my.yaml", bad, "application/yaml")).run()
    assert not at.exception, at.exception
    with pytest.raises(Exception) as err:
        read_suite(bad, "my.yaml")
    assert [e.value for e in at.error] == [str(err.value)]
    assert str(err.value) == "my.yaml: test 'Negation', field 'expected.direction': must be up or down; got 'sideways'."
    assert not at.metric and not [b for b in at.button if b.key == "stress.run"]


def test_a_template_built_on_the_page_runs_like_the_library(sentiment):
    at = open_stress()
    at.radio(key="stress.source").set_value("build").run()
    at.radio(key="stress.b.type").set_value("MFT").run()
    at.text_area(key="stress.b.template").input("The {thing} is {adj}.\nThe {thing} was {adj}.").run()
    at.text_area(key="stress.b.lexicons").input("thing: film, plot, ending\nadj: great, wonderful, not bad").run()
    at.selectbox(key="stress.b.label").set_value("fresh").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    at.button(key="stress.run").click().run()
    finish(at)
    data = {"name": "x", "seed": 0, "task": "sequence-classification", "lexicons": {
        "thing": ["film", "plot", "ending"], "adj": ["great", "wonderful", "not bad"]}, "tests": [{
            "name": "My test", "type": "MFT", "capability": "Fairness", "max_cases": 200,
            "template": ["The {thing} is {adj}.", "The {thing} was {adj}."], "expected": "fresh"}]}
    ours = run_suite(sentiment, suite_from_data(data, "x")).tests[0]
    row = table(at).iloc[0]
    assert (row["cases"], row["failed"]) == (ours.n_cases, ours.n_failed) == (18, ours.n_failed)
    assert "Suite (YAML)" in [b.label for b in at.get("download_button")]


def test_cancel_stops_a_run():
    at = open_stress()
    at.radio(key="stress.source").set_value("build").run()
    at.radio(key="stress.b.source").set_value("template").run()
    at.number_input(key="stress.b.max").set_value(2000).run()  # 2,000 cases, about 4,000 texts
    at.button(key="stress.run").click().run()
    job = at.session_state["stress.job"]
    assert job.running, "4,000 texts should take longer than the page's 1 s wait"
    bar = at.get("progress")[0].proto
    assert re.search(r"Running the suite: [\d,]+ of [\d,]+ texts", bar.text)
    at.button(key="stress.cancel").click().run()
    job.wait(120)
    at.run()
    assert job.cancelled and not job.running and not at.metric
    assert re.fullmatch(r"Cancelled after [\d,]+ of [\d,]+ rows\.", at.info[0].value)
    assert at.button(key="stress.again")


def test_a_model_without_classes_offers_models_with_a_suite():
    at = AppTest.from_file(MAIN, default_timeout=180)
    at.run()  # the default encoder: no classification head
    at.switch_page(page_file("stress")).run()
    assert not at.exception, at.exception
    assert "no classification head" in at.info[0].value
    at.button(key=f"stress.use.{SENTIMENT}").click().run()
    assert at.session_state["model.choice"] == SENTIMENT
    assert at.radio(key="stress.source").value == "sentiment"


def _plain_label(bundle, text: str) -> str:
    """The model's prediction from a plain call on the tokenized text (none of the search's code)."""
    with torch.inference_mode():
        logits = bundle.model(**bundle.tokenizer(text, return_tensors="pt")).logits[0]
    return bundle.labels[int(logits.argmax())]


def open_flip(text: str) -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=300)
    at.query_params.update({"model": SENTIMENT, "text": text})
    at.run()
    at.switch_page("views/attributions.py").run()
    at.session_state["attr.view"] = "What would flip this?"
    at.run()
    assert not at.exception, at.exception
    return at


def test_what_would_flip_this_returns_an_edit_that_flips_the_model(sentiment):
    text = "Fierce, glaring and unforgettable."
    at = open_flip(text)
    assert not at.code, "nothing is searched before the button"
    at.button(key="attr.flip_go").click().run()
    assert not at.exception, at.exception
    edited = at.code[0].value
    before, after = _plain_label(sentiment, text), _plain_label(sentiment, edited)
    assert edited != text and after != before
    assert f"**{before}**" in at.success[0].value and f"**{after}**" in at.success[0].value
    sides = [h.proto.body for h in at.get("html") if "outline" in h.proto.body]
    assert len(sides) == 2  # both texts' attributions, the edited words outlined
    at.button(key="attr.flip_use").click().run()
    assert at.session_state["text"] == edited and not at.exception


def test_no_flip_within_k_words_says_so():
    at = open_flip("A wonderful, moving, beautiful and brilliant film with superb acting and a great script.")
    at.select_slider(key="attr.flip_k").set_value(1).run()
    at.button(key="attr.flip_go").click().run()
    assert not at.exception, at.exception
    assert re.fullmatch(r"No edit of one word flips the prediction \([\d,]+ candidate texts were run through the "
                        r"model\)\. Try a larger k\.", at.info[-1].value)
    assert not at.code


def teardown_module():
    RESULTS.clear()
    clear_caches()


# --- in Chinese (tests/i18n_scan.py): the results, a failed case, the builder, the upload help, the counterfactual ---

def _scan(at, allow: list[str], where: str, found: list) -> None:
    from tests.i18n_scan import untranslated

    assert not at.exception, f"{where}: {at.exception}"
    found += [(where, kind, text, words) for kind, text, words in untranslated(at, allow)]


@pytest.mark.slow
def test_stress_page_in_chinese(shipped_run, sentiment):
    from tests.test_i18n_app import _allowed, _report

    at = open_stress(lang="zh")
    assert at.title[0].value == "压力测试"
    found: list = []
    allow = _allowed(at, "")
    _scan(at, allow, "results", found)
    shown = table(at)
    names = list(shown.iloc[:, 1])  # the test column (its header is Chinese too)
    assert "一个拼写错误" in names  # the shipped suite's test names are translated
    at.session_state["stress.tests"] = {"selection": {"rows": [names.index("一个拼写错误")], "columns": [], "cells": []}}
    at.run()
    cases = next(d for d in at.dataframe if d.key and d.key.startswith("stress.cases."))
    first = cases.value.iloc[0]
    at.session_state[cases.key] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    texts = [first.iloc[0], first.iloc[1]]  # the text and its perturbed version: data, English on purpose
    allow = _allowed(at, *texts) + [w.lower() for t in texts for w in re.findall(r"[A-Za-z']+", t)]
    _scan(at, allow, "a case", found)
    at.session_state["stress.view"] = "chart"
    at.run()
    _scan(at, allow, "chart", found)
    for source in ("upload", "build"):
        at.session_state["stress.source"] = source  # set as a click would (AppTest formats options in English)
        at.run()
        _scan(at, allow + ["thing", "adj", "film", "plot", "ending", "acting", "wonderful", "fine", "dull", "awful"],
              source, found)
    assert not found, _report(found)


def test_what_would_flip_this_in_chinese():
    from tests.test_i18n_app import _allowed, _report

    text = "Fierce, glaring and unforgettable."
    at = AppTest.from_file(MAIN, default_timeout=300)
    at.query_params.update({"model": SENTIMENT, "text": text, "lang": "zh"})
    at.run()
    at.switch_page("views/attributions.py").run()
    at.session_state["attr.view"] = "What would flip this?"
    at.run()
    found: list = []
    _scan(at, _allowed(at, text), "flip", found)
    at.button(key="attr.flip_go").click().run()
    edited = at.code[0].value
    _scan(at, _allowed(at, text, edited) + [w.lower() for w in re.findall(r"[A-Za-z]+", text + " " + edited)],
          "flipped", found)
    assert not found, _report(found)
