"""The Data set page in Chromium: upload a CSV, see the confusion matrix, click a cell, open a misclassified
row's explanation (three clicks from the matrix to the Attributions page)."""

from __future__ import annotations

import io
import json
import re
from urllib.parse import parse_qs, urlparse

import pandas as pd
import pytest
from playwright.sync_api import expect

from explain import load_model
from explain.dataset.evaluate import evaluate
from explain.dataset.reader import read_rows
from explain.models.heads import HEADS_DIR
from tests.browser.test_app_browser import FIRST_RUN_MS, SENTIMENT, open_page, point_on_screen, settle, shot

pytestmark = pytest.mark.browser


def reviews_csv(path, n: int = 40) -> bytes:
    rows = [json.loads(line) for line in (HEADS_DIR / "minilm-sentiment" / "heldout.jsonl").read_text().splitlines()[:n]]
    out = io.StringIO()
    pd.DataFrame({"text": [r["text"] for r in rows], "label": [r["label"] for r in rows]}).to_csv(out, index=False)
    path.write_text(out.getvalue())
    return out.getvalue().encode()


def test_from_the_confusion_matrix_to_a_wrong_prediction_explained(offline_page, app_url, tmp_path):
    csv_file = tmp_path / "reviews.csv"
    data = reviews_csv(csv_file)
    ev = evaluate(load_model(SENTIMENT), read_rows(data, name="reviews.csv"))
    gold, pred = ev.labels.index("fresh"), ev.labels.index("rotten")
    wrong = ev.in_cell(gold, pred)
    assert len(wrong) > 0
    page = open_page(offline_page, app_url, "dataset", model=SENTIMENT)
    page.get_by_text("Upload a file").click()
    settle(page)
    page.locator("input[type=file]").set_input_files(str(csv_file))
    settle(page)
    expect(page.get_by_text(f"{ev.metrics.accuracy:.1%}")).to_be_visible(timeout=FIRST_RUN_MS)
    matrix = page.locator("[data-testid=stPlotlyChart]").first
    expect(matrix.locator(".scatterlayer")).to_be_attached(timeout=FIRST_RUN_MS)
    shot(page, "dataset-upload")

    x, y = point_on_screen(page, matrix, pred, gold)  # click 1: the cell gold fresh, predicted rotten
    page.mouse.click(x, y)
    settle(page)
    expect(page.get_by_text("Rows of gold label fresh predicted as rotten.")).to_be_visible(timeout=30_000)

    expect(page.get_by_text(f"of {len(wrong)} that match", exact=False)).to_be_visible(timeout=30_000)
    table = page.locator("[data-testid=stDataFrame]").nth(1)  # per-class table first, then the rows
    expect(table).to_be_visible(timeout=30_000)  # a new table is mounted for the cell's rows: wait for it
    table.scroll_into_view_if_needed()
    box = table.bounding_box()
    page.mouse.click(box["x"] + 18, box["y"] + 35 + 17)  # click 2: the first row's selection box
    settle(page)
    first = int(ev.in_cell(gold, pred)[pd.Series(ev.loss[wrong]).argsort().to_numpy()[::-1][0]])
    expect(page.get_by_text(f"Row {first}", exact=False)).to_be_visible(timeout=60_000)
    expect(page.get_by_text("Integrated Gradients toward the gold label fresh")).to_be_visible(timeout=60_000)
    shot(page, "dataset-row")

    page.get_by_role("button", name="Open on the Attributions page").click()  # click 3
    settle(page)
    expect(page.get_by_role("heading", name="Attributions")).to_be_visible(timeout=FIRST_RUN_MS)
    query = parse_qs(urlparse(page.url).query)
    assert query["target"] == ["fresh"] and query["text"] == [ev.rows.texts[first]]
    expect(page.get_by_role("combobox", name="Explain the score of")).to_have_value(re.compile(r"^fresh \("))
    shot(page, "dataset-attributions")
    assert not page.blocked_requests


def test_clicking_a_point_in_the_projector_shows_its_row(offline_page, app_url):
    from explain.dataset.projector import pca

    ev = evaluate(load_model(SENTIMENT), read_rows(HEADS_DIR / "minilm-sentiment" / "heldout.jsonl"))
    xy = pca(ev.features, 3).xy
    row = int(xy[:, 0].argmax())  # the right-most point: nothing on top of it
    page = open_page(offline_page, app_url, "dataset", model=SENTIMENT)
    expect(page.get_by_text(f"{ev.metrics.accuracy:.1%}")).to_be_visible(timeout=FIRST_RUN_MS)
    page.get_by_text("Projector", exact=True).click()
    settle(page)
    chart = page.locator("[data-testid=stPlotlyChart]").first
    expect(chart.locator(".scatterlayer")).to_be_attached(timeout=FIRST_RUN_MS)
    x, y = point_on_screen(page, chart, float(xy[row, 0]), float(xy[row, 1]))
    page.mouse.click(x, y)
    settle(page)
    expect(page.get_by_text(f"Row {row} (line {ev.rows.lines[row]})")).to_be_visible(timeout=60_000)
