"""Evaluate and explain a labelled file of any size in chunks, with flat memory (the CLI's local engine).

    summary = scan_rows(path)                                   # fail fast, total, labels
    match = match_labels(summary.classes, bundle.labels, label_map)
    fe = evaluate_file(bundle, path, match, on_records=write)   # predictions streamed to `write`
    fx = explain_file(bundle, path, match, rows=300, method="ig", on_records=write_attr)

Per chunk (`stream_rows`), `evaluate(..., features=False)` except for the first `projector_rows` rows;
what is kept across chunks is small: gold ids (N,), probabilities (N, C), the `hardest` rows by loss,
and the projected rows' features. Metrics are computed once on the concatenation, so they equal
`evaluate` on the whole file. The explanations (attributions, head importance, pruning curve) cost a
backward pass or many forwards per row and run on the first `rows` rows; `WordTally` and
`importance_from_rows` merge their chunks.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from explain.dataset.evaluate import evaluate
from explain.dataset.export import ProjectorData, attribution_records
from explain.dataset.heads import (
    HeadImportance,
    PruningCurve,
    dataset_head_importance,
    importance_from_rows,
    pruning_curve,
)
from explain.dataset.labels import LabelMatch
from explain.dataset.metrics import ClassificationMetrics, classification_metrics
from explain.dataset.progress import Progress
from explain.dataset.projector import pca
from explain.dataset.reader import CHUNK_ROWS, Rows, stream_rows
from explain.dataset.words import WordSummary, WordTally, summarize_words, tally_words
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


def explain_file(
    bundle: ModelBundle,
    path: str | Path,
    match: LabelMatch,
    *,
    rows: int,
    method: str | None = "ig",
    target: str = "predicted",
    heads: bool = True,
    prune_rows: int = PRUNE_ROWS,
    chunk_rows: int = CHUNK_ROWS,
    on_records: Records | None = None,
    progress: Callable[[str], Progress] | None = None,
) -> FileExplanation:
    """Attributions (`method`, None to skip), head importance and the pruning curve on the first `rows` rows
    of `path`; `on_records` gets each chunk's attribution records; `progress(stage)` gives a Progress."""
    stage = (lambda name: progress(name) if progress else None)
    summary, steps, rel, conv = None, [], [], []
    if method:
        tally: WordTally | None = None
        done, report = 0, stage(N_("attributions"))
        for chunk in chunks(path, rows, chunk_rows):
            from explain.dataset.attributions import dataset_attributions

            ev = evaluate(bundle, chunk, match=match, features=False)
            da = dataset_attributions(bundle, chunk, method=method, target=target, evaluation=ev,
                                      progress=_offset(report, done, rows))
            if on_records is not None:
                on_records(list(attribution_records(da, chunk.start)))
            part = tally_words(da, ev.y_true)
            tally = part if tally is None else tally + part
            steps.append(da.steps)
            rel.append(da.relative_delta)
            conv.append(da.converged)
            done += len(chunk)
            method_name = da.method
        summary = summarize_words(tally) if tally is not None else None
        method = method_name if tally is not None else method
    importance = curve = None
    if heads:
        per_row, done, report = [], 0, stage(N_("head importance"))
        for chunk in chunks(path, rows, chunk_rows):
            per_row.append(dataset_head_importance(bundle, chunk, match=match,
                                                   progress=_offset(report, done, rows)).per_row)
            done += len(chunk)
        importance = importance_from_rows(np.concatenate(per_row))
        first = next(chunks(path, min(rows, prune_rows), min(rows, prune_rows)))
        curve = pruning_curve(bundle, first, importance, match=match, progress=stage(N_("pruning curve")))
    cat = lambda parts, dtype: _frozen(np.concatenate(parts) if parts else np.zeros(0, dtype=dtype))
    return FileExplanation(method, target, summary, cat(steps, np.int64), cat(rel, np.float64), cat(conv, bool),
                           importance, curve)
