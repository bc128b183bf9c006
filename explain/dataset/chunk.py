"""One chunk of a data set explained, the same function for the local engine and for a Ray actor.

    sample = explain_sample(total, rows=300, seed=0)          # row ids, sorted, drawn over the whole file
    result = explain_chunk(bundle, rows, ids, match)          # attributions, word tally, head sums
    counts = prune_chunk(bundle, rows, match, orders, ks)     # the pruning curve's counts (explain.dataset.heads)

`explain_chunk` runs `evaluate` (the target class), `dataset_attributions` (IG: `IG_OPTIONS`, nested
Clenshaw-Curtis steps from the row's own length, so that a row's steps and scores do not depend on which
rows share its chunk: the local engine's chunks and Ray's batches give the same rows the same results)
and the head gate gradients.
What it returns merges across chunks (explain.dataset.parts); the per-row attribution records are for
the caller to write (a JSON Lines file locally, one file per batch in a Ray actor).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explain.dataset.parts import ChunkParts, HeadSums
from explain.dataset.reader import Rows
from explain.run import _frozen

SEED = 0
IG_OPTIONS = {"start": "length", "quadrature": "nested"}  # adaptive IG of the chunked engines (docs/notes/scale.md)


@dataclass(frozen=True, eq=False)
class ChunkResult:
    """A chunk's mergeable parts and its per-row attribution records (dicts with "row", the id in the file)."""

    parts: ChunkParts
    records: tuple[dict, ...]


def explain_sample(total: int, rows: int, seed: int = SEED) -> np.ndarray:
    """Row ids to explain: all of them when rows >= total, else a seeded sample of `rows` drawn uniformly
    over the whole file (not its top), sorted, (rows,) int64."""
    if rows >= total:
        return np.arange(total, dtype=np.int64)
    return np.sort(np.random.default_rng(seed).choice(total, size=rows, replace=False)).astype(np.int64)


def explain_chunk(bundle, rows: Rows, ids, match, *, method: str | None = "ig", target: str = "predicted",
                  heads: bool = True, progress=None, **options) -> ChunkResult:
    """Explain `rows` (their ids in the file, (N,)): attributions with `method` (None to skip) toward each
    row's `target` class, merged to a WordTally, and head gate gradient sums (when `heads`)."""
    from explain.dataset.evaluate import evaluate
    from explain.dataset.heads import head_gate_gradients
    from explain.dataset.words import tally_words

    ids = np.asarray(ids, dtype=np.int64)
    tally, records, name = None, (), None
    steps, rel, conv = np.zeros(len(ids), dtype=np.int64), np.full(len(ids), np.nan), np.ones(len(ids), dtype=bool)
    if method:
        from explain.dataset.attributions import dataset_attributions
        from explain.dataset.export import attribution_records

        ev = evaluate(bundle, rows, match=match, features=False)
        options = {**(IG_OPTIONS if method == "ig" else {}), **options}
        da = dataset_attributions(bundle, rows, method=method, target=target, evaluation=ev, progress=progress,
                                  **options)
        records = tuple(attribution_records(da, ids=ids))
        tally, name = tally_words(da, ev.y_true), da.method
        steps, rel, conv = da.steps, da.relative_delta, da.converged
    sums = None
    if heads:
        grads = head_gate_gradients(bundle, rows, match)
        sums = HeadSums(_frozen(np.abs(grads).sum(0)), len(rows))
    parts = ChunkParts(name, tally, _frozen(ids), _frozen(np.asarray(steps)), _frozen(np.asarray(rel, dtype=np.float64)),
                       _frozen(np.asarray(conv)), sums)
    return ChunkResult(parts, records)


def prune_chunk(bundle, rows: Rows, match, orders: np.ndarray, ks: np.ndarray, progress=None):
    """PruneCounts of `rows` with the first k heads of each order masked (explain.dataset.heads.prune_counts)."""
    from explain.dataset.heads import prune_counts

    return prune_counts(bundle, rows, match, np.asarray(orders), np.asarray(ks), progress=progress)
