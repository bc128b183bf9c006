"""Held-out evaluation of a trained head: the stratified split, accuracy / macro-F1 / confusion, and the
shipped heldout.jsonl files."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from explain.errors import InputError
from explain.i18n import _
from explain.models.checkpoint import ModelBundle

HELDOUT_FILE = "heldout.jsonl"


@dataclass(frozen=True)
class HeadMetrics:
    """Accuracy, macro-F1 and confusion matrix (rows gold, columns predicted, in `labels` order)."""

    labels: tuple[str, ...]
    n: int
    accuracy: float
    macro_f1: float
    confusion: tuple[tuple[int, ...], ...]

    def as_dict(self) -> dict:
        return {
            "n": self.n,
            "accuracy": round(self.accuracy, 4),
            "macro_f1": round(self.macro_f1, 4),
            "labels": list(self.labels),
            "confusion": [list(row) for row in self.confusion],
        }


def split_holdout(labels: Sequence[int], fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified split: (train indices, held-out indices), each sorted; every class keeps >= 1 on each side."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    train, held = [], []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        if len(idx) < 2:
            raise InputError(_("Each class needs at least 2 examples: one to train on and one to test on."))
        k = min(len(idx) - 1, max(1, round(fraction * len(idx))))
        held.extend(idx[:k])
        train.extend(idx[k:])
    return np.sort(np.array(train, dtype=int)), np.sort(np.array(held, dtype=int))


def head_metrics(gold: Sequence[int], pred: Sequence[int], labels: Sequence[str]) -> HeadMetrics:
    """Accuracy, macro-F1 (mean of per-class F1, 0 for a class never predicted right) and confusion."""
    c = len(labels)
    confusion = np.zeros((c, c), dtype=int)
    np.add.at(confusion, (np.asarray(gold, dtype=int), np.asarray(pred, dtype=int)), 1)
    tp = np.diag(confusion).astype(float)
    denom = confusion.sum(0) + confusion.sum(1)
    f1 = np.divide(2 * tp, denom, out=np.zeros(c), where=denom > 0)
    n = int(confusion.sum())
    return HeadMetrics(
        labels=tuple(labels),
        n=n,
        accuracy=float(tp.sum() / n) if n else 0.0,
        macro_f1=float(f1.mean()),
        confusion=tuple(tuple(int(x) for x in row) for row in confusion),
    )


def evaluate_head(
    bundle: ModelBundle,
    texts: Sequence[str],
    labels: Sequence[str],
    batch_size: int = 32,
    max_tokens: int | None = None,
) -> HeadMetrics:
    """Metrics of a classification bundle on labelled texts, with its full forward pass (no hooks, no state kept).

    `max_tokens` defaults to the card's training limit, else the model's maximum.
    """
    if not bundle.labels:
        raise InputError(_("'{model}' has no classification head to evaluate.").format(model=bundle.name))
    if not texts or len(texts) != len(labels):
        raise InputError(_("Give one label per text ({texts} texts, {labels} labels; at least one of each).").format(
            texts=len(texts), labels=len(labels)))
    index = {c: i for i, c in enumerate(bundle.labels)}
    unknown = sorted(set(labels) - set(index))
    if unknown:
        raise InputError(_("Labels the head does not know: {unknown} (it knows {known}).").format(
            unknown=", ".join(unknown[:5]), known=", ".join(bundle.labels)))
    limit = max_tokens or bundle.card.get("training", {}).get("max_tokens") or bundle.max_tokens
    preds = []
    with torch.no_grad():
        for s in range(0, len(texts), batch_size):
            enc = bundle.tokenizer(
                list(texts[s : s + batch_size]), truncation=True, max_length=limit, padding=True, return_tensors="pt"
            )
            preds.extend(bundle.model(**enc).logits.argmax(-1).tolist())
    return head_metrics([index[l] for l in labels], preds, bundle.labels)


def write_heldout(path: Path | str, texts: Sequence[str], labels: Sequence[str]) -> None:
    """One JSON object {"text", "label"} per line."""
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(json.dumps({"text": t, "label": l}, ensure_ascii=False) + "\n" for t, l in zip(texts, labels))


def read_heldout(head_dir: Path | str) -> tuple[list[str], list[str]]:
    """(texts, labels) from a shipped head's heldout.jsonl."""
    rows = [
        json.loads(line) for line in (Path(head_dir) / HELDOUT_FILE).read_text(encoding="utf-8").splitlines() if line
    ]
    return [r["text"] for r in rows], [r["label"] for r in rows]
