"""Linear probes per layer: which layer's hidden states hold a word label, and how much of it is real.

For every layer (the embeddings included) a multinomial logistic regression predicts the label of a word
from its standardised hidden state; held-out accuracy and macro-F1 per layer, with two controls:
- the majority-class baseline (always the most frequent training label);
- Hewitt & Liang (EMNLP 2019, "Designing and Interpreting Probes with Control Tasks"): each word type gets
  a random label drawn from the task's training label distribution; a probe of the same kind is fitted
  to those labels. Selectivity = task accuracy - control accuracy: high when the layer holds the
  linguistic label rather than the probe memorising word types.
The centre of gravity (Tenney, Das & Pavlick, ACL 2019, "BERT Rediscovers the Classical NLP Pipeline")
is the expected layer E[l] = sum_l l * delta_l / sum_l delta_l, with delta_l the gain in held-out
macro-F1 that layer l adds to the best of layers 0..l-1 (Tenney et al. use cumulative scalar-mix probes;
the running best of independent per-layer probes stands in for them).

Solver: "torch" (default) minimises exactly scikit-learn's LogisticRegression objective
C * sum_i CE_i + ||W||^2 / 2 (intercept not penalised) for all layers and both tasks at once with
full-batch L-BFGS; "sklearn" fits LogisticRegression(lbfgs) per layer. Both reach the same optimum
(tests/test_probing.py); benchmarks/probing.py times them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from explain.errors import InputError
from explain.i18n import _
from explain.probing.data import ProbeSentences
from explain.probing.features import WordFeatures

SOLVERS = ("torch", "sklearn")


@dataclass(frozen=True)
class ProbeReport:
    """Probes of one label set on every layer.

    layers: 0 = embeddings .. L; accuracy, macro_f1, control_accuracy, selectivity: (L + 1,);
    majority_accuracy / majority_label: the baseline; centre_of_gravity: Tenney's expected layer (macro-F1);
    best_layer: highest held-out accuracy; classes: labels in the order of the probe's outputs;
    n_train, n_test: words; merge: how word pieces became words; solver, seconds: how it was fitted.
    """

    label_set: str
    classes: tuple[str, ...]
    accuracy: np.ndarray
    macro_f1: np.ndarray
    control_accuracy: np.ndarray
    selectivity: np.ndarray
    majority_label: str
    majority_accuracy: float
    centre_of_gravity: float
    best_layer: int
    n_train: int
    n_test: int
    merge: str
    solver: str
    C: float
    seconds: float


def word_labels(data: ProbeSentences, label_set: str, features: WordFeatures) -> np.ndarray:
    """The label of every feature row (the words features kept), as strings (N,)."""
    if label_set not in data.labels:
        raise InputError(_("No label set '{name}'; choose one of {names}.").format(
            name=label_set, names=", ".join(data.label_sets)))
    per = data.labels[label_set]
    return np.array([per[s][w] for s, w in zip(features.sentence, features.word)], dtype=object)


def control_labels(words: np.ndarray, labels: np.ndarray, is_train: np.ndarray, seed: int = 0) -> np.ndarray:
    """Hewitt & Liang's control task: one random label per word type (lower-cased), drawn from the training
    label distribution; every occurrence of the type gets it (N,)."""
    rng = np.random.default_rng(seed)
    values, counts = np.unique(labels[is_train].astype(str), return_counts=True)
    types = np.array([w.lower() for w in words], dtype=object)
    uniq = sorted(set(types))
    drawn = rng.choice(values, size=len(uniq), p=counts / counts.sum())
    table = dict(zip(uniq, drawn))
    return np.array([table[t] for t in types], dtype=object)


def probe_layers(
    data: ProbeSentences,
    features: WordFeatures,
    label_set: str,
    C: float = 0.01,
    solver: str = "torch",
    seed: int = 0,
    max_iter: int = 500,
) -> ProbeReport:
    """Fit a probe per layer on the training words, score it on the held-out words, with both controls."""
    if solver not in SOLVERS:
        raise InputError(_("Unknown solver '{solver}'; choose torch or sklearn.").format(solver=solver))
    start = time.perf_counter()
    labels = word_labels(data, label_set, features)
    is_test = np.array([data.is_test[s] for s in features.sentence])
    train, test = ~is_test, is_test
    if train.sum() == 0 or test.sum() == 0:
        raise InputError(_("The probe needs words in both the training and the held-out sentences."))
    classes = tuple(sorted(set(labels[train].astype(str))))
    index = {c: i for i, c in enumerate(classes)}
    if len(classes) < 2:
        raise InputError(_("Every training word has the same label: a probe needs at least two labels."))
    y = np.array([index.get(str(l), -1) for l in labels])  # -1: a test label never seen in training
    words = np.array([data.words[s][w] for s, w in zip(features.sentence, features.word)], dtype=object)
    y_ctrl = np.array([index[str(l)] for l in control_labels(words, labels, train, seed)])
    X = features.features
    fit = _fit_torch if solver == "torch" else _fit_sklearn
    pred, pred_ctrl = fit(X[:, train], y[train], y_ctrl[train], X[:, test], len(classes), C, max_iter, seed)
    acc = (pred == y[test]).mean(axis=1)
    ctrl = (pred_ctrl == y_ctrl[test]).mean(axis=1)
    f1 = np.array([macro_f1(y[test], p) for p in pred])
    majority = int(np.bincount(y[train], minlength=len(classes)).argmax())
    return ProbeReport(
        label_set=label_set,
        classes=classes,
        accuracy=_frozen(acc),
        macro_f1=_frozen(f1),
        control_accuracy=_frozen(ctrl),
        selectivity=_frozen(acc - ctrl),
        majority_label=classes[majority],
        majority_accuracy=float((y[test] == majority).mean()),
        centre_of_gravity=centre_of_gravity(f1),
        best_layer=int(acc.argmax()),
        n_train=int(train.sum()),
        n_test=int(test.sum()),
        merge=features.merge,
        solver=solver,
        C=C,
        seconds=time.perf_counter() - start,
    )


def centre_of_gravity(scores: np.ndarray) -> float:
    """Tenney et al.'s expected layer from per-layer scores (L + 1,): sum l * delta_l / sum delta_l, where
    delta_l = max(scores[:l + 1]) - max(scores[:l]); 0.0 when no layer improves on the embeddings."""
    best = np.maximum.accumulate(np.asarray(scores, dtype=np.float64))
    delta = np.diff(best)
    if delta.sum() <= 0:
        return 0.0
    return float((np.arange(1, len(best)) * delta).sum() / delta.sum())


def macro_f1(gold: np.ndarray, pred: np.ndarray) -> float:
    """Macro-F1 over the classes present in gold or predictions (scikit-learn's default)."""
    from sklearn.metrics import f1_score

    return float(f1_score(gold, pred, average="macro", zero_division=0))


def standardise(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per layer: subtract the training mean, divide by the training standard deviation (1 where 0).
    (L, N, D) arrays in, float32 out."""
    mean = train.mean(axis=1, keepdims=True)
    std = train.std(axis=1, keepdims=True)
    std[std == 0] = 1.0
    return ((train - mean) / std).astype(np.float32), ((test - mean) / std).astype(np.float32)


def _fit_sklearn(X_train, y, y_ctrl, X_test, n_classes, C, max_iter, seed):
    """scikit-learn's LogisticRegression (lbfgs), one fit per layer and task. Predictions (L, n_test) x 2."""
    from sklearn.linear_model import LogisticRegression

    Xtr, Xte = standardise(X_train, X_test)
    preds = []
    for target in (y, y_ctrl):
        rows = []
        for layer in range(Xtr.shape[0]):
            model = LogisticRegression(C=C, max_iter=max_iter, tol=1e-6, random_state=seed)
            rows.append(model.fit(Xtr[layer], target).predict(Xte[layer]))
        preds.append(np.array(rows))
    return preds[0], preds[1]


def _fit_torch(X_train, y, y_ctrl, X_test, n_classes, C, max_iter, seed):
    """One full-batch L-BFGS per layer and task on scikit-learn's objective, scaled by 1/N:
    mean CE + ||W||^2 / (2 C N); stops when the largest gradient entry is under 1e-4 (as sklearn's tol).
    Each layer starts from the previous layer's solution (same optimum, about a third fewer steps).
    Predictions (L, n_test) for the task and for the control."""
    Xtr, Xte = standardise(X_train, X_test)
    preds = []
    for target in (y, y_ctrl):
        t = torch.from_numpy(target)
        rows, start = [], None
        for layer in range(Xtr.shape[0]):
            W, b = start = _lbfgs_softmax(torch.from_numpy(Xtr[layer]), t, n_classes, C, max_iter, start)
            rows.append((torch.from_numpy(Xte[layer]) @ W + b).argmax(-1).numpy())
        preds.append(np.array(rows))
    return preds[0], preds[1]


def _lbfgs_softmax(X: torch.Tensor, y: torch.Tensor, n_classes: int, C: float, max_iter: int,
                   start: tuple[torch.Tensor, torch.Tensor] | None = None):
    """Multinomial logistic regression (N, D) -> W (D, C), b (C,) by L-BFGS with strong-Wolfe line search,
    from `start` (W, b) or zeros. The objective is strictly convex: the start changes the steps, not the optimum."""
    N, D = X.shape
    W = (torch.zeros(D, n_classes) if start is None else start[0].clone()).requires_grad_(True)
    b = (torch.zeros(n_classes) if start is None else start[1].clone()).requires_grad_(True)
    opt = torch.optim.LBFGS([W, b], lr=1, max_iter=max_iter, tolerance_grad=1e-4, tolerance_change=1e-9,
                            history_size=10, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(X @ W + b, y) + (W * W).sum() / (2 * C * N)
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    return W.detach(), b.detach()


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a
