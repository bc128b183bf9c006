"""`python -m explain stress`: files and exit codes, --fail-above, bad suites in one line, the shipped suites."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import pytest
from transformers import BertForSequenceClassification

from explain.cli import main
from tests.helpers import tiny_config

SENTIMENT = "MiniLM + movie-review sentiment head (rotten/fresh)"
NER = "Rampart PII NER (arcjet; token classification)"
SUITE = """
name: tiny
lexicons: {adj: [good, bad, fine, awful, great, dull], thing: [film, plot, cast]}
tests:
  - {name: mft, type: MFT, capability: Vocabulary, template: "The {thing} is {adj}.", expected: pos}
  - {name: inv, type: INV, capability: Robustness, template: "The {thing} is {adj}.", perturbation: typos}
  - {name: dir, type: DIR, capability: Negation, template: "The {thing} was {adj}.", perturbation: add_negation,
     expected: {class: pos, direction: down, margin: 0.0}}
"""


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory, tokenizer):
    """A tiny random BERT classifier (labels neg, pos) saved as a user saves a checkpoint."""
    import torch

    torch.manual_seed(1)
    folder = tmp_path_factory.mktemp("tiny-classifier")
    model = BertForSequenceClassification(tiny_config(num_labels=2, id2label={0: "neg", 1: "pos"},
                                                      label2id={"neg": 0, "pos": 1}))
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def suite_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("suite") / "tiny.yaml"
    path.write_text(SUITE, encoding="utf-8")
    return path


def _summary(out: Path) -> dict[str, dict]:
    return {row["test"]: row for row in csv.DictReader(io.StringIO((out / "tests.csv").read_text()))}


def test_writes_every_file_and_the_numbers_agree(tiny_folder, suite_file, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["stress", "--model", str(tiny_folder), "--suite", str(suite_file), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    results = json.loads((out / "results.json").read_text())
    summary = _summary(out)
    assert [t["name"] for t in results["tests"]] == ["mft", "inv", "dir"] == list(summary)
    for t in results["tests"]:
        scored = [r for r in t["results"] if r["passed"] is not None]
        failed = [r for r in scored if not r["passed"]]
        assert t["cases"] == len(scored) == int(summary[t["name"]]["cases"])
        assert t["failed"] == len(failed) == int(summary[t["name"]]["failed"])
        assert t["failure_rate"] == pytest.approx(len(failed) / len(scored))
        assert f"({len(failed)}/{len(scored)}" in printed
    failures = list(csv.DictReader(io.StringIO((out / "failures.csv").read_text())))
    assert len(failures) == sum(t["failed"] for t in results["tests"])
    report = (out / "report.html").read_text()
    assert report.startswith("<!DOCTYPE html>") and "Failure rate per test" in report


def test_fail_above_gates_on_the_worst_test(tiny_folder, suite_file, tmp_path, capsys):
    common = ["stress", "--model", str(tiny_folder), "--suite", str(suite_file)]
    assert main([*common, "--out", str(tmp_path / "a")]) == 0
    rates = [float(r["failure_rate"]) for r in _summary(tmp_path / "a").values()]
    worst = max(rates)
    assert worst > 0  # a random model fails some cases
    capsys.readouterr()
    assert main([*common, "--out", str(tmp_path / "b"), "--fail-above", str(worst)]) == 0  # not above: equal
    assert main([*common, "--out", str(tmp_path / "c"), "--fail-above", str(worst - 1e-3)]) == 1
    last = capsys.readouterr().out.strip().splitlines()[-1]
    worst_names = [name for name, row in _summary(tmp_path / "a").items() if float(row["failure_rate"]) == worst]
    assert " above " in last and all(name in last for name in worst_names)


BAD_SUITE = """
name: bad
tests:
  - {name: fine, type: MFT, capability: c, texts: [x], expected: pos}
  - {name: broken, type: DIR, capability: c, texts: [x], perturbation: add_negation,
     expected: {class: pos, direction: sideways}}
