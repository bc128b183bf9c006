"""Evaluate and explain a labelled file of any size in chunks, with flat memory (the CLI's local engine).

    summary = scan_rows(path)                                   # fail fast, total, labels
    match = match_labels(summary.classes, bundle.labels, label_map)
    fe = evaluate_file(bundle, path, match, on_records=write)   # predictions streamed to `write`
    fx = explain_file(bundle, path, match, rows=300, total=n, method="ig", on_records=write_attr)

Per chunk (`stream_rows`), `evaluate(..., features=False)` except for the first `projector_rows` rows;
what is kept across chunks is small: gold ids (N,), probabilities (N, C), the `hardest` rows by loss,
and the projected rows' features. Metrics are computed once on the concatenation, so they equal
`evaluate` on the whole file. The explanations (attributions, head importance, pruning curve) cost a
backward pass or many forwards per row and run on a seeded sample of `rows` rows drawn over the whole
file (`explain.dataset.chunk.explain_sample`; every row when rows >= the file's), chunk by chunk through
`explain_chunk`, whose mergeable parts (explain.dataset.parts) add up: the Ray engine runs the same
function in its actors and merges the same parts.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from explain.dataset.evaluate import evaluate
from explain.dataset.export import ProjectorData
from explain.dataset.heads import HeadImportance, PruningCurve
from explain.dataset.labels import LabelMatch
from explain.dataset.metrics import ClassificationMetrics, classification_metrics
from explain.dataset.progress import Progress
from explain.dataset.projector import pca
from explain.dataset.reader import CHUNK_ROWS, Rows, stream_rows
from explain.dataset.words import WordSummary, summarize_words
from explain.i18n import N_
from explain.models.checkpoint import ModelBundle
from explain.run import _frozen

PROJECTOR_ROWS = 2000
HARDEST = 50
PRUNE_ROWS = 300

Records = Callable[[list[dict]], None]


@dataclass(frozen=True, eq=False)
class FileEvaluation:
    """A file's evaluation without its per-row arrays beyond (N,) gold ids and (N, C) probabilities.

    hardest: prediction records of the rows with the highest loss, highest first. projector: PCA of
    the first rows' head input (None with fewer than 2 rows). notices: the chunks' notices, deduplicated.
    """

    metrics: ClassificationMetrics
    y_true: np.ndarray
    probs: np.ndarray
    hardest: tuple[dict, ...]
    projector: ProjectorData | None
    notices: tuple[str, ...]
    seconds: float


@dataclass(frozen=True, eq=False)
class FileExplanation:
    """Explanations of a file's first rows: word summary and the attribution arrays (None when no method),
    head importance and pruning curve (None when skipped)."""

    method: str | None
    target_kind: str
    summary: WordSummary | None
    steps: np.ndarray
    relative_delta: np.ndarray
    converged: np.ndarray
    importance: HeadImportance | None
    curve: PruningCurve | None


def chunks(path: str | Path, max_rows: int | None = None, chunk_rows: int = CHUNK_ROWS) -> Iterator[Rows]:
    """`stream_rows` cut off after `max_rows` rows."""
    done = 0
    for chunk in stream_rows(path, chunk_rows):
        if max_rows is not None and done + len(chunk) > max_rows:
            chunk = chunk.subset(range(max_rows - done))
        if len(chunk):
            yield chunk
        done += len(chunk)
        if max_rows is not None and done >= max_rows:
            return


def _offset(progress: Progress | None, before: int, total: int) -> Progress | None:
    return None if progress is None else (lambda done, _total: progress(before + done, total))


def evaluate_file(
    bundle: ModelBundle,
    path: str | Path,
    match: LabelMatch,
    *,
    total: int,
    max_rows: int | None = None,
    max_tokens: int | None = None,
    chunk_rows: int = CHUNK_ROWS,
    projector_rows: int = PROJECTOR_ROWS,
    hardest: int = HARDEST,
    on_records: Records | None = None,
    progress: Progress | None = None,
) -> FileEvaluation:
    """Evaluate every row of `path` chunk by chunk; `on_records` gets each chunk's prediction records
    (`Evaluation.records()` with "row", the row's index in the file). total: rows, for progress."""
    y_true, probs, notices, seconds = [], [], {}, 0.0
    heap: list[tuple[float, int, dict]] = []
    feats, proj_rows = [], []
    done = 0
    for chunk in chunks(path, max_rows, chunk_rows):
        keep = max(0, projector_rows - done)
        ev = evaluate(bundle, chunk, match=match, max_tokens=max_tokens, features=keep > 0,
                      progress=_offset(progress, done, total))
        records = [{"row": chunk.start + i, **r} for i, r in enumerate(ev.records())]
        if on_records is not None:
            on_records(records)
        for i in np.argsort(-ev.loss, kind="stable")[:hardest]:
            item = (float(ev.loss[i]), -records[i]["row"], records[i])
            (heapq.heappush if len(heap) < hardest else heapq.heappushpop)(heap, item)
        if keep:
            k = min(keep, len(chunk))
            feats.append(ev.features[:k])
            proj_rows.append((ev.y_true[:k], ev.y_pred[:k], ev.confidence[:k], chunk.texts[:k],
                              np.arange(k) + chunk.start))
        y_true.append(ev.y_true)
        probs.append(ev.probs)
        notices.update(dict.fromkeys(ev.notices))
        seconds += ev.seconds
        done += len(chunk)
    y, p = np.concatenate(y_true), np.concatenate(probs)
    projector = None
    features = np.concatenate(feats) if feats else np.zeros((0, 0))
    if len(features) >= 2:
        cols = list(zip(*proj_rows))
        projector = ProjectorData(pca(features), *(_frozen(np.concatenate(c)) for c in (cols[0], cols[1], cols[2])),
                                  tuple(itertools.chain(*cols[3])), _frozen(np.concatenate(cols[4])))
    return FileEvaluation(
        metrics=classification_metrics(y, p, bundle.labels), y_true=_frozen(y), probs=_frozen(p),
        hardest=tuple(r for *_, r in sorted(heap, key=lambda t: (-t[0], -t[1]))), projector=projector,
        notices=tuple(notices), seconds=seconds,
    )


def sample_chunks(path: str | Path, ids: np.ndarray, chunk_rows: int = CHUNK_ROWS) -> Iterator[tuple[Rows, np.ndarray]]:
    """The rows whose ids (sorted) are in `ids`, streamed: (rows, their ids) per file chunk that has any."""
    ids = np.asarray(ids, dtype=np.int64)
    if not len(ids):
        return
    for chunk in chunks(path, int(ids[-1]) + 1, chunk_rows):
        mine = ids[(ids >= chunk.start) & (ids < chunk.start + len(chunk))]
        if len(mine):
            yield chunk.subset(mine - chunk.start), mine


def prune_ids(sample: np.ndarray, prune_rows: int = PRUNE_ROWS) -> np.ndarray:
    """The explained rows the pruning curve runs on: the first `prune_rows` of the sample."""
    return np.asarray(sample)[:prune_rows]


def explanation_from_parts(bundle, parts, target: str, curve) -> FileExplanation:
    """A FileExplanation from merged ChunkParts (either engine) and the pruning curve (or None)."""
    parts = parts.in_row_order()
    summary = summarize_words(parts.tally) if parts.tally is not None else None
    importance = parts.heads.importance() if parts.heads is not None else None
    keep = summary is not None
    empty = lambda dtype: _frozen(np.zeros(0, dtype=dtype))
    return FileExplanation(parts.method, target, summary, parts.steps if keep else empty(np.int64),
                           parts.relative_delta if keep else empty(np.float64),
                           parts.converged if keep else empty(bool), importance, curve)


def explain_file(
    bundle: ModelBundle,
    path: str | Path,
    match: LabelMatch,
    *,
    rows: int,
    total: int | None = None,
    seed: int = 0,
    method: str | None = "ig",
    target: str = "predicted",
    heads: bool = True,
    prune_rows: int = PRUNE_ROWS,
    chunk_rows: int = CHUNK_ROWS,
    on_records: Records | None = None,
    progress: Callable[[str], Progress] | None = None,
) -> FileExplanation:
    """Attributions (`method`, None to skip), head importance and the pruning curve on `rows` rows drawn
    by `explain_sample(total, rows, seed)` (all rows when rows >= total; total: the file's row count, counted
    when None), each chunk through `explain_chunk`, its parts merged; `on_records` gets each chunk's
    attribution records; `progress(stage)` gives a Progress."""
    from explain.dataset.chunk import explain_chunk, explain_sample, prune_chunk
    from explain.dataset.heads import curve_from_counts, default_ks, pruning_orders
    from explain.dataset.parts import merge_parts

    if total is None:
        total = sum(len(c) for c in chunks(path, None, chunk_rows))
    sample = explain_sample(total, rows, seed)
    stage = (lambda name: progress(name) if progress else None)
    report = stage(N_("attributions") if method else N_("head importance"))
    done, found = 0, []
    for chunk, ids in sample_chunks(path, sample, chunk_rows):
        result = explain_chunk(bundle, chunk, ids, match, method=method, target=target, heads=heads,
                               progress=_offset(report, done, len(sample)))
        if on_records is not None and result.records:
            on_records(list(result.records))
        found.append(result.parts)
        done += len(chunk)
        if report is not None:
            report(done, len(sample))
    parts = merge_parts(found)
    if parts is None:
        return FileExplanation(method, target, None, *(_frozen(np.zeros(0, dtype=t)) for t in (np.int64, np.float64, bool)),
                               None, None)
    curve = None
    if heads:
        importance = parts.heads.importance()
        orders, ks = pruning_orders(importance.normalized, 1, seed), default_ks(bundle.num_layers * bundle.num_heads)
        counts, report = [], stage(N_("pruning curve"))
        for chunk, _ids in sample_chunks(path, prune_ids(sample, prune_rows), chunk_rows):
            counts.append(prune_chunk(bundle, chunk, match, orders, ks))
        curve = curve_from_counts(merge_parts(counts), ks, orders, (bundle.num_layers, bundle.num_heads))
        if report is not None:
            report(1, 1)
    return explanation_from_parts(bundle, parts, target, curve)
