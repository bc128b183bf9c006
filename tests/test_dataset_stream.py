"""The Data set page's data at scale (issue 17), library side: an upload's bytes scanned and streamed, the
stratified projector sample, and the chunked evaluation against `evaluate` on the rows read whole.

Tiny random classifier; every comparison is against an independent computation (the whole set at once,
the sample drawn directly from every row, counts recomputed by hand).
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from explain.dataset.evaluate import evaluate
from explain.dataset.labels import match_labels
from explain.dataset.reader import capped_sample, read_rows, scan_rows, stream_rows
from explain.dataset.sampling import SampleReservoir, quotas, row_keys, strata_of, stratified_sample
from explain.dataset.streamed import evaluate_stream
from explain.errors import Cancelled, InputError

TEXTS = ["A gripping, beautifully shot film.", "Dull.", "Nothing happens, slowly, for two hours; I loved it.",
         "The acting is wooden and the story drags on.", "ok", "The plot is thin but the cast is wonderful.",
         "Wonderful, moving, funny.", "Awful; I left early and so did everyone else in the room.", "\u200b"]  # the last: no word token


def csv_bytes(n: int) -> bytes:
    texts = [t if t == "\u200b" else f"{t} ({i})" for i, t in ((i, TEXTS[i % len(TEXTS)]) for i in range(n))]
    lines = [f'"{t}",{"pos" if (i * 7) % 3 else "neg"}' for i, t in enumerate(texts)]
    return ("text,label\n" + "\n".join(lines) + "\n").encode()


def test_scan_and_stream_read_an_uploads_bytes_as_they_read_the_file(tmp_path):
    raw = csv_bytes(2_500)
    path = tmp_path / "rows.csv"
    path.write_bytes(raw)
    a, b = scan_rows(raw, name="rows.csv"), scan_rows(path)
    assert (a.rows, a.format, dict(a.label_counts)) == (b.rows, b.format, dict(b.label_counts)) == (
        2_500, "csv", {"neg": sum((i * 7) % 3 == 0 for i in range(2_500)),
                       "pos": sum((i * 7) % 3 != 0 for i in range(2_500))})
    whole = read_rows(raw, name="rows.csv")
    chunks = list(stream_rows(raw, chunk_rows=1_000, name="rows.csv"))
    assert [len(c) for c in chunks] == [1_000, 1_000, 500] and [c.start for c in chunks] == [0, 1_000, 2_000]
    assert sum((c.texts for c in chunks), ()) == whole.texts and sum((c.lines for c in chunks), ()) == whole.lines
    with pytest.raises(InputError, match="needs a 'text' and a 'label' column"):
        scan_rows(b"review,label\nfine,pos\n", name="x.csv")


def test_the_server_cap_keeps_the_rows_read_rows_keeps():
    raw = csv_bytes(300)
    sampled = read_rows(raw, name="rows.csv", max_rows=120)
    keep = capped_sample(300, 120)
    assert tuple(read_rows(raw).texts[i] for i in keep) == sampled.texts
    assert sampled.notices == ("The file has 300 rows; a random sample of 120 is used.",)


def test_quotas_fill_the_sample_give_each_group_its_floor_and_follow_the_sizes():
    counts = np.array([30_000, 15_000, 4_000, 1_000])
    q = quotas(counts, 2_000)
    assert q.sum() == 2_000 and np.all(q <= counts)
    floor = 2_000 // (2 * 4)
    assert np.all(q >= floor)
    rest = counts - floor  # the other half in proportion to what remains of each group
    np.testing.assert_allclose(q - floor, 1_000 * rest / rest.sum(), atol=1)
    assert np.array_equal(quotas(np.array([10, 0, 3]), 2_000), [10, 0, 3])  # every row fits: all of them
    small = quotas(np.array([5_000, 40]), 2_000)
    assert small[1] == 40 and small.sum() == 2_000  # a group smaller than its floor: all of it


def test_the_stratified_sample_is_seeded_and_takes_each_groups_smallest_keys():
    rng = np.random.default_rng(7)
    strata = rng.choice(4, size=50_000, p=[0.6, 0.3, 0.08, 0.02])
    keys = row_keys(50_000, seed=0)
    a = stratified_sample(strata, keys, 2_000)
    assert np.array_equal(a, stratified_sample(strata, row_keys(50_000, seed=0), 2_000))  # the same rows again
    assert not np.array_equal(a, stratified_sample(strata, row_keys(50_000, seed=1), 2_000))
    assert len(a) == 2_000 and np.all(np.diff(a) > 0)
    q = quotas(np.bincount(strata), 2_000)
    assert np.array_equal(np.bincount(strata[a], minlength=4), q)  # stratified as claimed
    for g in range(4):  # within a group: the rows with the smallest keys
        members = np.flatnonzero(strata == g)
        assert set(a[strata[a] == g]) == set(members[np.argsort(keys[members])[: q[g]]])


def test_the_reservoir_over_chunks_equals_the_sample_over_every_row():
    rng = np.random.default_rng(3)
    strata = rng.choice(6, size=20_000, p=[0.5, 0.2, 0.15, 0.1, 0.04, 0.01])
    keys, feats = row_keys(20_000, seed=0), rng.normal(size=(20_000, 3)).astype(np.float32)
    reservoir = SampleReservoir(1_000)
    for start in range(0, 20_000, 1_500):
        ids = np.arange(start, min(start + 1_500, 20_000))
        reservoir.add(ids, strata[ids], keys[ids], feats[ids])
        assert len(reservoir.rows) <= 6 * 1_000  # at most `size` rows per group are ever held
    sample = reservoir.sample()
    expected = stratified_sample(strata, keys, 1_000)
    assert np.array_equal(sample.rows, expected)
    assert np.array_equal(sample.features, feats[expected]) and np.array_equal(sample.counts, np.bincount(strata))


@pytest.fixture(scope="module")
def classifier(tokenizer):
    from tests.helpers import tiny_bundle

    return tiny_bundle(tokenizer, "sequence-classification", labels=("neg", "pos"))


@pytest.mark.slow  # ~3 s: two passes over 1,100 rows
def test_the_streamed_evaluation_equals_evaluate_on_the_rows_read_whole(classifier):
    raw = csv_bytes(1_100)
    rows = read_rows(raw, name="rows.csv")
    whole = evaluate(classifier, rows)
    summary = scan_rows(raw, name="rows.csv")
    match = match_labels(summary.classes, classifier.labels)
    done = []
    ev = evaluate_stream(classifier, stream_rows(raw, chunk_rows=400, name="rows.csv"), match, total=summary.rows,
                         projector_rows=300, progress=lambda d, t: done.append((d, t)))
    assert ev.rows.texts == rows.texts and ev.rows.lines == rows.lines
    assert np.array_equal(ev.y_true, whole.y_true) and np.array_equal(ev.n_tokens, whole.n_tokens)
    np.testing.assert_allclose(ev.probs, whole.probs, atol=1e-5)
    np.testing.assert_allclose(ev.loss, whole.loss, atol=1e-5)
    assert ev.metrics.accuracy == pytest.approx(whole.metrics.accuracy, abs=1 / 1_100)
    assert done[-1] == (1_100, 1_100) and all(t == 1_100 for _d, t in done)
    assert ev.notices == whole.notices  # one notice over all chunks (the zero-width space has no word token), not one per chunk
    # the projector's rows: the stratified sample of every row, with the features evaluate computes for them
    expected = stratified_sample(strata_of(ev.y_true, ev.correct), row_keys(1_100, 0), 300)
    assert np.array_equal(ev.feature_rows, expected) and ev.features.shape == (300, whole.features.shape[1])
    np.testing.assert_allclose(ev.features, whole.features[expected], atol=1e-5)


def test_a_capped_upload_evaluates_the_sample_and_small_data_keeps_every_feature(classifier):
    raw = csv_bytes(900)
    summary = scan_rows(raw, name="rows.csv")
    match = match_labels(summary.classes, classifier.labels)
    keep = capped_sample(900, 250)
    ev = evaluate_stream(classifier, stream_rows(raw, chunk_rows=300, name="rows.csv"), match, total=900, keep=keep)
    sampled = read_rows(raw, name="rows.csv", max_rows=250)
    assert ev.rows.texts == sampled.texts and len(ev) == 250
    assert ev.feature_rows is None and ev.features.shape[0] == 250  # 250 <= 2,000: every row projected
    np.testing.assert_allclose(ev.probs, evaluate(classifier, sampled).probs, atol=1e-5)


def test_cancel_stops_the_streamed_evaluation_with_the_rows_done(classifier):
    raw = csv_bytes(3_000)
    match = match_labels(("neg", "pos"), classifier.labels)
    stop = threading.Event()

    def progress(done, total):
        if done >= 1_200:
            stop.set()

    with pytest.raises(Cancelled, match=r"Cancelled after [\d,]+ of 3,000 rows\."):
        evaluate_stream(classifier, stream_rows(raw, chunk_rows=1_000, name="rows.csv"), match, total=3_000,
                        progress=progress, cancel=stop)