"""


def test_a_bad_suite_exits_2_with_one_line_before_any_model_loads(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text(BAD_SUITE, encoding="utf-8")
    code = main(["stress", "--model", "/no/such/model/folder", "--suite", str(path), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert err[0].startswith(f"error: {path}: test 'broken', field 'expected.direction'")
    assert not (tmp_path / "o").exists()


def test_bad_options_and_mismatched_labels_exit_2(tiny_folder, suite_file, tmp_path, capsys):
    assert main(["stress", "--model", str(tiny_folder), "--suite", str(suite_file), "--out", str(tmp_path),
                 "--fail-above", "20"]) == 2
    assert "--fail-above" in capsys.readouterr().err
    assert main(["stress", "--model", str(tiny_folder), "--suite", "sentiment", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "sentiment.yaml: test 'Positive adjectives', field 'expected': 'fresh' is not a label" in err


@pytest.mark.slow  # the shipped suite: ~2,900 texts through MiniLM (about 15 s on a quiet 2-core machine)
def test_shipped_sentiment_suite_on_the_shipped_head(tmp_path, capsys):
    out = tmp_path / "sentiment"
    code = main(["stress", "--model", SENTIMENT, "--suite", "sentiment", "--out", str(out), "--fail-above", "0.5"])
    printed = capsys.readouterr().out
    print(printed)  # the failure rates per test (pytest -s shows them; docs/notes/behaviour.md quotes them)
    results = json.loads((out / "results.json").read_text())
    assert results["cases"] >= 1000 and len(results["tests"]) >= 10
    above = [t["name"] for t in results["tests"] if t["failure_rate"] is not None and t["failure_rate"] > 0.5]
    assert code == (1 if above else 0) and all(name in printed for name in above)
    negation = next(t for t in results["tests"] if t["name"] == "Negated positive is rotten")
    assert negation["failure_rate"] < 0.5  # the head learned plain negation of an adjective...
    inverse = next(t for t in results["tests"] if t["name"] == "Negated negative is fresh")
    assert inverse["failure_rate"] > 0.5  # ...but not that "not bad" is no longer bad (CheckList's finding too)


@pytest.mark.slow  # the PII tagger on its suite (~560 texts) after a first-use conversion of its weights
def test_shipped_pii_suite_on_the_tagger(tmp_path, capsys):
    out = tmp_path / "pii"
    assert main(["stress", "--model", NER, "--suite", "pii", "--out", str(out)]) == 0
    print(capsys.readouterr().out)
    results = json.loads((out / "results.json").read_text())
    names = next(t for t in results["tests"] if t["name"] == "Full names")
    assert names["cases"] == 100 and names["failure_rate"] < 0.5
    for t in results["tests"]:
        for r in t["results"]:
            for e in (r["before"] or {}).get("entities", []):
                assert r["text"][e["start"]:e["end"]] == e["text"]
            if r["after"]:
                for e in r["after"]["entities"]:
                    assert r["perturbed"][e["start"]:e["end"]] == e["text"]


@pytest.mark.ray
@pytest.mark.slow
def test_ray_engine_gives_the_local_failure_rates(tiny_folder, suite_file, tmp_path):
    pytest.importorskip("ray", reason="Ray is optional: pip install -r requirements-ray.txt")
    import ray

    common = ["stress", "--model", str(tiny_folder), "--suite", str(suite_file)]
    try:
        assert main([*common, "--out", str(tmp_path / "local")]) == 0
        assert main([*common, "--out", str(tmp_path / "ray"), "--engine", "ray", "--ray-actors", "2",
                     "--ray-batch-rows", "16"]) == 0
    finally:
        ray.shutdown()
    local, remote = (json.loads((tmp_path / d / "results.json").read_text()) for d in ("local", "ray"))
    for a, b in zip(local["tests"], remote["tests"]):
        assert (a["name"], a["cases"], a["failed"]) == (b["name"], b["cases"], b["failed"])
        for x, y in zip(a["results"], b["results"]):
            px, py = x["before"]["probabilities"], y["before"]["probabilities"]
            assert all(math.isclose(px[k], py[k], abs_tol=1e-5) for k in px)
