"""Batched evaluation of a data set: padding changes nothing, the head's input is what the head reads,
metrics match the shipped head's card, progress and cancel work, token classification is scored per word."""

from __future__ import annotations

import itertools
import json
import threading

import numpy as np
import pytest
import torch

from explain import load_model, run_model
from explain.dataset.batching import encode_rows, length_batches
from explain.dataset.evaluate import concat_evaluations, evaluate
from explain.dataset.labels import LabelMismatch
from explain.dataset.reader import read_rows, rows_from_texts
from explain.errors import Cancelled, InputError
from explain.models.arch import classifier_features, encoder_of, final_linear
from explain.models.catalog import NER_MODEL
from explain.models.heads import HEADS_DIR
from explain.run import encode
from tests.tiny_classifiers import FAMILIES, family_bundle

SENTIMENT = "MiniLM + movie-review sentiment head (rotten/fresh)"
HELDOUT = HEADS_DIR / "minilm-sentiment" / "heldout.jsonl"
TEXTS = [
    "A gripping, beautifully shot film.",
    "Dull.",
    "The acting is wooden and the story drags on and on, " * 6,
    "Nothing happens, slowly, for two hours; I loved every minute.",
    "Call me at 555 0100.",
    "Maria Garcia lives in London and works at the bank, she says, and she likes it there a lot.",
    "ok",
    "The plot is thin but the performances are wonderful.",
]
PAIRS = [None, "Is it good?", None, "Really.", None, "Where does she live?", "fine", None]
LABELS = ["pos", "neg", "neg", "pos", "neg", "pos", "pos", "pos"]


@pytest.fixture(scope="module")
def heldout():
    return read_rows(HELDOUT)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("task", ["sequence-classification", "token-classification"])
def test_final_linear_of_classifier_features_is_the_models_logits(tokenizer, family, task):
    bundle = family_bundle(family, task, tokenizer, labels=("a", "b", "c"))
    enc = bundle.tokenizer(TEXTS[:3], padding=True, truncation=True, max_length=bundle.max_tokens, return_tensors="pt")
    inputs = {k: v for k, v in enc.items() if k != "token_type_ids" or bundle.arch.has_token_types}
    with torch.no_grad():
        logits = bundle.model(**inputs).logits
        hidden = encoder_of(bundle.model)(**inputs).last_hidden_state
        feats = classifier_features(bundle.model, hidden)
        again = final_linear(bundle.model)(feats)
    assert feats.shape == ((3, 32) if task == "sequence-classification" else (3, hidden.shape[1], 32))
    torch.testing.assert_close(again, logits, atol=1e-6, rtol=0)


@pytest.mark.parametrize("family", FAMILIES)
def test_batched_padded_logits_equal_one_row_run_model(tokenizer, family):
    bundle = family_bundle(family, "sequence-classification", tokenizer, labels=("neg", "pos"))
    rows = rows_from_texts(TEXTS, LABELS, PAIRS)
    ev = evaluate(bundle, rows, batch_rows=3)  # several padded batches of mixed lengths
    assert ev.truncated.any()  # the long row is cut at the tiny model's 64 positions, as run_model cuts it
    for i, (text, pair) in enumerate(zip(TEXTS, PAIRS)):
        run = run_model(bundle, text, pair)
        np.testing.assert_allclose(ev.logits[i], run.head_logits, atol=1e-5, rtol=0)
        assert ev.n_tokens[i] == run.num_tokens
        hidden = torch.from_numpy(run.hidden_states[-1][None].copy())
        with torch.no_grad():
            feats = classifier_features(bundle.model, hidden)[0].numpy()
        np.testing.assert_allclose(ev.features[i], feats, atol=1e-5, rtol=0)
    np.testing.assert_allclose(ev.probs.sum(1), 1.0, atol=1e-12)
    np.testing.assert_allclose(ev.loss, -np.log(ev.probs[np.arange(len(rows)), ev.y_true]), atol=1e-12)


