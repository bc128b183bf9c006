"""Classification metrics of a data set from gold classes and predicted probabilities.

Pure numpy on (N,) gold class ids and (N, C) probabilities, so results of streamed chunks merge by
concatenating those two arrays. Definitions follow scikit-learn (tests compare with it):
accuracy; per class precision = TP / predicted, recall = TP / support, F1 = 2PR / (P + R) with 0
where a denominator is 0 (sklearn's zero_division=0); macro-F1 = the mean F1 over the classes that
occur in the gold labels or the predictions (sklearn's default `labels`); weighted-F1 weights by
support; confusion[i, j] = rows of gold class i predicted as j.
Calibration: expected calibration error (Naeini et al. 2015; Guo et al. 2017, "On Calibration of
Modern Neural Networks") with `n_bins` equal-width bins of the confidence max_c p_c, bin k holding
confidences in (k/n, (k+1)/n]: ECE = sum_k (n_k / N) |accuracy_k - mean confidence_k|.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from explain.errors import InputError
from explain.i18n import _
from explain.run import _frozen

N_BINS = 15  # Guo et al. 2017


@dataclass(frozen=True, eq=False)
class Reliability:
    """Reliability diagram data: per confidence bin, (n_bins,) each; edges (n_bins + 1,).

    `confidence` and `accuracy` are NaN in empty bins.
    """

    edges: np.ndarray
    count: np.ndarray
    confidence: np.ndarray
    accuracy: np.ndarray


@dataclass(frozen=True, eq=False)
class ClassificationMetrics:
    """Metrics of one evaluation; per-class arrays are in the model's class order, (C,) each.

    Attributes:
        labels: class names, (C,). n: rows.
        accuracy, macro_f1, weighted_f1: floats.
        precision, recall, f1, support: per class; support = gold rows of the class.
        predicted: rows predicted as each class.
        confusion: (C, C) counts, rows gold, columns predicted.
        ece: expected calibration error; reliability: its bins.
        mean_loss: mean cross-entropy of the gold class (nats).
    """

    labels: tuple[str, ...]
    n: int
    accuracy: float
    macro_f1: float
    weighted_f1: float
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    support: np.ndarray
    predicted: np.ndarray
    confusion: np.ndarray
    ece: float
    reliability: Reliability
    mean_loss: float

    def table(self) -> list[dict]:
        """One dict per class: label, precision, recall, f1, support, predicted (for tables and CSV)."""
        return [
            {"label": c, "precision": float(p), "recall": float(r), "f1": float(f), "support": int(s),
             "predicted": int(k)}
            for c, p, r, f, s, k in zip(self.labels, self.precision, self.recall, self.f1, self.support, self.predicted)
        ]

    def as_dict(self) -> dict:
        """JSON-ready summary (metrics.json)."""
        rel = self.reliability
        return {
            "n": self.n, "accuracy": self.accuracy, "macro_f1": self.macro_f1, "weighted_f1": self.weighted_f1,
            "ece": self.ece, "mean_loss": self.mean_loss, "labels": list(self.labels), "per_class": self.table(),
            "confusion": self.confusion.tolist(),
            "reliability": {"edges": rel.edges.tolist(), "count": rel.count.tolist(),
                            "confidence": _nan_to_none(rel.confidence), "accuracy": _nan_to_none(rel.accuracy)},
        }


def classification_metrics(
    y_true: Sequence[int] | np.ndarray, probs: np.ndarray, labels: Sequence[str], n_bins: int = N_BINS
) -> ClassificationMetrics:
    """Metrics from gold class ids (N,) and probabilities (N, C); the prediction is argmax (first on ties).

    Raises:
        InputError: no rows, shapes that disagree, or a gold id outside 0 .. C-1.
    """
    y_true = np.asarray(y_true, dtype=np.int64)
    probs = np.asarray(probs, dtype=np.float64)
    C = len(labels)
    if len(y_true) == 0 or probs.shape != (len(y_true), C):
        raise InputError(_("Metrics need at least one row and one probability per class for each row."))
    if y_true.min() < 0 or y_true.max() >= C:
        raise InputError(_("Gold class ids must lie between 0 and {last}.").format(last=C - 1))
    y_pred = probs.argmax(1)
    confusion = np.bincount(y_true * C + y_pred, minlength=C * C).reshape(C, C)
    tp = np.diag(confusion).astype(np.float64)
    support = confusion.sum(1)
    predicted = confusion.sum(0)
    precision = _ratio(tp, predicted)
    recall = _ratio(tp, support)
    f1 = _ratio(2 * precision * recall, precision + recall)
    present = (support + predicted) > 0
    n = len(y_true)
    loss = -np.log(np.clip(probs[np.arange(n), y_true], 1e-300, None))
    ece, reliability = expected_calibration_error(probs.max(1), y_pred == y_true, n_bins)
    return ClassificationMetrics(
        labels=tuple(labels),
        n=n,
        accuracy=float(tp.sum() / n),
        macro_f1=float(f1[present].mean()),
        weighted_f1=float((f1 * support).sum() / support.sum()),
        precision=_frozen(precision),
        recall=_frozen(recall),
        f1=_frozen(f1),
        support=_frozen(support),
        predicted=_frozen(predicted),
        confusion=_frozen(confusion),
        ece=ece,
        reliability=reliability,
        mean_loss=float(loss.mean()),
    )


def expected_calibration_error(
    confidence: np.ndarray, correct: np.ndarray, n_bins: int = N_BINS
) -> tuple[float, Reliability]:
    """ECE of confidences (N,) in [0, 1] against correctness (N,), with equal-width bins (k/n, (k+1)/n]."""
    confidence = np.asarray(confidence, dtype=np.float64)
    correct = np.asarray(correct, dtype=np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, n_bins - 1)
    count = np.bincount(which, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        conf = np.bincount(which, weights=confidence, minlength=n_bins) / count
        acc = np.bincount(which, weights=correct, minlength=n_bins) / count
    filled = count > 0
    ece = float((count[filled] / len(confidence) * np.abs(acc[filled] - conf[filled])).sum())
    return ece, Reliability(_frozen(edges), _frozen(count), _frozen(conf), _frozen(acc))


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num, den = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def _nan_to_none(values: np.ndarray) -> list:
    return [None if np.isnan(v) else float(v) for v in values]
