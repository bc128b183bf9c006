"""AppTest of the Data set page: the shipped sample's metrics, the confusion-matrix filter, the label map,
bad uploads; and the Attributions page's ?target= and adaptive steps."""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from bert_lens.common import clear_caches
from bert_lens.views import page_file
from bert_lens.views.dataset.jobs import RESULTS
from explain import load_model
from explain.attribution.methods import attribute
from explain.dataset.evaluate import evaluate
from explain.dataset.reader import read_rows
from explain.models.heads import HEADS_DIR
from explain.settings import use_settings
from tests.helpers import MAIN

pytestmark = pytest.mark.app  # AppTest: the Streamlit app runs

SENTIMENT = "MiniLM + movie-review sentiment head (rotten/fresh)"
HELDOUT = HEADS_DIR / "minilm-sentiment" / "heldout.jsonl"


@pytest.fixture(scope="module")
def sentiment():
    return load_model(SENTIMENT)


def sample_csv(n: int = 40, rename: dict | None = None) -> bytes:
    """The first n held-out reviews as a CSV (labels renamed by `rename`)."""
    rows = [json.loads(line) for line in HELDOUT.read_text().splitlines()[:n]]
    frame = pd.DataFrame({"text": [r["text"] for r in rows], "label": [(rename or {}).get(r["label"], r["label"])
                                                                       for r in rows]})
    out = io.StringIO()
    frame.to_csv(out, index=False)
    return out.getvalue().encode()


def open_dataset(**query) -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=180)
    at.query_params.update({"model": SENTIMENT, **query})
    at.run()
    at.switch_page(page_file("dataset")).run()
    assert not at.exception, at.exception
    return at


def finish(at: AppTest, job: str = "ds.job.evaluate") -> AppTest:
    """Let the background job end (the page polls it in a fragment, which AppTest does not run by itself)."""
    for _round in range(20):
        if job in at.session_state:
            at.session_state[job].wait(120)
        at.run()
        assert not at.exception, at.exception
        if at.metric:
            return at
    raise AssertionError("the evaluation did not finish")


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.radio(key="ds.source").set_value("Upload a file").run()
    at.file_uploader(key="ds.upload").set_value((name, data, "text/csv")).run()
    assert not at.exception, at.exception
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_shipped_sample_gives_the_library_accuracy(sentiment):
    at = finish(open_dataset())
    ev = evaluate(sentiment, read_rows(HELDOUT))
    shown = metrics(at)
    assert shown["Accuracy"] == f"{ev.metrics.accuracy:.1%}" == "85.0%"
    assert shown["Macro-F1"] == f"{ev.metrics.macro_f1:.3f}"
    assert shown["ECE"] == f"{ev.metrics.ece:.3f}"
    assert shown["Rows"] == "300"
    per_class = at.dataframe[0].value
    assert list(per_class["support"]) == list(ev.metrics.support)
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["Per class (CSV)", "Confusion (CSV)", "Rows (CSV)", "Predictions (JSONL)", "Metrics (JSON)",
                      "Report (HTML)"]


def test_confusion_cell_filters_the_rows_and_errors_only(sentiment):
    at = upload(open_dataset(), "reviews.csv", sample_csv(40))
    finish(at)
    ev = evaluate(sentiment, read_rows(sample_csv(40), name="reviews.csv"))
    rows = at.dataframe[1].value
    assert len(rows) == 40
    np.testing.assert_allclose(rows["loss"].to_numpy(), np.sort(ev.loss)[::-1], rtol=1e-5)  # sorted by loss (the page evaluates in a background thread)
    gold, pred = ev.labels.index("fresh"), ev.labels.index("rotten")
    at.session_state["ds.cell"] = (gold, pred)  # what a click on the cell stores (browser test: the click itself)
    at.run()
    cell = at.dataframe[1].value
    assert sorted(cell["row"]) == sorted(ev.in_cell(gold, pred).tolist()) and len(cell) > 0
    assert set(cell["gold"]) == {"fresh"} and set(cell["prediction"]) == {"rotten"}
    at.button(key="ds.cell.clear").click().run()
    at.toggle(key="ds.errors").set_value(True).run()
    assert sorted(at.dataframe[1].value["row"]) == ev.errors.tolist()
    at.text_input(key="ds.search").input("film").run()
    found = at.dataframe[1].value
    assert all("film" in t.casefold() for t in found["text"]) and set(found["row"]) <= set(ev.errors.tolist())


