"""Data-set figures and exports: each figure carries the numbers it claims (recomputed here), clicks carry
what they select, and hostile row text comes out inert in the HTML report and in every CSV."""

from __future__ import annotations

import csv
import io
import json
import re

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix as sk_confusion

from explain.dataset import export, figures
from explain.dataset.attributions import dataset_attributions
from explain.dataset.evaluate import evaluate
from explain.dataset.heads import dataset_head_importance, pruning_curve
from explain.dataset.projector import pca
from explain.dataset.reader import read_rows, rows_from_texts
from explain.dataset.words import word_summary
from explain.models.heads import HEADS_DIR

pytestmark = pytest.mark.slow  # the module fixture explains 35 rows with the shipped sentiment head

SENTIMENT = "MiniLM + movie-review sentiment head (rotten/fresh)"
HELDOUT = HEADS_DIR / "minilm-sentiment" / "heldout.jsonl"
SCRIPT = "<script>alert(1)</script>"
FORMULA = '=HYPERLINK("http://x","y")'
HOSTILE = [SCRIPT, FORMULA, "+1+2 rotten", "@SUM(A1) great film", "-3 stars, awful"]


@pytest.fixture(scope="module")
def results(sentiment):
    """The shipped sentiment head on 30 held-out rows plus hostile rows (texts and a pair), all explained."""
    bundle = sentiment
    held = read_rows(HELDOUT, max_rows=30)
    texts = list(held.texts) + HOSTILE
    labels = list(held.labels) + ["fresh", "rotten", "rotten", "fresh", "rotten"]
    pairs = [None] * len(held) + [FORMULA, SCRIPT, None, None, None]
    rows = rows_from_texts(texts, labels, pairs)
    ev = evaluate(bundle, rows)
    da = dataset_attributions(bundle, rows, method="saliency", evaluation=ev)
    summary = word_summary(da, ev.y_true, min_count=1)
    importance = dataset_head_importance(bundle, rows)
    curve = pruning_curve(bundle, rows, importance, ks=[0, 12, 72], random_orders=1)
    return bundle, rows, ev, da, summary, importance, curve, pca(ev.features)


def test_confusion_matrix_cells_carry_gold_and_predicted_and_the_counts(results):
    _, _, ev, *_ = results
    fig = figures.confusion_matrix(ev.metrics)
    trace = fig.data[0]
    expected = sk_confusion(ev.y_true, ev.y_pred, labels=[0, 1])
    for (gold, pred, share), text in zip(trace.customdata, trace.text):
        gold, pred = int(gold), int(pred)
        assert int(text.replace(",", "")) == expected[gold, pred] == len(ev.in_cell(gold, pred))
        assert share == pytest.approx(expected[gold, pred] / expected[gold].sum())
    assert {(int(g), int(p)) for g, p, _ in trace.customdata} == {(0, 0), (0, 1), (1, 0), (1, 1)}


def test_reliability_bars_are_the_accuracy_of_each_confidence_bin(results):
    _, _, ev, *_ = results
    m = ev.metrics
    fig = figures.reliability_diagram(m.reliability, m.ece)
    bars = fig.data[0]
    conf, right = ev.confidence, ev.correct
    edges = np.linspace(0, 1, 16)
    for centre, acc, (count, *_rest) in zip(bars.x, bars.y, bars.customdata):
        k = int(centre * 15)
        inside = (conf > edges[k]) & (conf <= edges[k + 1])
        assert inside.sum() == count and acc == pytest.approx(right[inside].mean())
    ece = sum(abs(right[b].mean() - conf[b].mean()) * b.sum() / len(conf)
              for b in ((conf > edges[k]) & (conf <= edges[k + 1]) for k in range(15)) if b.any())
    assert f"{ece:.3f}" in fig.layout.title.text
    assert list(fig.data[2].x) == [0, 1] and list(fig.data[2].y) == [0, 1]  # the diagonal


