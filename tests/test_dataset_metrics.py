"""Data-set metrics against independent computations: scikit-learn, seqeval, direct recomputation of each formula."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from explain.dataset.entities import entities, entity_metrics
from explain.dataset.metrics import classification_metrics, expected_calibration_error
from explain.dataset.projector import pca
from explain.dataset.words import WordTally, log_odds_z, summarize_words
from explain.errors import InputError


def fixed_set(n=500, C=4, seed=7):
    """Gold labels and probabilities of a 4-class problem where class 3 is never predicted."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, C, n)
    logits = rng.normal(size=(n, C)) + 2.0 * np.eye(C)[y]
    logits[:, 3] -= 10.0
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    return y, probs


def test_classification_metrics_equal_scikit_learn():
    y, probs = fixed_set()
    pred = probs.argmax(1)
    m = classification_metrics(y, probs, ("a", "b", "c", "d"))
    assert (pred == 3).sum() == 0 and (y == 3).sum() > 0  # a class with support but no prediction
    assert m.accuracy == pytest.approx(accuracy_score(y, pred), abs=1e-12)
    assert m.macro_f1 == pytest.approx(f1_score(y, pred, average="macro", zero_division=0), abs=1e-12)
    assert m.weighted_f1 == pytest.approx(f1_score(y, pred, average="weighted", zero_division=0), abs=1e-12)
    p, r, f, s = precision_recall_fscore_support(y, pred, labels=[0, 1, 2, 3], zero_division=0)
    np.testing.assert_allclose(m.precision, p, atol=1e-12)
    np.testing.assert_allclose(m.recall, r, atol=1e-12)
    np.testing.assert_allclose(m.f1, f, atol=1e-12)
    np.testing.assert_array_equal(m.support, s)
    np.testing.assert_array_equal(m.confusion, confusion_matrix(y, pred, labels=[0, 1, 2, 3]))
    assert m.mean_loss == pytest.approx(-np.log(probs[np.arange(len(y)), y]).mean())
    assert m.table()[3] == {"label": "d", "precision": 0.0, "recall": 0.0, "f1": 0.0, "support": int(s[3]), "predicted": 0}


def test_macro_f1_counts_only_classes_that_occur_like_scikit_learn():
    y = np.array([0, 0, 1, 1, 1])
    probs = np.eye(5)[[0, 1, 1, 1, 0]]  # classes 2-4 never occur
    m = classification_metrics(y, probs, tuple("abcde"))
    assert m.macro_f1 == pytest.approx(f1_score(y, probs.argmax(1), average="macro"))


def test_expected_calibration_error_equals_a_direct_recomputation():
    y, probs = fixed_set(n=2000, seed=3)
    conf = probs.max(1)
    conf[:5] = [1 / 15, 0.6, 1.0, 0.2, 14 / 15]  # on bin edges: (lo, hi] puts them in the lower bin
    correct = probs.argmax(1) == y
    ece, rel = expected_calibration_error(conf, correct, n_bins=15)
    direct, counts = 0.0, []
    for k in range(15):
        lo, hi = k / 15, (k + 1) / 15
        inside = [i for i in range(len(conf)) if (lo < conf[i] <= hi) or (k == 0 and conf[i] == 0)]
        counts.append(len(inside))
        if inside:
            direct += len(inside) / len(conf) * abs(np.mean(correct[inside]) - np.mean(conf[inside]))
    assert ece == pytest.approx(direct, abs=1e-12)
    assert rel.count.tolist() == counts and rel.count.sum() == len(conf)
    assert np.isnan(rel.accuracy[rel.count == 0]).all()
    perfect, _ = expected_calibration_error(np.array([0.8] * 10), np.array([True] * 8 + [False] * 2))
    assert perfect == pytest.approx(0.0, abs=1e-12)


def test_metrics_refuse_bad_shapes():
    with pytest.raises(InputError):
        classification_metrics([], np.zeros((0, 2)), ("a", "b"))
    with pytest.raises(InputError, match="between 0 and 1"):
        classification_metrics([2], np.array([[0.5, 0.5]]), ("a", "b"))


# ---- entities (seqeval) --------------------------------------------------------------------------


def test_entities_by_hand():
    """Checked by hand with the conlleval rules: I- after O or another type starts a chunk."""
    assert entities(["B-PER", "I-PER", "O", "I-LOC", "B-LOC", "I-PER"]) == [
        ("PER", 0, 1), ("LOC", 3, 3), ("LOC", 4, 4), ("PER", 5, 5)]
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-ORG", "I-ORG", "I-ORG"]]
    pred = [["B-PER", "I-PER", "O", "B-ORG"], ["O", "B-ORG", "I-ORG", "O"]]
    m = entity_metrics(gold, pred)
    # gold: PER(0-1), LOC(3), ORG(1-3); predicted: PER(0-1), ORG(3), ORG(1-2): only PER is exact.
    assert m.types == ("LOC", "ORG", "PER") and m.n_gold == 3 and m.n_predicted == 3 and m.n_correct == 1
    assert m.micro_precision == m.micro_recall == m.micro_f1 == pytest.approx(1 / 3)
    assert m.f1.tolist() == [0.0, 0.0, 1.0] and m.macro_f1 == pytest.approx(1 / 3)
    assert m.support.tolist() == [1, 1, 1] and m.predicted.tolist() == [0, 2, 1]


def random_tag(rng, types=("PER", "LOC", "ORG", "MISC")) -> str:
    r = rng.random()
    return "O" if r < 0.5 else f"{'B' if r < 0.8 else 'I'}-{types[rng.integers(len(types))]}"


