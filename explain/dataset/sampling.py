"""A fixed, seeded sample of rows stratified by group (the projector's rows on a large data set).

Every row gets a uniform random key from a seeded generator (`row_keys`); a group (stratum, e.g. gold
label x correct) contributes its rows with the smallest keys. How many rows each group gets
(`quotas`): every group at least `floor` rows (or all of a smaller group), the rest of the sample in
proportion to the groups' remaining sizes (largest remainders), so the sample's mix follows the data's
while the small groups (the errors of a rare class) stay visible. The same seed gives the same rows.

`SampleReservoir` draws the same sample while the rows stream by in chunks (keeping at most `size`
rows per group with their features), so a 50,000-row evaluation never holds every row's features.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explain.run import _frozen


def row_keys(n: int, seed: int = 0) -> np.ndarray:
    """One uniform [0, 1) key per row from a private seeded generator, (n,) float64."""
    return np.random.default_rng(seed).random(n)


def strata_of(y_true: np.ndarray, correct: np.ndarray) -> np.ndarray:
    """The group of each row for the projector: gold class x correct, (N,) int (2 * gold + correct)."""
    return 2 * np.asarray(y_true, dtype=np.int64) + np.asarray(correct, dtype=np.int64)


def default_floor(size: int, groups: int) -> int:
    """Rows every group gets at least (or all of it): half the sample shared equally between the groups."""
    return size // (2 * max(groups, 1))


def quotas(counts: np.ndarray, size: int, floor: int | None = None) -> np.ndarray:
    """Rows drawn from each group, (G,): all rows when the groups hold at most `size` together; else at least
    min(count, floor) each and the rest in proportion to what remains of each group (largest remainders).
    The quotas add up to `size` and never exceed a group's count."""
    counts = np.asarray(counts, dtype=np.int64)
    if counts.sum() <= size:
        return counts.copy()
    floor = default_floor(size, int((counts > 0).sum())) if floor is None else floor
    base = np.minimum(counts, floor)
    left, rest = size - int(base.sum()), counts - base
    if left <= 0:  # the floors alone fill the sample: share it equally instead (largest groups first)
        base, left, rest = np.zeros_like(counts), size, counts.copy()
    share = left * rest / rest.sum()
    extra = np.floor(share).astype(np.int64)
    order = np.argsort(-(share - extra), kind="stable")
    extra[order[: left - int(extra.sum())]] += 1
    return base + np.minimum(extra, rest)


def stratified_sample(strata: np.ndarray, keys: np.ndarray, size: int, counts: np.ndarray | None = None,
                      floor: int | None = None) -> np.ndarray:
    """Indices (into `strata`/`keys`, sorted) of the sample: each group's `quotas` rows with the smallest keys.

    counts: rows per group in the whole data, (G,) (default: counted from `strata`; give it when the
    arrays hold only a reservoir of each group's smallest keys).
    """
    strata, keys = np.asarray(strata, dtype=np.int64), np.asarray(keys)
    if counts is None:
        counts = np.bincount(strata, minlength=int(strata.max()) + 1 if len(strata) else 0)
    take = quotas(counts, size, floor)
    chosen = []
    for group in np.flatnonzero(take):
        members = np.flatnonzero(strata == group)
        chosen.append(members[np.argsort(keys[members], kind="stable")[: take[group]]])
    return np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=np.int64)


@dataclass(frozen=True, eq=False)
class RowSample:
    """The sampled rows: their indices (S,) sorted, their features (S, D), and rows per group in the data (G,)."""

    rows: np.ndarray
    features: np.ndarray
    counts: np.ndarray
    floor: int


class SampleReservoir:
    """Keeps, per group, the `size` rows with the smallest keys seen so far (and their features), so that
    `sample()` after the last chunk equals `stratified_sample` over every row."""

    def __init__(self, size: int):
        self.size = int(size)
        self.rows = np.zeros(0, dtype=np.int64)
        self.strata = np.zeros(0, dtype=np.int64)
        self.keys = np.zeros(0)
        self.features: np.ndarray | None = None
        self.counts = np.zeros(0, dtype=np.int64)

    def add(self, rows: np.ndarray, strata: np.ndarray, keys: np.ndarray, features: np.ndarray) -> None:
        """One chunk: row indices (B,), groups (B,), keys (B,), features (B, D)."""
        strata = np.asarray(strata, dtype=np.int64)
        grown = np.bincount(strata, minlength=max(len(self.counts), int(strata.max()) + 1 if len(strata) else 0))
        grown[: len(self.counts)] += self.counts
        self.counts = grown
        self.rows = np.concatenate([self.rows, rows])
        self.strata = np.concatenate([self.strata, strata])
        self.keys = np.concatenate([self.keys, keys])
        self.features = features if self.features is None else np.concatenate([self.features, features])
        keep = np.zeros(len(self.rows), dtype=bool)
        for group in np.unique(self.strata):
            members = np.flatnonzero(self.strata == group)
            keep[members[np.argsort(self.keys[members], kind="stable")[: self.size]]] = True
        if not keep.all():
            self.rows, self.strata, self.keys = self.rows[keep], self.strata[keep], self.keys[keep]
            self.features = self.features[keep]

    def sample(self) -> RowSample:
        """The stratified sample of every row added (rows sorted, features in that order)."""
        floor = default_floor(self.size, int((self.counts > 0).sum()))
        pick = stratified_sample(self.strata, self.keys, self.size, counts=self.counts, floor=floor)
        order = pick[np.argsort(self.rows[pick], kind="stable")]
        features = self.features[order] if self.features is not None else np.zeros((0, 0), dtype=np.float32)
        return RowSample(_frozen(self.rows[order]), _frozen(features), _frozen(self.counts), floor)
