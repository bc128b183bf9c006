"""The data-set HTML report (the CLI's report.html) in Debian's Chromium with the network blocked: every chart
draws from the inlined plotly.js, nothing is fetched, and a hostile row's text is shown, never run.

A screenshot goes to $BERTLENS_SCREENSHOTS/dataset-report.png when that variable is set.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from explain import load_model
from explain.dataset.attributions import dataset_attributions
from explain.dataset.evaluate import evaluate
from explain.dataset.export import evaluation_report_html
from explain.dataset.heads import dataset_head_importance, pruning_curve
from explain.dataset.projector import pca
from explain.dataset.reader import read_rows, rows_from_texts
from explain.dataset.words import word_summary
from explain.models.heads import HEADS_DIR

pytestmark = pytest.mark.browser

SENTIMENT = "MiniLM + movie-review sentiment head (rotten/fresh)"
SCRIPT = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def report_file(tmp_path_factory) -> Path:
    bundle = load_model(SENTIMENT)
    held = read_rows(HEADS_DIR / "minilm-sentiment" / "heldout.jsonl", max_rows=40)
    rows = rows_from_texts([*held.texts, SCRIPT], [*held.labels, "fresh"])
    ev = evaluate(bundle, rows)
    da = dataset_attributions(bundle, rows, method="saliency", evaluation=ev)
    importance = dataset_head_importance(bundle, rows)
    page = evaluation_report_html(ev, data_name="heldout.jsonl", attributions=da,
                                  summary=word_summary(da, ev.y_true), importance=importance,
                                  curve=pruning_curve(bundle, rows, importance, ks=[0, 24, 48, 72]),
                                  projection=pca(ev.features))
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(page, encoding="utf-8")
    return path


def test_report_draws_every_chart_offline_and_runs_no_row_text(page, report_file):
    requests, dialogs = [], []

    def route(r):
        requests.append(r.request.url)
        r.continue_() if r.request.url.startswith("file://") else r.abort()

    page.route("**/*", route)
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(report_file.as_uri())
    expected = report_file.read_text(encoding="utf-8").count("Plotly.newPlot")
    charts = page.locator(".js-plotly-plot")
    charts.nth(expected - 1).locator(".main-svg").first.wait_for(state="attached", timeout=60_000)
    assert charts.count() == expected >= 10
    for i in range(expected):  # each chart has drawn its plot area (a 3-D scene draws into a canvas)
        assert charts.nth(i).locator(".main-svg, canvas").count() >= 1
    confusion = charts.nth(0)
    counts = [int(t.replace(",", "")) for t in confusion.locator(".textpoint text").all_text_contents()]
    assert sum(counts) == 41  # every row in one cell
    assert "expected calibration error" in charts.nth(1).locator(".gtitle").text_content()
    assert page.get_by_text(SCRIPT).count() >= 1  # shown as text in the rows table
    assert not dialogs
    assert [u for u in requests if not u.startswith("file://")] == []
    folder = os.environ.get("BERTLENS_SCREENSHOTS")
    if folder:
        page.set_viewport_size({"width": 1200, "height": 1600})
        page.screenshot(path=str(Path(folder) / "dataset-report.png"), full_page=False)
