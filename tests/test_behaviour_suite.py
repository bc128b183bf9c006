"""Suite files: the shipped ones, templates and data sources, and errors that name the file, test and field."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from explain.behaviour.lexicons import lexicon
from explain.behaviour.runner import build_cases
from explain.behaviour.suite import find_suite, load_suite, shipped_suites
from explain.errors import InputError


def write(tmp_path: Path, text: str, name: str = "suite.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_sentiment_suite_has_what_the_issue_asks():
    suite = load_suite("sentiment")
    assert len(suite.tests) >= 10 and suite.task == "sequence-classification"
    assert {t.capability for t in suite.tests} >= {"Vocabulary", "Negation", "Robustness", "Fairness", "Taxonomy"}
    assert {t.type for t in suite.tests} == {"MFT", "INV", "DIR"}
    cases = build_cases(suite)
    scored = sum(1 for test in cases for c in test if c.perturbed is None or c.perturbed.changed)
    assert scored >= 1000
    assert find_suite("Movie-review sentiment (rotten/fresh)") == shipped_suites()["sentiment"]


def test_shipped_pii_suite_loads():
    suite = load_suite("pii")
    assert suite.task == "token-classification" and len(suite.tests) >= 3
    full = next(t for t in suite.tests if t.name == "Full names")
    for text, slots in zip(full.texts, full.slots):
        for s in slots:
            assert text[s.start:s.end] == s.value and s.value in lexicon(s.placeholder)


def test_templates_fill_every_combination_or_a_seeded_sample(tmp_path):
    path = write(tmp_path, """
name: t
lexicons: {adj: [good, bad], thing: [film, plot, cast]}
tests:
  - {name: all, type: MFT, capability: c, template: "The {thing} is {adj}, {adj}.", expected: fresh}
  - {name: some, type: MFT, capability: c, template: ["The {thing} is {adj}.", "{first_name} met {first_name2}."],
     expected: fresh, max_cases: 7}
""")
    suite = load_suite(path)
    every = [f"The {t} is {a}, {a}." for t, a in itertools.product(["film", "plot", "cast"], ["good", "bad"])]
    assert list(suite.tests[0].texts) == every  # the same placeholder twice gets the same value
    some = suite.tests[1]
    assert len(some.texts) == 7 and len(set(some.texts)) == 7
    assert load_suite(path).tests[1].texts == some.texts  # seeded: the same sample every time
    names = set(lexicon("first_name"))
    for text, slots in zip(some.texts, some.slots):
        for s in slots:
            assert text[s.start:s.end] == s.value
            assert s.value in names or s.value in ("film", "plot", "cast", "good", "bad")


def test_data_source_is_relative_to_the_suite_and_filtered(tmp_path):
    (tmp_path / "data").mkdir()
    rows = ["Short and sweet.", "A much longer review that goes on and on about nothing much at all.", "Fine."]
    (tmp_path / "data" / "r.jsonl").write_text("\n".join(json.dumps({"text": r}) for r in rows), encoding="utf-8")
    path = write(tmp_path, """
name: t
tests:
  - {name: d, type: INV, capability: c, data: {file: data/r.jsonl, max_words: 4}, perturbation: punctuation}
