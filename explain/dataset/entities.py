"""Entity-level precision, recall and F1 from BIO tag sequences, as seqeval (default mode) and conlleval count them.

An entity is a maximal chunk (type, first word, last word) read from the tags with the conlleval
rules: B-X starts a chunk; I-X continues a chunk of type X and starts one after O or after another
type (lenient IOB2, as conlleval and seqeval's default mode); O ends a chunk; E-/S- (IOBES) are read
too. A predicted entity counts as correct only when its type and both ends equal a gold entity's.
Per type: precision = correct / predicted, recall = correct / gold, F1 their harmonic mean (0 where
a denominator is 0); micro average over all entities; macro average over the types found in the
gold or the predicted tags. Tags are per word (see `explain.dataset.tagging`).
Reference: Tjong Kim Sang & De Meulder 2003 (CoNLL-2003, conlleval); Nakayama 2018, seqeval.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from explain.run import _frozen


@dataclass(frozen=True, eq=False)
class EntityMetrics:
    """Entity-level scores; per-type arrays follow `types` (sorted), (K,) each.

    Attributes:
        types: entity types (tag names without B-/I-). precision, recall, f1: per type.
        support: gold entities per type. predicted: predicted entities per type. correct: exact matches.
        micro_precision, micro_recall, micro_f1: over all entities; macro_f1: mean of per-type F1.
        n_gold, n_predicted, n_correct: totals.
    """

    types: tuple[str, ...]
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    support: np.ndarray
    predicted: np.ndarray
    correct: np.ndarray
    micro_precision: float
    micro_recall: float
    micro_f1: float
    macro_f1: float
    n_gold: int
    n_predicted: int
    n_correct: int

    def table(self) -> list[dict]:
        """One dict per entity type: type, precision, recall, f1, support, predicted, correct."""
        return [
            {"type": t, "precision": float(p), "recall": float(r), "f1": float(f), "support": int(s),
             "predicted": int(k), "correct": int(c)}
            for t, p, r, f, s, k, c in zip(self.types, self.precision, self.recall, self.f1, self.support,
                                           self.predicted, self.correct)
        ]

    def as_dict(self) -> dict:
        return {"micro_precision": self.micro_precision, "micro_recall": self.micro_recall,
                "micro_f1": self.micro_f1, "macro_f1": self.macro_f1, "n_gold": self.n_gold,
                "n_predicted": self.n_predicted, "n_correct": self.n_correct, "per_type": self.table()}


def entities(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """(type, first, last) of every chunk in one sentence's tags, word indices inclusive.

    >>> entities(["B-PER", "I-PER", "O", "I-LOC", "B-LOC", "I-PER"])
    [('PER', 0, 1), ('LOC', 3, 3), ('LOC', 4, 4), ('PER', 5, 5)]
    """
    found = []
    prev_tag, prev_type, begin = "O", "", 0
    for i, chunk in enumerate(list(tags) + ["O"]):
        tag, kind = _split(chunk)
        if _ends(prev_tag, tag, prev_type, kind):
            found.append((prev_type, begin, i - 1))
        if _starts(prev_tag, tag, prev_type, kind):
            begin = i
        prev_tag, prev_type = tag, kind
    return found


def entity_metrics(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> EntityMetrics:
    """Entity-level metrics over sentences: gold and predicted tags per word, (S,) lists of (W_s,)."""
    gold_set = {(s, *e) for s, tags in enumerate(gold) for e in entities(tags)}
    pred_set = {(s, *e) for s, tags in enumerate(predicted) for e in entities(tags)}
    correct = gold_set & pred_set
    n_gold, n_pred, n_corr = (Counter(e[1] for e in group) for group in (gold_set, pred_set, correct))
    types = tuple(sorted(set(n_gold) | set(n_pred)))
    support = np.array([n_gold[t] for t in types], dtype=np.int64)
    predicted_n = np.array([n_pred[t] for t in types], dtype=np.int64)
    correct_n = np.array([n_corr[t] for t in types], dtype=np.int64)
    precision = _ratio(correct_n, predicted_n)
    recall = _ratio(correct_n, support)
    f1 = _ratio(2 * precision * recall, precision + recall)
    mp = _ratio(np.array([len(correct)]), np.array([len(pred_set)]))[0]
    mr = _ratio(np.array([len(correct)]), np.array([len(gold_set)]))[0]
    mf = _ratio(np.array([2 * mp * mr]), np.array([mp + mr]))[0]
    return EntityMetrics(
        types=types, precision=_frozen(precision), recall=_frozen(recall), f1=_frozen(f1),
        support=_frozen(support), predicted=_frozen(predicted_n), correct=_frozen(correct_n),
        micro_precision=float(mp), micro_recall=float(mr), micro_f1=float(mf),
        macro_f1=float(f1.mean()) if len(types) else 0.0,
        n_gold=len(gold_set), n_predicted=len(pred_set), n_correct=len(correct),
    )


def _split(chunk: str) -> tuple[str, str]:
    """'B-PER' -> ('B', 'PER'); 'O' -> ('O', '_') as seqeval reads tags (prefix first)."""
    return chunk[0], chunk[1:].split("-", maxsplit=1)[-1] or "_"


def _ends(prev_tag: str, tag: str, prev_type: str, kind: str) -> bool:
    if prev_tag in ("E", "S"):
        return True
    if prev_tag in ("B", "I") and tag in ("B", "S", "O"):
        return True
    return prev_tag not in ("O", ".") and prev_type != kind


def _starts(prev_tag: str, tag: str, prev_type: str, kind: str) -> bool:
    if tag in ("B", "S"):
        return True
    if prev_tag in ("E", "S", "O") and tag in ("E", "I"):
        return True
    return tag not in ("O", ".") and prev_type != kind


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num, den = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)
