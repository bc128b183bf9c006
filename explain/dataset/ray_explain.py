"""`--engine ray`: the explanations (attributions, head importance, the pruning curve) in Ray actors.

    rows file (explain.dataset.rowfile, flag `explain`) -> map_batches(Explainer, concurrency=actors)
        each actor: explain_chunk(batch) -> its attribution records into DIR/attributions/part-<id>.jsonl,
                    and one row back: the batch's ChunkParts (pickled: sums, not per-row texts)
    driver: merge the parts -> word summary, head importance -> the pruning orders
    rows file (flag `prune`) -> map_batches(Pruner(orders), concurrency=actors) -> PruneCounts -> curve

`explain_chunk` and `prune_chunk` (explain.dataset.chunk) are the functions the local engine runs on
its chunks, and the parts merge the same way (explain.dataset.parts), so both engines give the same
predictions, attributions (within float32 batching noise) and aggregates. Each actor loads the model
once, on `actor_device` ("cuda" when it asked for GPUs and has them; inputs follow the model there).
"""

from __future__ import annotations

import math
import pickle
from pathlib import Path

import numpy as np

from explain.dataset.ray_engine import actor_device, require_ray


class _Actor:
    """Loads the model once per actor, on its device, with `threads` torch threads."""

    def __init__(self, spec: str, labels, index: dict, how: dict, threads: int, gpus: float):
        import torch

        from explain.dataset.labels import LabelMatch
        from explain.models.catalog import load_model

        torch.set_num_threads(max(1, threads))
        self.device = actor_device(gpus, torch.cuda.is_available())
        if self.device != "cpu":
            torch.set_default_device(self.device)
        self.bundle = load_model(spec)
        if self.device != "cpu":
            self.bundle.model.to(self.device)  # the actor's own copy of the model, on its GPU
        self.match = LabelMatch(tuple(labels), dict(index), dict(how))


class Explainer(_Actor):
    """Ray Data callable class: a batch of the row file -> explain_chunk; records written, parts returned."""

    def __init__(self, spec, labels, index, how, threads, gpus, method, target, heads, folder: str):
        super().__init__(spec, labels, index, how, threads, gpus)
        self.method, self.target, self.heads, self.folder = method, target, heads, Path(folder)

    def __call__(self, batch):
        import pandas as pd

        from explain.dataset.chunk import explain_chunk
        from explain.dataset.export import jsonl
        from explain.dataset.rowfile import rows_of_batch

        rows, ids = rows_of_batch(batch)
        result = explain_chunk(self.bundle, rows, ids, self.match, method=self.method, target=self.target,
                               heads=self.heads)
        if result.records:
            (self.folder / f"part-{int(ids[0]):012d}.jsonl").write_text(jsonl(list(result.records)), encoding="utf-8")
        return pd.DataFrame({"rows": [len(ids)], "part": [pickle.dumps(result.parts)]})


class Pruner(_Actor):
    """Ray Data callable class: a batch of the pruning rows -> PruneCounts for the given orders and ks."""

    def __init__(self, spec, labels, index, how, threads, gpus, orders, ks):
        super().__init__(spec, labels, index, how, threads, gpus)
        self.orders, self.ks = np.asarray(orders), np.asarray(ks)

    def __call__(self, batch):
        import pandas as pd

        from explain.dataset.chunk import prune_chunk
        from explain.dataset.rowfile import rows_of_batch

        rows, _ids = rows_of_batch(batch)
        counts = prune_chunk(self.bundle, rows, self.match, self.orders, self.ks)
        return pd.DataFrame({"rows": [len(rows)], "part": [pickle.dumps(counts)]})


def _flagged(batch, flag: str):
    return batch[batch[flag].to_numpy(dtype=bool)]


def explain_file_ray(bundle, args, match, rowfile: Path, n_rows: int, out: Path, method: str | None,
                     target: str = "predicted", heads: bool = True, seed: int = 0, progress=None):
    """The explanations of the row file's `explain` rows (`n_rows` of them) in Ray actors; attribution
    records into `out`/attributions/; returns the FileExplanation the local engine would."""
    ray = require_ray()
    from explain.dataset.heads import curve_from_counts, default_ks, pruning_orders
    from explain.dataset.parts import merge_parts
    from explain.dataset.stream import FileExplanation, explanation_from_parts
    from explain.i18n import N_
    from explain.run import _frozen

    folder = out / "attributions"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("part-*.jsonl"):
        old.unlink()  # a second run replaces, never appends
    common = (args.model, tuple(bundle.labels), dict(match.index), dict(match.how), int(max(1, args.ray_cpus_per_actor)),
              float(args.ray_gpus_per_actor))
    options = dict(batch_format="pandas", concurrency=args.ray_actors, num_cpus=args.ray_cpus_per_actor,
                   num_gpus=args.ray_gpus_per_actor or None)
    per_batch = max(1, min(args.ray_batch_rows, 64, math.ceil(n_rows / (2 * args.ray_actors))))  # balanced
    ds = ray.data.read_parquet(str(rowfile)).map_batches(_flagged, fn_args=("explain",), batch_format="pandas")
    explained = ds.map_batches(Explainer, fn_constructor_args=(*common, method, target, heads, str(folder)),
                               batch_size=per_batch, **options)
    stage = (lambda name: progress(name) if progress else None)
    report, done, found = stage(N_("attributions") if method else N_("head importance")), 0, []
    for batch in explained.iter_batches(batch_format="pandas", batch_size=None):
        for rows, part in zip(batch["rows"], batch["part"]):
            found.append(pickle.loads(part))
            done += int(rows)
            if report is not None:
                report(done, n_rows)
    parts = merge_parts(found)
    if parts is None:
        return FileExplanation(method, target, None, *(_frozen(np.zeros(0, dtype=t)) for t in (np.int64, np.float64, bool)),
                               None, None)
    curve = None
    if heads:
        importance = parts.heads.importance()
        orders, ks = pruning_orders(importance.normalized, 1, seed), default_ks(bundle.num_layers * bundle.num_heads)
        ds = ray.data.read_parquet(str(rowfile)).map_batches(_flagged, fn_args=("prune",), batch_format="pandas")
        pruned = ds.map_batches(Pruner, fn_constructor_args=(*common, orders, ks), batch_size=per_batch, **options)
        counts = [pickle.loads(p) for b in pruned.iter_batches(batch_format="pandas", batch_size=None) for p in b["part"]]
        curve = curve_from_counts(merge_parts(counts), ks, orders, (bundle.num_layers, bundle.num_heads))
        if (r := stage(N_("pruning curve"))) is not None:
            r(1, 1)
    return explanation_from_parts(bundle, parts, target, curve)