def test_head_grid_pruning_and_projector_show_the_results(results):
    _bundle, rows, ev, _da, summary, importance, curve, projection = results
    grid = figures.head_importance_grid(importance).data[0]
    for (layer, head), value in zip(grid.customdata, grid.marker.color):
        assert value == pytest.approx(importance.normalized[int(layer), int(head)])
    prune = figures.pruning_figure(curve)
    assert list(prune.data[0].y) == pytest.approx(curve.accuracy.tolist())
    assert prune.data[0].y[0] == pytest.approx(ev.metrics.accuracy)  # k = 0 is the unpruned model
    for colour_by in figures.COLOUR_BY:
        for dims in (2, 3):
            fig = figures.projector(projection.coordinates, ev.labels, ev.y_true, ev.y_pred, ev.confidence,
                                    colour_by=colour_by, dims=dims, texts=rows.texts)
            seen = np.concatenate([np.asarray(t.customdata) for t in fig.data])
            assert sorted(seen.tolist()) == list(range(len(rows)))  # every row once, by its index
            for t in fig.data:
                idx = np.asarray(t.customdata)
                assert np.allclose(t.x, projection.coordinates[idx, 0]) and np.allclose(t.y, projection.coordinates[idx, 1])
                if dims == 3:
                    assert np.allclose(t.z, projection.coordinates[idx, 2])
    correct = figures.projector(projection.coordinates, ev.labels, ev.y_true, ev.y_pred, ev.confidence,
                                colour_by="correct")
    assert sorted(correct.data[1].customdata.tolist()) == ev.errors.tolist()
    bars = figures.class_word_figures(summary, top=5)
    assert len(bars) == 2 and list(bars[0].data[0].x) == [s.mean for s in summary.per_class[0][:5]]


def test_report_and_every_csv_keep_hostile_text_inert(results):
    _bundle, rows, ev, da, summary, importance, curve, projection = results
    page = export.evaluation_report_html(ev, data_name=SCRIPT, attributions=da, summary=summary,
                                         importance=importance, curve=curve, projection=projection)
    assert SCRIPT not in page
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 2  # title and the rows table
    assert not re.search(r"<script[^>]+src=", page)  # plotly.js inlined, nothing fetched
    n_figures = 2 + len(figures.class_word_figures(summary)) + bool(summary.shortcuts) + 2 + 4
    assert page.count("Plotly.newPlot") == n_figures
    csvs = {
        "rows": export.rows_csv({"row": i, **r} for i, r in enumerate(ev.records())),
        "per_class": export.per_class_csv(ev.metrics), "confusion": export.confusion_csv(ev.metrics),
        "words": export.words_csv(summary), "shortcuts": export.shortcuts_csv(summary),
        "heads": export.heads_csv(importance), "pruning": export.pruning_csv(curve),
    }
    for name, text in csvs.items():
        for row in csv.reader(io.StringIO(text)):
            assert not any(cell.startswith(("=", "+", "-", "@")) and not _number(cell) for cell in row), (name, row)
    every_word = export.words_csv(word_summary(da, ev.y_true, min_count=1, top=10**6))
    words = [r[1] for r in csv.reader(io.StringIO(every_word))]
    assert "'=" in words and "'@" in words and "=" not in words  # hostile tokens became words, made inert
    rows_table = list(csv.DictReader(io.StringIO(csvs["rows"])))
    assert [r["text"] for r in rows_table[-5:]] == [SCRIPT, "'" + FORMULA, "'+1+2 rotten", "'@SUM(A1) great film",
                                                   "'-3 stars, awful"]
    assert rows_table[-5]["text_pair"] == "'" + FORMULA
    # JSON keeps the text as written (it is data for programs, not a spreadsheet)
    lines = export.predictions_jsonl(ev).splitlines()
    assert json.loads(lines[-4])["text"] == FORMULA and len(lines) == len(rows)


def _number(cell: str) -> bool:
    try:
        float(cell)
        return True
    except ValueError:
        return False


def test_metrics_and_heads_json_round_trip(results):
    _, _, ev, _, _, importance, curve, _ = results
    m = json.loads(export.metrics_json(ev.metrics, model=SENTIMENT))
    assert m["accuracy"] == pytest.approx(ev.correct.mean()) and m["model"] == SENTIMENT
    assert np.array_equal(m["confusion"], ev.metrics.confusion)
    h = json.loads(export.heads_json(importance, curve))
    assert np.allclose(h["normalized"], importance.normalized) and h["pruning"]["ks"] == [0, 12, 72]
    table = list(csv.DictReader(io.StringIO(export.heads_csv(importance))))
    least = min(table, key=lambda r: int(r["rank"]))
    assert (int(least["layer"]), int(least["head"])) == tuple(importance.order()[0])