def test_encode_rows_tokenizes_like_encode(sentiment):
    enc = encode_rows(sentiment, TEXTS, PAIRS)
    for i, (text, pair) in enumerate(zip(TEXTS, PAIRS)):
        one, _ = encode(sentiment, text, pair)
        assert enc.input_ids[i].tolist() == one["input_ids"][0].tolist()
        assert enc.token_type_ids[i].tolist() == one["token_type_ids"][0].tolist()
        assert enc.word_ids[i].tolist() == [-1 if w is None else w for w in one.word_ids(0)]


def test_length_batches_cover_every_row_once_within_limits():
    lengths = np.random.default_rng(0).integers(3, 200, 500)
    batches = length_batches(lengths, max_rows=32, max_positions=2000, seed=1)
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(500))
    assert all(len(b) <= 32 and (len(b) == 1 or len(b) * lengths[b].max() <= 2000) for b in batches)
    spread = [lengths[b].max() - lengths[b].min() for b in batches]
    assert max(spread) < 30  # similar lengths together
    assert [b.tolist() for b in batches] == [b.tolist() for b in length_batches(lengths, 32, 2000, seed=1)]


@pytest.mark.slow
def test_shipped_head_on_its_heldout_sample_matches_its_card(sentiment, heldout):
    ev = evaluate(sentiment, heldout)
    card = sentiment.card["metrics"]["heldout_jsonl"]
    assert ev.metrics.accuracy == pytest.approx(card["accuracy"], abs=1e-9)
    assert ev.metrics.macro_f1 == pytest.approx(card["macro_f1"], abs=1e-4)
    assert ev.metrics.confusion.tolist() == card["confusion"]
    assert ev.features.shape == (300, 384) and ev.feature_name.startswith("pooled")
    assert ev.n_tokens.max() <= 64 and not ev.truncated.any()
    sample = np.arange(0, 300, 23)
    for i in sample:
        np.testing.assert_allclose(ev.logits[i], run_model(sentiment, heldout.texts[i]).head_logits, atol=1e-5)
    wrong = ev.errors
    assert len(wrong) == 45 and not ev.correct[wrong].any()
    cell = ev.in_cell(0, 1)
    assert len(cell) == 25 and (ev.y_true[cell] == 0).all() and (ev.y_pred[cell] == 1).all()
    record = next(ev.records())
    assert json.loads(json.dumps(record))["gold"] == heldout.labels[0]
    assert set(record["probabilities"]) == {"rotten", "fresh"}
    parts = concat_evaluations([evaluate(sentiment, heldout.subset(range(40)), features=False),
                                evaluate(sentiment, heldout.subset(range(40, 90)), features=False)])
    assert parts.features is None and parts.rows.texts == heldout.texts[:90]
    np.testing.assert_allclose(parts.probs, ev.probs[:90], atol=1e-5)
    whole = evaluate(sentiment, heldout.subset(range(90)), features=False).metrics
    np.testing.assert_array_equal(parts.metrics.confusion, whole.confusion)


def test_progress_reports_rows_and_cancel_stops(tiny_classifier):
    rows = rows_from_texts(TEXTS * 5, ["neg", "pos"] * 20)
    calls = []
    evaluate(tiny_classifier, rows, batch_rows=8, progress=lambda done, total: calls.append((done, total)))
    assert calls[0] == (0, 40) and calls[-1] == (40, 40) and len(calls) == 6
    assert all(a[0] < b[0] for a, b in itertools.pairwise(calls))
    cancel = threading.Event()

    def stop_after_first(done, total):
        if done:
            cancel.set()

    with pytest.raises(Cancelled, match="Cancelled after 8 of 40 rows") as err:
        evaluate(tiny_classifier, rows, batch_rows=8, progress=stop_after_first, cancel=cancel)
    assert (err.value.done, err.value.total) == (8, 40)


