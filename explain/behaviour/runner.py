"""Run a behavioural suite on a model: every case of every test predicted in one batched pass, then scored.

    suite = load_suite("sentiment")                     # explain.behaviour.suite
    result = run_suite(bundle, suite, progress=cb, cancel=event)
    for test in result.tests: test.name, test.failure_rate, test.n_cases, test.failed

Scoring (Ribeiro et al. 2020, CheckList):
  MFT: the prediction equals the expected label (a tagger: every placeholder's value is found as one
      entity of the expected type, with exactly its span).
  INV: the perturbation leaves the predicted label unchanged (a tagger: the entities found after
      are the entities found before, moved with the edit: the swapped name is found at its new span).
  DIR: P(class) moves `direction` by at least `margin` (class `predicted`: the class predicted on the
      original). CheckList's Monotonic(tolerance=t) is margin = -t.
Texts are predicted once however many tests use them; `progress(done, total)` counts distinct texts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from explain.behaviour.edits import Edit, Perturbed
from explain.behaviour.perturb import PERTURBATIONS
from explain.behaviour.predict import Predictions, predict_texts
from explain.behaviour.results import CaseResult, Entity, Prediction, SuiteResult, TestResult
from explain.behaviour.sources import Slot
from explain.behaviour.suite import Suite, TestSpec, check_labels, label_index
from explain.dataset.batching import MAX_POSITIONS, MAX_ROWS
from explain.dataset.progress import Progress
from explain.errors import InputError
from explain.i18n import N_, _, deferred
from explain.models.checkpoint import ModelBundle


@dataclass(frozen=True)
class Case:
    """One case before the model runs: a text, its perturbation (INV/DIR), its template slots (MFT)."""

    text: str
    perturbed: Perturbed | None = None
    slots: tuple[Slot, ...] = ()


def build_cases(suite: Suite) -> list[list[Case]]:
    """Per test, its cases: MFT texts as they are; INV/DIR texts with their perturbation (seeded by the suite)."""
    out = []
    for test in suite.tests:
        if test.type == "MFT":
            slots = test.slots or ((),) * len(test.texts)
            out.append([Case(t, None, s) for t, s in zip(test.texts, slots)])
        else:
            fn = PERTURBATIONS[test.perturbation]
            out.append([Case(t, fn(t, suite.seed, suite.lexicons, **test.params)) for t in test.texts])
    return out


def texts_to_predict(cases: list[list[Case]]) -> list[str]:
    """Every distinct text the scoring needs (originals, and perturbed texts that changed), in first-seen order."""
    seen: dict[str, None] = {}
    for test in cases:
        for case in test:
            seen.setdefault(case.text)
            if case.perturbed is not None and case.perturbed.changed:
                seen.setdefault(case.perturbed.text)
    return list(seen)


def check_model(bundle: ModelBundle, suite: Suite) -> None:
    """InputError unless `bundle` is a classifier or tagger whose labels fit the suite."""
    if bundle.task not in ("sequence-classification", "token-classification"):
        raise InputError(_("'{name}' has no classification head; behavioural tests need a sequence- or "
                           "token-classification model.").format(name=_(bundle.name)))
    if bundle.config.problem_type in ("regression", "multi_label_classification") or len(bundle.labels) < 2:
        raise InputError(_("'{name}' is a regression or multi-label head; behavioural tests need one class per "
                           "text.").format(name=_(bundle.name)))
    check_labels(suite, tuple(bundle.labels), bundle.task)


def run_suite(
    bundle: ModelBundle,
    suite: Suite,
    max_tokens: int | None = None,
    batch_rows: int = MAX_ROWS,
    max_positions: int = MAX_POSITIONS,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    predict: Callable[[Sequence[str]], Predictions] | None = None,
) -> SuiteResult:
    """Run every test of `suite` on `bundle` (shared, never modified) and score it (see the module docstring).

    Args:
        max_tokens: truncation limit (default and cap: the model's maximum, as on the other pages).
        batch_rows, max_positions: batch limits (rows; rows x padded length).
        progress, cancel: as `explain.dataset.evaluate` (progress(done, total) in texts; Cancelled on cancel).
        predict: texts -> Predictions, to run the model elsewhere (the Ray engine); default in-process.

    Raises:
        InputError: a model that does not fit the suite (the message names the file, test and field).
        Cancelled: `cancel` was set.
    """
    check_model(bundle, suite)
    start = time.perf_counter()
    cases = build_cases(suite)
    texts = texts_to_predict(cases)
    if predict is None:
        preds = predict_texts(bundle, texts, max_tokens, batch_rows, max_positions, progress, cancel, suite.seed)
    else:
        preds = predict(texts)
    return score_suite(bundle, suite, cases, preds, time.perf_counter() - start)


def score_suite(bundle: ModelBundle, suite: Suite, cases: list[list[Case]], preds: Predictions,
                seconds: float) -> SuiteResult:
    """Score predicted cases into a SuiteResult."""
    index = {t: i for i, t in enumerate(preds.texts)}
    labels = tuple(bundle.labels)
    tagger = bundle.task == "token-classification"

    def prediction(text: str) -> Prediction:
        i = index[text]
        if tagger:
            return Prediction("", (), preds.entities[i])
        p = preds.probs[i]
        return Prediction(labels[int(np.argmax(p))], tuple(float(x) for x in p))

    tests = []
    for spec, test_cases in zip(suite.tests, cases):
        scored = [_score(spec, case, prediction, labels, tagger) for case in test_cases]
        tests.append(TestResult(name=spec.name, type=spec.type, capability=spec.capability,
                                description=spec.description, perturbation=spec.perturbation,
                                expected=_expectation(spec, labels), cases=tuple(scored)))
    notices = list(preds.notices)
    empty = [t.name for t in tests if t.n_cases == 0]
    if empty:
        notices.append(deferred(N_("The perturbation changed none of the texts of: {tests}."), tests=", ".join(empty)))
    return SuiteResult(suite_name=suite.name, suite_path=suite.path, model_name=bundle.name, task=bundle.task,
                       labels=labels, seed=suite.seed, tests=tuple(tests), n_texts=len(preds.texts),
                       max_tokens=preds.max_tokens, seconds=seconds, notices=tuple(notices))


def _expectation(spec: TestSpec, labels: tuple[str, ...]) -> str:
    """What the test wants, in words (a Deferred: results are cached and read in any language)."""
    if spec.type == "INV":
        return deferred(N_("same prediction"))
    if spec.type == "DIR":
        e = spec.expected
        up, tolerant = e["direction"] == "up", e["margin"] < 0  # a negative margin: CheckList's tolerance
        if e["class"] == "predicted":
            msgid = {(True, False): N_("P(predicted class) up by at least {margin:.2f}"),
                     (False, False): N_("P(predicted class) down by at least {margin:.2f}"),
                     (True, True): N_("P(predicted class) not down by more than {margin:.2f}"),
                     (False, True): N_("P(predicted class) not up by more than {margin:.2f}")}[up, tolerant]
            return deferred(msgid, margin=abs(e["margin"]))
        msgid = {(True, False): N_("P({cls}) up by at least {margin:.2f}"),
                 (False, False): N_("P({cls}) down by at least {margin:.2f}"),
                 (True, True): N_("P({cls}) not down by more than {margin:.2f}"),
                 (False, True): N_("P({cls}) not up by more than {margin:.2f}")}[up, tolerant]
        return deferred(msgid, cls=labels[label_index(e["class"], labels)], margin=abs(e["margin"]))
    if isinstance(spec.expected, str):
        return labels[label_index(spec.expected, labels)]
    return ", ".join(f"{k}: {v}" for k, v in spec.expected.items())


def _score(spec: TestSpec, case: Case, prediction, labels, tagger: bool) -> CaseResult:
    before = prediction(case.text)
    if spec.type == "MFT":
        if tagger:
            return _tagger_mft(spec, case, before)
        want = labels[label_index(spec.expected, labels)]
        return CaseResult(case.text, before, want, before.label == want)
    p = case.perturbed
    expected = _expectation(spec, labels)
    if not p.changed:
        return CaseResult(case.text, before, expected, None, p.text, None, None, p.note)
    after = prediction(p.text)
    if spec.type == "INV" and tagger:
        return _tagger_inv(case, before, after, expected)
    if spec.type == "INV":
        return CaseResult(case.text, before, expected, before.label == after.label, p.text, after, None, p.note)
    e = spec.expected
    cls = labels.index(before.label) if e["class"] == "predicted" else label_index(e["class"], labels)
    change = after.probs[cls] - before.probs[cls]
    passed = change >= e["margin"] if e["direction"] == "up" else change <= -e["margin"]
    return CaseResult(case.text, before, expected, bool(passed), p.text, after, float(change), p.note)


def _tagger_mft(spec: TestSpec, case: Case, before: Prediction) -> CaseResult:
    found = {(e.type, e.start, e.end) for e in before.entities}
    wanted = [(spec.expected[s.placeholder], s.start, s.end, s.value) for s in case.slots if s.placeholder in spec.expected]
    missing = [f"{kind} '{value}'" for kind, a, b, value in wanted if (kind, a, b) not in found]
    expected = ", ".join(f"{kind} '{value}'" for kind, _a, _b, value in wanted)
    note = deferred(N_("not found: {missing}"), missing=", ".join(missing)) if missing else ""
    return CaseResult(case.text, before, expected, not missing, note=note)


def moved(position: int, edits: Sequence[Edit], end: bool) -> int:
    """Where a character boundary of the original text lands in the perturbed one.

    A boundary inside a replaced span lands on the replacement's start (`end` False) or end (`end`
    True); others move by the length change of the edits before them. An insertion at an entity's
    end is after it; one at its start is before it.
    """
    shift = 0
    for e in edits:
        inside = e.old_start < position <= e.old_end if end else e.old_start <= position < e.old_end
        if inside:
            return e.end if end else e.start
        if (e.old_end < position) if end else (e.old_end <= position):
            shift += (e.end - e.start) - (e.old_end - e.old_start)
    return position + shift


def _tagger_inv(case: Case, before: Prediction, after: Prediction, expected: str) -> CaseResult:
    edits = case.perturbed.edits
    want = {(e.type, moved(e.start, edits, False), moved(e.end, edits, True)) for e in before.entities}
    got = {(e.type, e.start, e.end) for e in after.entities}
    if want == got:
        return CaseResult(case.text, before, expected, True, case.perturbed.text, after, None, case.perturbed.note)
    text = case.perturbed.text
    lost = ", ".join(str(Entity(k, a, b, text[a:b])) for k, a, b in sorted(want - got, key=lambda x: x[1]))
    new = ", ".join(str(Entity(k, a, b, text[a:b])) for k, a, b in sorted(got - want, key=lambda x: x[1]))
    note = deferred(N_("{what}; expected but not found: {lost}; found instead: {new}"), what=case.perturbed.note,
                    lost=lost or "-", new=new or "-")
    return CaseResult(case.text, before, expected, False, text, after, None, note)
