"""Probes per layer: features from one padded batch, accuracies against scikit-learn, controls, CSV input."""

from __future__ import annotations

import numpy as np
import pytest

from explain import InputError, run_model
from explain.probing.data import ProbeSentences, load_shipped, read_label_csv, shipped_card
from explain.probing.features import WordFeatures, word_features
from explain.probing.probes import centre_of_gravity, control_labels, probe_layers

SENTENCES = [
    ["The", "bank", "raised", "interest", "rates", "."],
    ["Unbelievably", ",", "she", "won", "."],
    ["A", "very", "long", "sentence", "about", "tokenization", "and", "antidisestablishmentarianism", "follows", "here", "."],
    ["Paris", "is", "in", "France"],
]


@pytest.fixture(scope="module")
def probe_set() -> ProbeSentences:
    return load_shipped().head(50)


@pytest.fixture(scope="module")
def tiny_features(tiny_mlm, probe_set) -> WordFeatures:
    return word_features(tiny_mlm, probe_set.words)


@pytest.mark.parametrize("merge", ["first", "mean"])
def test_padding_and_batching_do_not_change_word_features(tiny_mlm, merge):
    together = word_features(tiny_mlm, SENTENCES, merge=merge, max_batch_tokens=10_000)
    alone = word_features(tiny_mlm, SENTENCES, merge=merge, max_batch_tokens=1)
    assert together.features.shape == (3, sum(map(len, SENTENCES)), 32)
    np.testing.assert_allclose(together.features, alone.features, atol=1e-5)
    assert together.merge == merge and together.dropped_words == 0
    # against the app's own forward pass, one sentence at a time, pieces merged here
    for i, words in enumerate(SENTENCES):
        run = run_model(tiny_mlm, " ".join(words))
        rows = together.features[:, together.sentence == i]
        for w in range(len(words)):
            pieces = np.flatnonzero(run.word_ids == w)
            want = run.hidden_states[:, pieces[0]] if merge == "first" else run.hidden_states[:, pieces].mean(axis=1)
            np.testing.assert_allclose(rows[:, w], want, atol=1e-5)


@pytest.mark.slow
def test_probe_accuracy_equals_a_scikit_learn_fit(tiny_features, probe_set):
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score

    report = probe_layers(probe_set, tiny_features, "pos", C=0.5)
    labels = np.array([probe_set.labels["pos"][s][w] for s, w in zip(tiny_features.sentence, tiny_features.word)])
    test = np.array([probe_set.is_test[s] for s in tiny_features.sentence])
    assert report.n_train == (~test).sum() and report.n_test == test.sum()
    for layer in range(tiny_features.num_layers):
        X = tiny_features.features[layer].astype(np.float64)
        mean, std = X[~test].mean(0), X[~test].std(0)
        fit = LogisticRegression(C=0.5, tol=1e-7, max_iter=3000).fit((X[~test] - mean) / std, labels[~test])
        pred = fit.predict((X[test] - mean) / std)
        assert report.accuracy[layer] == pytest.approx((pred == labels[test]).mean(), abs=2 / test.sum())
        assert report.macro_f1[layer] == pytest.approx(f1_score(labels[test], pred, average="macro"), abs=0.02)
    majority = max(set(labels[~test]), key=list(labels[~test]).count)
    assert report.majority_label == majority
    assert report.majority_accuracy == pytest.approx((labels[test] == majority).mean())
    np.testing.assert_allclose(report.selectivity, report.accuracy - report.control_accuracy)


@pytest.mark.slow
def test_sklearn_and_torch_solvers_agree(tiny_features, probe_set):
    a = probe_layers(probe_set, tiny_features, "ner", solver="torch")
    b = probe_layers(probe_set, tiny_features, "ner", solver="sklearn")
    np.testing.assert_allclose(a.accuracy, b.accuracy, atol=2 / a.n_test)
    np.testing.assert_allclose(a.control_accuracy, b.control_accuracy, atol=2 / a.n_test)


@pytest.mark.slow
def test_control_task_gives_no_selectivity_on_random_features(probe_set, tiny_features):
    """Features that carry nothing about the word: task and control probes both fall to chance."""
    rng = np.random.default_rng(0)
    noise = rng.standard_normal((2,) + tiny_features.features.shape[1:]).astype(np.float32)
    random_layer = WordFeatures(noise, tiny_features.sentence, tiny_features.word, "first", 0)
    report = probe_layers(probe_set, random_layer, "pos", C=0.1)
    # about 300 held-out words: one binomial standard deviation of the difference is about 0.035
    assert np.all(np.abs(report.selectivity) < 0.1), report.selectivity
    assert np.all(report.accuracy < report.majority_accuracy + 0.05)


