"""Evaluate a sequence classifier on labelled rows: one batched, length-bucketed pass -> one frozen Evaluation.

    rows = read_rows(upload_bytes, name="reviews.csv")          # or rows_from_texts / stream_rows
    ev = evaluate(bundle, rows, label_map=None, progress=cb, cancel=event)
    ev.metrics.accuracy, ev.metrics.confusion, ev.loss[ev.errors], ev.features  # (N, D') for the projector

Rows are tokenized as the single-sentence pages tokenize them (`explain.dataset.batching`),
sorted by length into batches padded only to their longest row, and run with no gradient through
the shared model (no hook, no state change). Padding changes no result: logits equal one-row
`run_model(...).head_logits` within 1e-5 (tested on four families and the shipped head).

Streaming (the CLI): `scan_rows` the file, `match_labels(summary.classes, bundle.labels, label_map)`
once, then `evaluate(bundle, chunk, match=match, features=False)` per `stream_rows` chunk, write each
chunk's `records()`, keep `y_true` and `probs`, and call `classification_metrics` on their
concatenation at the end (or `concat_evaluations` when every part fits in memory).

Token-classification bundles are handed to `explain.dataset.tagging.evaluate_tagging`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from explain.dataset.batching import MAX_POSITIONS, MAX_ROWS, encode_rows, length_batches, length_notices, pad_batch
from explain.dataset.labels import LabelMatch, resolve_match
from explain.dataset.metrics import ClassificationMetrics, classification_metrics
from explain.dataset.progress import Progress, Tracker
from explain.dataset.reader import Rows
from explain.dataset.tagging import evaluate_tagging
from explain.errors import InputError
from explain.i18n import _
from explain.models.arch import classifier_features, head_input_name
from explain.models.checkpoint import TASK_NAMES, ModelBundle
from explain.run import _frozen


@dataclass(frozen=True, eq=False)
class Evaluation:
    """A sequence classifier on N labelled rows; arrays are read-only and in row order.

    Attributes:
        model_name: the bundle's name. labels: its classes in logit order, (C,).
        rows: the rows evaluated (texts, pairs, labels as written, file lines).
        match: how the data's labels map to the model's classes.
        y_true, y_pred: class ids, (N,). logits, probs: (N, C) (probs: softmax).
        loss: cross-entropy of the gold class in nats, (N,). correct: (N,) bool.
        n_tokens: tokens read, special tokens included, (N,). truncated: cut at max_tokens, (N,).
        features: the head's input representation, (N, D'), float32, or None when not kept
            (`explain.models.arch.classifier_features`; feature_name says which, e.g. pooled [CLS]);
            on a large streamed evaluation only a sample's, (S, D'), in the order of `feature_rows`.
        feature_rows: the rows whose features are kept, (S,) sorted (a stratified sample, see
            `explain.dataset.streamed`), or None when `features` has every row.
        metrics: accuracy, macro-F1, per-class table, confusion matrix, ECE with reliability bins.
        max_tokens: the truncation limit. seconds: wall time of the pass. notices: remarks for the user.
    """

    model_name: str
    labels: tuple[str, ...]
    rows: Rows
    match: LabelMatch
    y_true: np.ndarray
    y_pred: np.ndarray
    logits: np.ndarray
    probs: np.ndarray
    loss: np.ndarray
    correct: np.ndarray
    n_tokens: np.ndarray
    truncated: np.ndarray
    features: np.ndarray | None
    feature_name: str
    metrics: ClassificationMetrics
    max_tokens: int
    seconds: float
    notices: tuple[str, ...] = ()
    feature_rows: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.y_true)

    @property
    def projected_rows(self) -> np.ndarray:
        """The rows whose features are kept, (S,): `feature_rows`, or every row."""
        return np.arange(len(self)) if self.feature_rows is None else self.feature_rows

    @property
    def confidence(self) -> np.ndarray:
        """Probability of the predicted class, (N,)."""
        return self.probs.max(1)

    @property
    def errors(self) -> np.ndarray:
        """Indices of the misclassified rows, (E,)."""
        return np.flatnonzero(~self.correct)

    def in_cell(self, gold: int, predicted: int) -> np.ndarray:
        """Indices of the rows of gold class `gold` predicted as `predicted` (a confusion-matrix cell)."""
        return np.flatnonzero((self.y_true == gold) & (self.y_pred == predicted))

    def records(self, index: Sequence[int] | None = None) -> Iterator[dict]:
        """One JSON-ready dict per row (predictions.jsonl): line, text, text_pair, label, gold, prediction,
        confidence, probabilities by label, loss, correct, tokens, truncated; for the rows `index` (default all)."""
        r = self.rows
        for i in range(len(self)) if index is None else index:
            yield {
                "line": r.lines[i], "text": r.texts[i], "text_pair": r.pairs[i], "label": r.labels[i],
                "gold": self.labels[self.y_true[i]], "prediction": self.labels[self.y_pred[i]],
                "confidence": float(self.probs[i, self.y_pred[i]]),
                "probabilities": {c: float(p) for c, p in zip(self.labels, self.probs[i])},
                "loss": float(self.loss[i]), "correct": bool(self.correct[i]), "tokens": int(self.n_tokens[i]),
                "truncated": bool(self.truncated[i]),
            }


def evaluate(
    bundle: ModelBundle,
    rows: Rows,
    label_map: Mapping[str, str | int] | None = None,
    match: LabelMatch | None = None,
    max_tokens: int | None = None,
    features: bool = True,
    batch_rows: int = MAX_ROWS,
    max_positions: int = MAX_POSITIONS,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    seed: int = 0,
):
    """Run `bundle` on every row in length-sorted, padded batches and score it against the labels.

    Args:
        bundle: a sequence-classification ModelBundle (shared; never modified). A token-classification
            bundle is evaluated by `explain.dataset.tagging.evaluate_tagging` (same arguments) instead.
        rows: labelled rows (`read_rows`, `stream_rows`, `rows_from_texts`).
        label_map: {data label: model label or class id} for labels that do not match by themselves
            (`explain.dataset.labels`); or give `match`, already resolved (the CLI, once per file).
        max_tokens: truncation limit (default and cap: the model's maximum, as on the other pages).
        features: keep the head's input representation of every row (N x D' floats).
        batch_rows, max_positions: batch limits (rows; rows x padded length).
        progress, cancel: see `explain.dataset.progress`; Cancelled is raised when `cancel` is set.
        seed: order in which the length buckets run (results do not depend on it).

    Returns:
        Evaluation (TaggingEvaluation for token classification).

    Raises:
        InputError: a model that is not a single-label classifier; LabelMismatch for unknown labels.
        Cancelled: `cancel` was set.
    """
    if bundle.task == "token-classification":
        return evaluate_tagging(bundle, rows, label_map=label_map, match=match, max_tokens=max_tokens,
                                batch_rows=batch_rows, max_positions=max_positions, progress=progress,
                                cancel=cancel, seed=seed)
    check_classifier(bundle)
    match = resolve_match(rows.labels, bundle, label_map, match)
    start = time.perf_counter()
    y_true = match.indices(rows.labels)
    enc = encode_rows(bundle, rows.texts, rows.pairs if rows.has_pairs else None, max_tokens)
    N, C = len(rows), len(bundle.labels)
    logits = np.zeros((N, C), dtype=np.float32)
    feats = None
    tracker = Tracker(N, progress, cancel)
    with torch.inference_mode():
        for index in length_batches(enc.lengths, batch_rows, max_positions, seed):
            tracker.check()
            out = bundle.model(**pad_batch(bundle, enc, index), output_hidden_states=features)
            logits[index] = out.logits.float().cpu().numpy()
            if features:
                f = classifier_features(bundle.model, out.hidden_states[-1]).float().cpu().numpy()
                if feats is None:
                    feats = np.zeros((N, f.shape[1]), dtype=np.float32)
                feats[index] = f
            tracker.advance(len(index))
    log_probs = torch.log_softmax(torch.from_numpy(logits).double(), -1).numpy()
    probs = np.exp(log_probs)
    y_pred = probs.argmax(1)
    return Evaluation(
        model_name=bundle.name,
        labels=tuple(bundle.labels),
        rows=rows,
        match=match,
        y_true=_frozen(y_true),
        y_pred=_frozen(y_pred),
        logits=_frozen(logits),
        probs=_frozen(probs),
        loss=_frozen(-log_probs[np.arange(N), y_true]),
        correct=_frozen(y_pred == y_true),
        n_tokens=_frozen(enc.lengths),
        truncated=_frozen(enc.truncated),
        features=None if feats is None else _frozen(feats),
        feature_name=head_input_name(bundle.model),
        metrics=classification_metrics(y_true, probs, bundle.labels),
        max_tokens=enc.max_tokens,
        seconds=time.perf_counter() - start,
        notices=length_notices(rows, enc),
    )


def check_classifier(bundle: ModelBundle) -> None:
    """InputError unless `bundle` is a single-label sequence classifier with at least 2 classes."""
    if bundle.task != "sequence-classification":
        raise InputError(
            _("'{name}' has no classification head (task: {task}); evaluating a data set needs a sequence- or "
              "token-classification model.").format(name=_(bundle.name), task=_(TASK_NAMES.get(bundle.task, bundle.task)))
        )
    if bundle.config.num_labels < 2 or bundle.config.problem_type in ("regression", "multi_label_classification"):
        raise InputError(
            _("'{name}' is a regression or multi-label head; data-set evaluation needs one class per row.").format(
                name=bundle.name
            )
        )


def concat_evaluations(parts: Sequence[Evaluation]) -> Evaluation:
    """One Evaluation of consecutive parts (e.g. streamed chunks) of the same model; metrics recomputed."""
    if not parts:
        raise InputError(_("Nothing to combine: no evaluation was given."))
    first = parts[0]
    cat = lambda name: _frozen(np.concatenate([getattr(p, name) for p in parts]))
    rows = Rows(
        texts=sum((p.rows.texts for p in parts), ()), labels=sum((p.rows.labels for p in parts), ()),
        pairs=sum((p.rows.pairs for p in parts), ()), lines=sum((p.rows.lines for p in parts), ()),
        start=first.rows.start, notices=first.rows.notices, format=first.rows.format,
    )
    index = {k: v for p in parts for k, v in p.match.index.items()}
    how = {k: v for p in parts for k, v in p.match.how.items()}
    y_true, probs = cat("y_true"), cat("probs")
    keep_features = all(p.features is not None and p.feature_rows is None for p in parts)
    return Evaluation(
        model_name=first.model_name, labels=first.labels, rows=rows,
        match=LabelMatch(first.labels, index, how),
        y_true=y_true, y_pred=cat("y_pred"), logits=cat("logits"), probs=probs, loss=cat("loss"),
        correct=cat("correct"), n_tokens=cat("n_tokens"), truncated=cat("truncated"),
        features=cat("features") if keep_features else None, feature_name=first.feature_name,
        metrics=classification_metrics(y_true, probs, first.labels), max_tokens=first.max_tokens,
        seconds=sum(p.seconds for p in parts), notices=tuple(dict.fromkeys(n for p in parts for n in p.notices)),
    )