""")
    assert load_suite(path).tests[0].texts == ("Short and sweet.", "Fine.")


def test_a_json_suite_works_like_yaml(tmp_path):
    path = write(tmp_path, json.dumps({"name": "j", "tests": [
        {"name": "n", "type": "dir", "capability": "c", "texts": ["It is good."], "perturbation": "add_negation",
         "expected": {"class": "fresh", "direction": "down", "margin": 0.1}}]}), "suite.json")
    test = load_suite(path).tests[0]
    assert test.type == "DIR" and test.expected["margin"] == 0.1 and test.perturbation == "add_negation"


BAD = [
    ("tests: [{name: x}]", None, "name", "non-empty text"),
    ("name: s\ntests: []", None, "tests", "at least one"),
    ("name: s\ncolour: red\ntests: [{name: a}]", None, "colour", "unknown field"),
    ("name: s\ntests: [{name: a, type: XYZ, capability: c, texts: [x]}]", "a", "type", "MFT, INV, DIR"),
    ("name: s\ntests: [{name: a, type: MFT, texts: [x], expected: fresh}]", "a", "capability", "non-empty"),
    ("name: s\ntests: [{name: a, type: MFT, capability: c, expected: fresh}]", "a", "template", "exactly one"),
    ("name: s\ntests: [{name: a, type: MFT, capability: c, template: 'a {nope}', expected: x}]", "a", "template",
     "no lexicon for {nope}"),
    ("name: s\ntests: [{name: a, type: MFT, capability: c, texts: [x]}]", "a", "expected", "expected label"),
    ("name: s\ntests: [{name: a, type: INV, capability: c, texts: [x]}]", "a", "perturbation", "need a perturbation"),
    ("name: s\ntests: [{name: a, type: INV, capability: c, texts: [x], perturbation: shuffle}]", "a", "perturbation",
     "unknown perturbation"),
    ("name: s\ntests: [{name: a, type: INV, capability: c, texts: [x], perturbation: {name: typos, count: 99}}]", "a",
     "perturbation.count", "1 to 10"),
    ("name: s\ntests: [{name: a, type: DIR, capability: c, texts: [x], perturbation: typos, expected: {class: f}}]",
     "a", "expected", "direction"),
    (("name: s\ntests: [{name: a, type: DIR, capability: c, texts: [x], perturbation: typos,\n"
     "  expected: {class: f, direction: sideways}}]"), "a", "expected.direction", "up or down"),
    ("name: s\ntests: [{name: a, type: INV, capability: c, data: missing.csv, perturbation: typos}]", "a", "data",
     "no file"),
    ("name: s\ntests: [{name: a, type: MFT, capability: c, texts: [x], expected: f, max_cases: 0}]", "a", "max_cases",
     "1 to"),
    (("name: s\ntests:\n - {name: a, type: MFT, capability: c, texts: [x], expected: f}\n"
     " - {name: a, type: MFT, capability: c, texts: [y], expected: f}"), "a", "name", "unique"),
    (("name: s\ntask: token-classification\ntests: [{name: a, type: DIR, capability: c, texts: [x], "
     "perturbation: typos, expected: {class: f, direction: up}}]"), "a", "type", "token-classification"),
    (("name: s\ntask: token-classification\ntests: [{name: a, type: MFT, capability: c, template: 'Hi {city}.', "
     "expected: {first_name: GIVEN_NAME}}]"), "a", "expected", "not a placeholder"),
]


@pytest.mark.parametrize("text, test, field, words", BAD)
def test_bad_suites_name_file_test_and_field(tmp_path, text, test, field, words):
    path = write(tmp_path, text)
    with pytest.raises(InputError) as err:
        load_suite(path)
    message = str(err.value)
    assert message.startswith(str(path)) and f"field '{field}'" in message and words in message
    assert "\n" not in message
    if test is not None:
        assert f"test '{test}'" in message


def test_unreadable_files_are_named(tmp_path):
    with pytest.raises(InputError, match=r"not valid YAML \(mapping values are not allowed here at line 2, column 9\)"):
        load_suite(write(tmp_path, "name: s\ntests: x: y\n"))
    with pytest.raises(InputError, match=r"not valid JSON .*line 1"):
        load_suite(write(tmp_path, "{nope", "s.json"))
    with pytest.raises(InputError, match="shipped suites are: pii, sentiment"):
        load_suite("no-such-suite")


def test_a_shipped_suite_is_named_by_its_file_name_not_the_install_path():
    """Messages and exports of a hosted server must not show where the package is installed."""
    from explain.behaviour.suite import SUITES_DIR

    suite = load_suite("sentiment")
    assert suite.path == "sentiment.yaml" and str(SUITES_DIR) not in suite.path