def test_control_labels_follow_word_types_and_the_label_distribution():
    words = np.array(["The", "the", "cat", "dog", "THE", "cat"] * 200, dtype=object)
    labels = np.array(["DET", "DET", "NOUN", "NOUN", "DET", "NOUN"] * 200, dtype=object)
    train = np.ones(len(words), bool)
    ctrl = control_labels(words, labels, train, seed=3)
    assert len(set(ctrl[np.char.lower(words.astype(str)) == "the"])) == 1
    assert len(set(ctrl[words == "cat"])) == 1
    assert set(ctrl) <= {"DET", "NOUN"}
    many = control_labels(np.array([f"w{i}" for i in range(4000)], dtype=object),
                          np.array(["A"] * 3000 + ["B"] * 1000, dtype=object), np.ones(4000, bool))
    assert (many == "A").mean() == pytest.approx(0.75, abs=0.03)


def test_centre_of_gravity_is_tenneys_expected_layer():
    # gains of 0.2 at layer 1 and 0.1 at layer 3 (layer 2 is worse than the best so far: no gain)
    assert centre_of_gravity(np.array([0.5, 0.7, 0.6, 0.8])) == pytest.approx((1 * 0.2 + 3 * 0.1) / 0.3)
    assert centre_of_gravity(np.array([0.9, 0.8, 0.7])) == 0.0


def test_unknown_label_set_and_solver_are_input_errors(tiny_features, probe_set):
    with pytest.raises(InputError, match="No label set 'chunk'"):
        probe_layers(probe_set, tiny_features, "chunk")
    with pytest.raises(InputError, match="solver"):
        probe_layers(probe_set, tiny_features, "pos", solver="newton")
    with pytest.raises(InputError, match="merge"):
        word_features(None, [["a"]], merge="last")


def test_shipped_probe_set_matches_its_card():
    data, card = load_shipped(), shipped_card()
    assert set(data.label_sets) == {"pos", "ner", "dep"}
    assert all(card["label_sets"][k]["quality"] in ("gold", "silver") for k in data.label_sets)
    assert "CC BY-SA" in card["source"]["licence"]
    test = np.array(data.is_test)
    assert card["sizes"]["train"]["sentences"] == (~test).sum() and card["sizes"]["test"]["sentences"] == test.sum()
    assert card["sizes"]["train"]["words"] + card["sizes"]["test"]["words"] == data.num_words
    assert not {d for d, t in zip(data.docs, test) if t} & {d for d, t in zip(data.docs, test) if not t}
    for name in data.label_sets:
        assert all(len(l) == len(w) for l, w in zip(data.labels[name], data.words))


# ---- a user's CSV ----------------------------------------------------------------------------------

GOOD = "text,labels,split\n" + "".join(
    f'"The cat {i} sat .",DET NOUN NUM VERB PUNCT,{"test" if i % 4 == 0 else "train"}\n' for i in range(12))


def test_a_label_csv_reads_sentences_labels_and_splits():
    data = read_label_csv(GOOD)
    assert data.label_sets == ("labels",)
    assert data.words[1] == ("The", "cat", "1", "sat", ".")
    assert data.labels["labels"][1] == ("DET", "NOUN", "NUM", "VERB", "PUNCT")
    assert sum(data.is_test) == 3
    unsplit = read_label_csv("text,labels\n" + "".join(f"w{i} x{i},A B\n" for i in range(60)))
    assert 0 < sum(unsplit.is_test) < 60


@pytest.mark.parametrize("csv_text, message", [
    ("words,tags\na,B\n", "lacks text, labels"),
    ("text,labels\nthe cat,DET\n", "Row 1, column labels: 1 labels for 2 words"),
    ("text,labels\n" + "a b,X Y\n" * 3 + ",X\n", "Row 4, column text: the text is empty"),
    ("text,labels,split\na,X,dev\n", "Row 1, column split: 'dev'"),
    ("text,labels\na,X\nb,Y\n", "at least 10"),
    ("text,labels\n" + "a b,X X\n" * 12, "same label"),
    ("", "empty"),
    (b"text,labels\n\xff\xfe,X\n", "UTF-8"),
])
def test_bad_label_csvs_name_the_row_and_column(csv_text, message):
    with pytest.raises(InputError, match=message):
        read_label_csv(csv_text)


def test_probes_on_a_users_csv(tiny_mlm):
    data = read_label_csv(GOOD + "".join(f'"A dog {i} ran .",DET NOUN NUM VERB PUNCT,train\n' for i in range(12)))
    report = probe_layers(data, word_features(tiny_mlm, data.words, merge="mean"), "labels")
    assert report.merge == "mean" and report.accuracy.shape == (3,)
    assert report.classes == ("DET", "NOUN", "NUM", "PUNCT", "VERB")