def random_tags(rng, n_sentences=300):
    return [[random_tag(rng) for _ in range(int(rng.integers(1, 15)))] for _ in range(n_sentences)]


def test_entity_metrics_equal_seqeval():
    seqeval = pytest.importorskip("seqeval.metrics")
    rng = np.random.default_rng(11)
    gold = random_tags(rng)
    # predictions: the gold tags with about a fifth of them replaced at random
    pred = [[g if rng.random() > 0.2 else random_tag(rng) for g in tags] for tags in gold]
    m = entity_metrics(gold, pred)
    assert m.micro_precision == pytest.approx(seqeval.precision_score(gold, pred), abs=1e-12)
    assert m.micro_recall == pytest.approx(seqeval.recall_score(gold, pred), abs=1e-12)
    assert m.micro_f1 == pytest.approx(seqeval.f1_score(gold, pred), abs=1e-12)
    assert m.macro_f1 == pytest.approx(seqeval.f1_score(gold, pred, average="macro"), abs=1e-12)
    report = seqeval.classification_report(gold, pred, output_dict=True, zero_division=0)
    for row in m.table():
        ref = report[row["type"]]
        assert (row["precision"], row["recall"], row["f1"], row["support"]) == pytest.approx(
            (ref["precision"], ref["recall"], ref["f1-score"], ref["support"]), abs=1e-12)


# ---- projector -----------------------------------------------------------------------------------


def test_pca_equals_scikit_learn_up_to_sign():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(200, 24)) @ rng.normal(size=(24, 24)) + 3.0
    p = pca(X, 3)
    ref = PCA(n_components=3, svd_solver="full").fit(X)
    signs = np.sign((p.coordinates * ref.transform(X)).sum(0))
    np.testing.assert_allclose(p.coordinates, ref.transform(X) * signs, atol=1e-9)
    np.testing.assert_allclose(p.explained_variance_ratio, ref.explained_variance_ratio_, atol=1e-12)
    np.testing.assert_allclose(p.xy, pca(X, 2).coordinates, atol=1e-9)
    # deterministic sign: the largest loading of each axis is positive
    assert all(c[np.abs(c).argmax()] > 0 for c in p.components)
    tiny = pca(X[:2], 3)
    assert tiny.coordinates.shape == (2, 3) and np.all(tiny.coordinates[:, 2] == 0)
    with pytest.raises(InputError):
        pca(X[:1])


# ---- Monroe et al. 2008 log-odds with an informative Dirichlet prior --------------------------------


def test_log_odds_z_equals_the_papers_formula():
    rng = np.random.default_rng(2)
    freq = {f"w{i}": rng.integers(0, 30, 3) for i in range(50)}
    freq["only_c1"] = np.array([0, 25, 0])
    z = log_odds_z(freq, target=1, prior_strength=0.1)
    n = sum(int(v.sum()) for v in freq.values())
    a0 = 0.1 * n
    n_c = sum(int(v[1]) for v in freq.values())
    n_r = n - n_c
    for w, v in freq.items():
        y_c, y_r = float(v[1]), float(v[0] + v[2])
        a_w = a0 * float(v.sum()) / n
        delta = np.log((y_c + a_w) / (n_c + a0 - y_c - a_w)) - np.log((y_r + a_w) / (n_r + a0 - y_r - a_w))
        sigma = np.sqrt(1 / (y_c + a_w) + 1 / (y_r + a_w))
        assert z[w] == pytest.approx(delta / sigma, rel=1e-12)
    assert z["only_c1"] > 1.96 and max(z, key=z.get) == "only_c1"


def test_shortcut_rule_on_a_planted_tally():
    """'spielberg' only in class 1 with a high attribution is flagged; 'the' (even) and 'dull'
    (skewed to class 0 but pushing away from class 1) are not."""
    C = 2
    attr = {
        "spielberg": np.array([[0, 0, 0], [30, 30 * 0.4, 30 * 0.16]]),
        "the": np.array([[60, 60 * 0.3, 60 * 0.09], [60, 60 * 0.3, 60 * 0.09]]),
        "dull": np.array([[30, 30 * 0.35, 30 * 0.1225], [10, -10 * 0.2, 10 * 0.04]]),
        "film": np.array([[40, 40 * 0.01, 40 * 0.01], [40, 40 * 0.02, 40 * 0.01]]),
        "rare": np.array([[0, 0, 0], [2, 2 * 0.9, 2 * 0.81]]),
    }
    freq = {"spielberg": np.array([0, 30]), "the": np.array([60, 60]), "dull": np.array([30, 10]),
            "film": np.array([40, 40]), "rare": np.array([0, 2])}
    summary = summarize_words(WordTally(("neg", "pos"), attr, freq), min_count=3)
    assert [(s.word, s.label) for s in summary.shortcuts] == [("spielberg", "pos"), ("dull", "neg")]
    top_pos = summary.per_class[1]
    assert [s.word for s in top_pos] == ["spielberg", "the", "film", "dull"]  # 'rare' is under min_count
    assert top_pos[0].mean == pytest.approx(0.4) and top_pos[0].std == pytest.approx(0.0, abs=1e-9)
    assert top_pos[0].count == 30 and top_pos[0].frequency == (0, 30)
    assert summary.per_class[0][0].std == pytest.approx(np.sqrt(0.1225 - 0.35**2), abs=1e-9)
    merged = WordTally(("neg", "pos"), attr, freq) + WordTally(("neg", "pos"), attr, freq)
    assert merged.attribution["the"][0, 0] == 120 and merged.frequency["dull"].tolist() == [60, 20]
    assert C == len(summary.labels)
