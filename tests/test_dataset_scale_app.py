"""The Data set page at 50,000 rows (issue 17), through AppTest: every row evaluated (metrics equal
scikit-learn on the library's own predictions for the file read whole), the row table in pages, the
projector's stratified sample, and one data-set job at a time per session.

A tiny random BERT classifier saved as a folder keeps 50,000 rows to seconds (the page's work, not the
model's, is what is tested); the shipped held-out reviews repeated are the data.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score

from bert_lens.views.dataset.jobs import RESULTS
from explain import load_model
from explain.dataset.evaluate import evaluate
from explain.dataset.reader import read_rows
from explain.dataset.sampling import row_keys, strata_of, stratified_sample
from tests.helpers import decode_plotly
from tests.test_dataset_app import HELDOUT, finish, metrics, open_dataset, upload

pytestmark = [pytest.mark.app, pytest.mark.slow]  # AppTest over 50,000 rows


def repeated(n: int) -> bytes:
    """The shipped held-out reviews repeated to n rows (JSON Lines)."""
    lines = HELDOUT.read_text(encoding="utf-8").splitlines()
    return ("\n".join((lines * (n // len(lines) + 1))[:n]) + "\n").encode()


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory, tokenizer):
    """A random 2-layer BERT classifier (rotten/fresh) with the default tokenizer, saved as a user saves one."""
    from tests.helpers import tiny_bundle

    folder = tmp_path_factory.mktemp("tiny-sentiment")
    tiny_bundle(tokenizer, "sequence-classification", labels=("rotten", "fresh")).model.save_pretrained(
        folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return str(folder)


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread, as a hosted server runs (torch_threads = 1): on a busy 2-core machine two threads made
    the tiny model's small matrices 5 to 10 times slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def table_rows(at) -> np.ndarray:
    return at.dataframe[1].value["row"].to_numpy()


def test_fifty_thousand_rows_are_evaluated_paged_and_sampled_for_the_projector(tiny_folder):
    RESULTS.clear()
    data = repeated(50_000)
    at = finish(upload(open_dataset(model=tiny_folder), "big.jsonl", data))
    page_ev = at.session_state["ds.job.evaluate"].result
    assert metrics(at)["Rows"] == "50,000" and len(page_ev) == 50_000

    # the library on the file's 300 distinct rows read whole (row i of the file is row i % 300 of the sample),
    # its predictions scored by scikit-learn
    distinct = evaluate(load_model(tiny_folder), read_rows(HELDOUT), features=False)
    tile = np.arange(50_000) % len(distinct)
    y_true, y_pred = distinct.y_true[tile], distinct.y_pred[tile]
    assert np.array_equal(page_ev.y_pred, y_pred) and np.array_equal(page_ev.y_true, y_true)
    np.testing.assert_allclose(page_ev.probs, distinct.probs[tile], atol=1e-5)
    accuracy, macro = accuracy_score(y_true, y_pred), f1_score(y_true, y_pred, average="macro")
    assert page_ev.metrics.accuracy == pytest.approx(accuracy, abs=1e-12)
    assert page_ev.metrics.macro_f1 == pytest.approx(macro, abs=1e-9)
    assert metrics(at)["Accuracy"] == f"{accuracy:.1%}" and metrics(at)["Macro-F1"] == f"{macro:.3f}"

    # the row table: one page of 100 rows (sorted by loss), the next page, a larger page
    by_loss = np.argsort(-page_ev.loss, kind="stable")
    assert np.array_equal(table_rows(at), by_loss[:100])
    captions = " ".join(c.value for c in at.caption)
    assert "Rows 1 to 100 of 50,000 that match (50,000 rows evaluated); page 1 of 500." in captions
    at.number_input(key="ds.page").set_value(2).run()
    assert np.array_equal(table_rows(at), by_loss[100:200])
    at.selectbox(key="ds.page_size").set_value(500).run()
    assert np.array_equal(table_rows(at), by_loss[500:1000])  # page 2 of 500-row pages
    at.toggle(key="ds.errors").set_value(True).run()  # a new filter: back to page 1
    errors = by_loss[~page_ev.correct[by_loss]]
    assert np.array_equal(table_rows(at), errors[:500])
    assert f"of {len(errors):,} that match" in " ".join(c.value for c in at.caption)

    # the projector: a fixed sample of 2,000 rows stratified by gold label x correct
    at.session_state["ds.view"] = "projector"
    at.run()
    assert not at.exception, at.exception
    expected = stratified_sample(strata_of(page_ev.y_true, page_ev.correct), row_keys(50_000, 0), 2_000)
    assert np.array_equal(page_ev.feature_rows, expected)
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    shown = np.sort(np.concatenate([np.asarray(decode_plotly(t["customdata"])).ravel() for t in figure["data"]]))
    assert np.array_equal(shown, expected)
    assert any(c.value.startswith("Showing 2,000 of 50,000 rows: a fixed random sample (seed 0) stratified by gold "
                                  "label and correct or wrong") for c in at.caption)


def test_a_second_evaluation_cancels_the_running_one_with_a_message(tiny_folder):
    RESULTS.clear()
    at = upload(open_dataset(model=tiny_folder), "big.jsonl", repeated(50_000))
    first = at.session_state["ds.job.evaluate"]
    assert first.running, "50,000 rows should take longer than the page's 1.5 s wait"
    at.file_uploader(key="ds.upload").set_value(("small.jsonl", repeated(300), "application/jsonl")).run()
    assert not at.exception, at.exception
    assert first.cancelled and not first.running
    assert any(m.value == "One data-set job runs at a time per session: Evaluating was cancelled to start this one."
               for m in at.info)
    finish(at)
    assert metrics(at)["Rows"] == "300"