def test_unknown_labels_get_a_mapping_ui_not_an_error(sentiment):
    data = sample_csv(40, rename={"fresh": "good", "rotten": "bad"})
    at = upload(open_dataset(), "renamed.csv", data)
    assert not at.error
    assert "do not all match" in at.warning[0].value
    maps = [s for s in at.selectbox if s.key and s.key.startswith("ds.map.")]
    assert sorted(s.label for s in maps) == ["bad", "good"]
    for s in maps:
        s.set_value({"good": "fresh", "bad": "rotten"}[s.label])
    at.run()
    at.button(key="ds.map.apply").click().run()
    finish(at)
    ev = evaluate(sentiment, read_rows(data, name="renamed.csv"), label_map={"good": "fresh", "bad": "rotten"})
    assert metrics(at)["Accuracy"] == f"{ev.metrics.accuracy:.1%}"


@pytest.mark.parametrize("name, data, message", [
    ("notext.csv", b"sentence,label\nhello,fresh\n", "text"),
    ("bad.jsonl", b'{"text": "fine", "label": "fresh"}\n{"text": oops}\n', "Line 2 is not valid JSON"),
    ("empty.csv", b"", "empty"),
])
def test_bad_uploads_keep_a_clear_message(name, data, message):
    at = upload(open_dataset(), name, data)
    assert at.error and message in at.error[0].value
    assert not at.metric


def test_a_model_without_classes_offers_the_sentiment_head():
    at = AppTest.from_file(MAIN, default_timeout=180)
    at.run()  # the default encoder: no classification head
    at.switch_page(page_file("dataset")).run()
    assert not at.exception, at.exception
    assert "no classification head" in at.info[0].value
    at.button(key=f"ds.use.{SENTIMENT}").click().run()
    assert at.session_state["model.choice"] == SENTIMENT


def test_attributions_page_takes_the_target_from_the_link_and_shows_adaptive_steps(sentiment):
    text = "A gripping, wonderful film."
    at = AppTest.from_file(MAIN, default_timeout=180)
    at.query_params.update({"model": SENTIMENT, "text": text, "target": "rotten"})
    at.run()
    at.switch_page("views/attributions.py").run()
    assert not at.exception, at.exception
    assert sentiment.labels[at.session_state["attr.target"]] == "rotten"  # not the prediction (fresh)
    a = attribute(sentiment, text, method="ig", target="rotten")
    assert any(f"used {a.n_steps} steps (adaptive)" in c.value for c in at.caption)
    at.selectbox(key="attr.target").set_value(sentiment.labels.index("fresh")).run()  # the user's choice wins
    assert sentiment.labels[at.session_state["attr.target"]] == "fresh" and at.query_params["target"] == "fresh"


def test_adaptive_ig_stops_at_the_server_step_limit(sentiment):
    with use_settings(max_ig_steps=10):
        a = attribute(sentiment, "a fine film, though it drags at the end and the cast is weak", method="ig")
    assert a.n_steps <= 10


def teardown_module():
    RESULTS.clear()
    clear_caches()


def test_every_page_figure_downloads_as_png_or_svg():
    at = finish(open_dataset())
    configs = [json.loads(c.proto.config) for c in at.get("plotly_chart")]
    assert configs and all(c["toImageButtonOptions"]["format"] == "png" for c in configs)
    at.radio(key="fig.format").set_value("svg").run()
    at.switch_page("views/attention.py").run()
    assert not at.exception, at.exception
    configs = [json.loads(c.proto.config) for c in at.get("plotly_chart")]
    options = [c["toImageButtonOptions"] for c in configs if "toImageButtonOptions" in c]
    assert options and all(o["format"] == "svg" for o in options)
    assert options[0]["filename"] == "bert-lens-attn-head_chart"