def test_labels_are_matched_and_mismatches_explained(tiny_classifier):
    rows = rows_from_texts(TEXTS[:4], ["1", "0", "0", "1"])
    ev = evaluate(tiny_classifier, rows)
    assert ev.y_true.tolist() == [1, 0, 0, 1] and ev.match.describe()[0] == "1 -> pos (class id)"
    bad = rows_from_texts(TEXTS[:4], ["good", "bad", "bad", "good"])
    with pytest.raises(LabelMismatch, match="'good', 'bad'"):
        evaluate(tiny_classifier, bad)
    mapped = evaluate(tiny_classifier, bad, label_map={"good": "pos", "bad": "neg"})
    assert mapped.y_true.tolist() == [1, 0, 0, 1]


def test_models_without_a_class_head_are_refused(tiny_mlm):
    with pytest.raises(InputError, match="has no classification head"):
        evaluate(tiny_mlm, rows_from_texts(["a"], ["x"]))


# ---- token classification (Rampart PII) --------------------------------------------------------

NER_ROWS = [
    ("Please call Maria Garcia on 020 7946 0958 .", "O O B-GIVEN_NAME B-SURNAME O B-PHONE I-PHONE I-PHONE O"),
    ("Write to john.doe@example.com today", "O O B-EMAIL O"),
    ("She lives at 10 Downing Street , London", "O O O B-BUILDING_NUMBER B-STREET_NAME I-STREET_NAME O B-CITY"),
    ("Nothing personal here at all", "O O O O O"),
    ("Ask Pierre Dupont in Paris", "O B-GIVEN_NAME B-SURNAME O B-CITY"),
]


@pytest.fixture(scope="module")
def ner():
    return load_model(NER_MODEL)


@pytest.mark.slow
def test_tagging_scores_words_by_their_first_piece(ner):
    seqeval = pytest.importorskip("seqeval.metrics")
    rows = rows_from_texts([t for t, _ in NER_ROWS], [g for _, g in NER_ROWS])
    ev = evaluate(ner, rows, batch_rows=2)
    assert type(ev).__name__ == "TaggingEvaluation"
    for i, (text, _tags) in enumerate(NER_ROWS):
        run = run_model(ner, text)  # one row, unpadded; its word ids split punctuation, so walk the pieces
        assert [ner.labels[t] for t in ev.predicted[i]] == _tags_by_words(ner, run, text.split())
    gold = [g.split() for _, g in NER_ROWS]
    pred = [[ner.labels[t] for t in p] for p in ev.predicted]
    assert ev.entities.micro_f1 == pytest.approx(seqeval.f1_score(gold, pred), abs=1e-12)
    assert ev.entities.micro_f1 > 0.6  # a real PII tagger on plain cases
    assert ev.word_accuracy == pytest.approx(np.mean([p == g for ps, gs in zip(pred, gold) for p, g in zip(ps, gs)]))


def _tags_by_words(bundle, run, words):
    """Tag of each whitespace word from a one-row run: the tag at the word's first WordPiece."""
    pieces = [t for t, s in zip(run.tokens, run.special) if not s]
    logits = run.head_logits[~run.special]
    out, k = [], 0
    for word in words:
        n = len(bundle.tokenizer.tokenize(word))
        out.append(bundle.labels[int(np.argmax(logits[k]))])
        k += n
    assert k == len(pieces)
    return out


def test_tagging_rows_need_one_tag_per_word(ner):
    rows = rows_from_texts(["Call Maria now"], ["O B-GIVEN_NAME"])
    with pytest.raises(InputError, match="Line 1 has 3 words but 2 tags"):
        evaluate(ner, rows)
    with pytest.raises(LabelMismatch, match="'B-PER'"):
        evaluate(ner, rows_from_texts(["Call Maria"], ["O B-PER"]))
    ok = evaluate(ner, rows_from_texts(["Call Maria"], ["O B-PER"]), label_map={"B-PER": "B-GIVEN_NAME"})
    assert ok.entities.n_gold == 1
