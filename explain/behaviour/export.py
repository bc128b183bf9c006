"""A suite result as JSON, CSV tables and a section of the offline HTML report (user text stays inert).

results.json   everything: the suite, the model, per test its numbers and every case
tests.csv      one row per test: capability, type, name, cases, failed, skipped, failure rate
failures.csv   one row per failed case: test, text, perturbed text, expected, predictions before/after
report.html    a bar of failure rates per test (explain.behaviour.figures) and the failed cases (`explain.report`:
               escaped, plotly inlined)
CSV cells that a spreadsheet would run are neutralised (`explain.report.inert_cell`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

from explain.behaviour.results import CaseResult, Prediction, SuiteResult, TestResult
from explain.i18n import Deferred, _
from explain.report import Section, Table, csv_text, report_html

SHOWN_FAILURES = 10


def _shown(text: str) -> str:
    """A stored message in the reader's language (labels and user text as they are)."""
    return _(text) if isinstance(text, Deferred) else text


def _rate(test: TestResult) -> float | None:
    return None if math.isnan(test.failure_rate) else round(test.failure_rate, 6)


def _prediction(p: Prediction | None, labels: Sequence[str]) -> dict | None:
    if p is None:
        return None
    if p.probs:
        return {"label": p.label, "probabilities": {l: round(x, 6) for l, x in zip(labels, p.probs)}}
    return {"entities": [{"type": e.type, "start": e.start, "end": e.end, "text": e.text} for e in p.entities]}


def _case(c: CaseResult, labels) -> dict:
    return {"text": c.text, "perturbed": c.perturbed, "expected": str(c.expected), "passed": c.passed,
            "before": _prediction(c.before, labels), "after": _prediction(c.after, labels),
            "change": None if c.change is None else round(c.change, 6), "note": str(c.note)}


def results_dict(result: SuiteResult) -> dict:
    """Everything in the result as JSON-ready data."""
    return {
        "suite": result.suite_name, "suite_file": result.suite_path, "model": result.model_name,
        "task": result.task, "labels": list(result.labels), "seed": result.seed, "texts": result.n_texts,
        "cases": result.n_cases, "max_tokens": result.max_tokens, "seconds": round(result.seconds, 3),
        "notices": [str(n) for n in result.notices],
        "tests": [{"name": t.name, "type": t.type, "capability": t.capability, "description": t.description,
                   "perturbation": t.perturbation, "expected": str(t.expected), "cases": t.n_cases,
                   "failed": t.n_failed, "skipped": t.n_skipped, "failure_rate": _rate(t),
                   "results": [_case(c, result.labels) for c in t.cases]} for t in result.tests],
    }


def results_json(result: SuiteResult) -> str:
    return json.dumps(results_dict(result), ensure_ascii=False, indent=1)


def summary_csv(result: SuiteResult) -> str:
    """One row per test: capability, type, test, cases, failed, skipped, failure_rate (blank when nothing scored)."""
    rows = [(t.capability, t.type, t.name, t.n_cases, t.n_failed, t.n_skipped,
             "" if _rate(t) is None else f"{t.failure_rate:.4f}") for t in result.tests]
    return csv_text(("capability", "type", "test", "cases", "failed", "skipped", "failure_rate"), rows)


def failures_csv(result: SuiteResult) -> str:
    """One row per failed case, every text made inert for spreadsheets."""
    rows = []
    for t in result.tests:
        for c in t.failed:
            rows.append((t.capability, t.type, t.name, c.text, c.perturbed or "", str(c.expected),
                         c.before.describe(result.labels), c.after.describe(result.labels) if c.after else "",
                         "" if c.change is None else f"{c.change:.4f}", str(c.note)))
    return csv_text(("capability", "type", "test", "text", "perturbed", "expected", "before", "after", "change",
                     "note"), rows)


def behaviour_sections(result: SuiteResult, shown: int = SHOWN_FAILURES) -> list[Section]:
    """Report sections: the summary (figure + table of tests), then the first `shown` failed cases of each test."""
    summary = Table(
        _("Tests"), (_("capability"), _("type"), _("test"), _("expected"), _("cases"), _("failed"), _("skipped"),
                     _("failure rate")),
        tuple((_(t.capability), t.type, _(t.name), _shown(t.expected), t.n_cases, t.n_failed, t.n_skipped,
               "-" if _rate(t) is None else f"{100 * t.failure_rate:.1f} %") for t in result.tests))
    text = _("{model} on the suite '{suite}': {cases:,} cases over {texts:,} distinct texts, {seconds:.1f} s.").format(
        model=result.model_name, suite=result.suite_name, cases=result.n_cases, texts=result.n_texts,
        seconds=result.seconds)
    notices = " ".join(_shown(n) for n in result.notices)
    from explain.behaviour.figures import failure_rate_figure

    sections = [Section(_("Behavioural tests"), text + (" " + notices if notices else ""),
                        figures=(failure_rate_figure(result),), tables=(summary,))]
    tables = []
    for t in result.tests:
        if not t.failed:
            continue
        rows = tuple((c.text, c.perturbed or "", _shown(c.expected), c.before.describe(result.labels),
                      c.after.describe(result.labels) if c.after else "", _shown(c.note))
                     for c in t.failed[:shown])
        title = _("{test} ({capability}, {type}): {failed} of {cases} failed").format(
            test=_(t.name), capability=_(t.capability), type=t.type, failed=t.n_failed, cases=t.n_cases)
        tables.append(Table(title, (_("text"), _("perturbed"), _("expected"), _("before"), _("after"), _("note")), rows))
    if tables:
        sections.append(Section(_("Failed cases"), _("The first {n} failed cases of each test.").format(n=shown),
                                tables=tuple(tables)))
    return sections


def behaviour_report_html(result: SuiteResult) -> str:
    """The standalone offline report of one suite run."""
    return report_html(_("BERT Lens behavioural tests"), behaviour_sections(result),
                       subtitle=f"{result.model_name} · {result.suite_name}")
