"""Mergeable partial results of the explanations of a data set (the same for the local and the Ray engine).

    parts = explain_chunk(bundle, rows, ids, match)   # explain.dataset.chunk, per chunk or Ray batch
    total = merge_parts([parts_a, parts_b, ...])       # on the driver: sums only, order does not matter

Each part holds sums, never per-row arrays, so what reaches the driver is small however many rows
were explained: `WordTally` (explain.dataset.words: per class and word the count, sum and sum of
squares of the word scores; mean and standard deviation come from the merged sums), `HeadSums`
(per head the sum of |dL/dg| and the row count; Michel et al. 2019's importance is sum / rows) and
`PruneCounts` (per order and k the rows right and the summed loss; the pruning curve is their ratio).
`ChunkParts` adds per explained row its IG step count and completeness delta (numbers, not texts).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from explain.dataset.words import WordTally
from explain.run import _frozen


@dataclass(frozen=True, eq=False)
class HeadSums:
    """Sum over rows of |dL/dg_lh| per head, (L, H), and the number of rows."""

    abs_sum: np.ndarray
    rows: int

    def __add__(self, other: HeadSums) -> HeadSums:
        return HeadSums(_frozen(self.abs_sum + other.abs_sum), self.rows + other.rows)

    def importance(self):
        """HeadImportance (explain.dataset.heads) from the merged sums: raw = sum / rows, normalised per layer."""
        from explain.dataset.heads import importance_from_raw

        return importance_from_raw(self.abs_sum / max(self.rows, 1), self.rows)


@dataclass(frozen=True, eq=False)
class PruneCounts:
    """Rows right and summed cross-entropy per (order, k), (O, K) each, over `rows` rows."""

    correct: np.ndarray
    loss_sum: np.ndarray
    rows: int

    def __add__(self, other: PruneCounts) -> PruneCounts:
        return PruneCounts(_frozen(self.correct + other.correct), _frozen(self.loss_sum + other.loss_sum),
                           self.rows + other.rows)

    @property
    def accuracy(self) -> np.ndarray:
        return self.correct / max(self.rows, 1)

    @property
    def loss(self) -> np.ndarray:
        return self.loss_sum / max(self.rows, 1)


@dataclass(frozen=True, eq=False)
class ChunkParts:
    """One chunk's explanations: the word tally (None without attributions), the method's name, per
    explained row the IG steps used, |delta| / |f(x) - f(x')| and whether it converged, (N,) each (8 + 8 + 1
    bytes a row, in row-id order once merged and sorted), and the head sums (None when heads are skipped)."""

    method: str | None
    tally: WordTally | None
    ids: np.ndarray
    steps: np.ndarray
    relative_delta: np.ndarray
    converged: np.ndarray
    heads: HeadSums | None = None

    def __add__(self, other: ChunkParts) -> ChunkParts:
        add = lambda a, b: b if a is None else (a if b is None else a + b)
        cat = lambda a, b: _frozen(np.concatenate([a, b]))
        return ChunkParts(self.method or other.method, add(self.tally, other.tally), cat(self.ids, other.ids),
                          cat(self.steps, other.steps), cat(self.relative_delta, other.relative_delta),
                          cat(self.converged, other.converged), add(self.heads, other.heads))

    def in_row_order(self) -> ChunkParts:
        """The per-row arrays sorted by row id (the merge order of Ray's parts is arbitrary)."""
        o = np.argsort(self.ids, kind="stable")
        return ChunkParts(self.method, self.tally, _frozen(self.ids[o]), _frozen(self.steps[o]),
                          _frozen(self.relative_delta[o]), _frozen(self.converged[o]), self.heads)


def merge_parts(parts: Iterable):
    """The sum of the parts (ChunkParts, HeadSums or PruneCounts; None when there are none)."""
    total = None
    for p in parts:
        total = p if total is None else total + p
    return total