def test_progress_and_cancel_on_a_large_upload():
    data = b"text,label\n" + b"".join(
        f'"{t}",{l}\n'.encode() for t, l in
        [(r["text"].replace('"', "'") + f" ({k})", r["label"]) for k in range(12)
         for r in map(json.loads, HELDOUT.read_text().splitlines())])  # 3,600 rows
    at = open_dataset()
    at.radio(key="ds.source").set_value("Upload a file").run()
    at.file_uploader(key="ds.upload").set_value(("big.csv", data, "text/csv")).run()
    assert not at.exception, at.exception
    job = at.session_state["ds.job.evaluate"]
    assert job.running, "3,600 rows should take longer than the page's 1.5 s wait"
    bar = at.get("progress")[0].proto
    assert "of 3,600 rows" in bar.text
    at.button(key="ds.job.evaluate.cancel").click().run()
    job.wait(60)
    at.run()
    assert job.cancelled and not at.metric
    assert re.fullmatch(r"Cancelled after [\d,]+ of 3,600 rows\.", at.info[0].value)
    assert at.button(key="ds.job.evaluate.again")


def test_a_token_classifier_gets_entity_scores():
    from explain.models.catalog import NER_MODEL

    data = (b'{"text": "Please call Maria Garcia in London", "tags": ["O","O","B-GIVEN_NAME","B-SURNAME","O","B-CITY"]}\n'
            b'{"text": "Write to Ben at Paris", "tags": ["O","O","B-GIVEN_NAME","O","B-CITY"]}\n')
    at = AppTest.from_file(MAIN, default_timeout=300)
    at.query_params["model"] = NER_MODEL
    at.run()
    at.switch_page(page_file("dataset")).run()
    assert at.radio(key="ds.source").value == "Upload a file"  # no held-out sample ships with this model
    at.file_uploader(key="ds.upload").set_value(("pii.jsonl", data, "application/jsonl")).run()
    finish(at)
    ev = evaluate(load_model(NER_MODEL), read_rows(data, name="pii.jsonl"))
    assert metrics(at)["Entity F1 (micro)"] == f"{ev.entities.micro_f1:.3f}"
    assert metrics(at)["Word accuracy"] == f"{ev.word_accuracy:.1%}"
    assert [b.label for b in at.get("download_button")] == ["Entities (CSV)", "Predictions (JSONL)"]


def run_view(at: AppTest, view: str, job: str | None) -> AppTest:
    at.session_state["ds.view"] = view
    at.run()
    for _round in range(20):
        if job is None or not at.get("progress"):
            break
        at.session_state[job].wait(300)
        at.run()
    assert not at.exception, at.exception
    return at


def test_heavy_views_show_the_library_results_when_opened(sentiment):
    from explain.dataset.attributions import dataset_attributions
    from explain.dataset.heads import dataset_head_importance
    from explain.dataset.projector import pca
    from explain.dataset.words import word_summary
    from tests.helpers import decode_plotly

    data = sample_csv(12)
    at = upload(open_dataset(), "twelve.csv", data)
    finish(at)
    assert "ds.job.words" not in at.session_state and "ds.job.heads" not in at.session_state  # not before opened
    rows = read_rows(data, name="twelve.csv")
    ev = evaluate(sentiment, rows)

    at.session_state["ds.method"] = "saliency"  # the cheapest method keeps this test fast
    run_view(at, "words", "ds.job.words")
    summary = word_summary(dataset_attributions(sentiment, rows, method="saliency", evaluation=ev), ev.y_true)
    shown = at.dataframe[-1].value
    assert len(shown) > 5
    assert list(shown["word"]) == [r["word"] for r in summary.table()]
    np.testing.assert_allclose(shown["mean"], [r["mean"] for r in summary.table()], rtol=1e-5)

    run_view(at, "heads", "ds.job.heads")
    grid = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]["marker"]["color"]
    expected = dataset_head_importance(sentiment, rows).normalized.ravel()
    np.testing.assert_allclose(decode_plotly(grid), expected, rtol=1e-4, atol=1e-6)

    run_view(at, "projector", None)
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    xs = np.concatenate([decode_plotly(t["x"]) for t in figure["data"]])
    np.testing.assert_allclose(np.sort(xs), np.sort(pca(ev.features, 3).xy[:, 0]), rtol=1e-5, atol=1e-5)
    at.session_state["ds.point"] = 5  # what a click on row 5's point stores (the browser test clicks)
    at.run()
    assert any(m.value.startswith("**Row 5** (line 7)") for m in at.markdown)
