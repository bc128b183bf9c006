"""`--engine ray`: the predictions of `python -m explain evaluate` on Ray Data (optional dependency).

    write_rowfile(file) -> DIR/rows/*.parquet (id, line, text, text_pair, label, explain, prune)
    ray.data.read_parquet(DIR/rows)  ->  map_batches(Predictor, concurrency=actors, num_cpus=C,
    num_gpus=G)  ->  write_json(DIR/predictions)

Every row carries its id (its index in the file) from the row file through the actors into what
they write, so order never depends on how Ray schedules the batches (no `Dataset.zip`). `Predictor`
is a callable class: each actor loads the model once in `__init__` and runs
`explain.dataset.evaluate.evaluate` on every batch it is given (the same code, tokenization and
padding as the local engine, so the predictions are the same). The driver then reads the written
files back for the metrics (gold ids (N,) and probabilities (N, C)) and the rows with the highest
loss; the projector's features come from the driver, as in the local engine. The explanations run in
actors too (explain.dataset.ray_explain). Without an address a local Ray starts with
`num_cpus = actors x C + 1` (the actors hold their CPUs for the whole run; the extra one runs Ray's
read and write tasks); with one (`auto`, `host:6379`) the driver joins that cluster, whose nodes need
BERT Lens and the model installed and must reach DIR.
"""

from __future__ import annotations

import heapq
import os
from pathlib import Path

import numpy as np

from explain.errors import InputError
from explain.i18n import _

ROOT = Path(__file__).resolve().parents[2]


def require_ray():
    """The ray module, or an InputError saying how to install it."""
    try:
        import ray
        import ray.data
    except ImportError:
        raise InputError(_("--engine ray needs Ray, which is optional: pip install \"bert-lens[ray]\" "
                           "(or run with --engine local).")) from None
    return ray


def start_ray(address: str | None, num_cpus: int):
    """Join the cluster at `address`, or start a local Ray with `num_cpus` CPUs (reused if already running)."""
    ray = require_ray()
    if ray.is_initialized():
        return ray
    env = {"env_vars": {"PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
                        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}}
    try:
        if address:
            ray.init(address=address, log_to_driver=False, runtime_env=env)
        else:
            ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False, runtime_env=env)
    except ConnectionError as err:
        raise InputError(_("Could not join the Ray cluster at {address}: {error}").format(
            address=address, error=str(err).splitlines()[0] if str(err) else type(err).__name__)) from None
    return ray


class Predictor:
    """Ray Data callable class: loads the model once per actor; each pandas batch -> prediction records."""

    def __init__(self, spec: str, labels: tuple[str, ...], index: dict, how: dict, max_tokens: int | None,
                 threads: int):
        import torch

        from explain.dataset.labels import LabelMatch
        from explain.models.catalog import load_model

        torch.set_num_threads(max(1, threads))
        self.bundle = load_model(spec)
        self.match = LabelMatch(tuple(labels), dict(index), dict(how))
        self.max_tokens = max_tokens

    def __call__(self, batch):
        import pandas as pd

        from explain.dataset.evaluate import evaluate
        from explain.dataset.rowfile import rows_of_batch

        rows, ids = rows_of_batch(batch)
        ev = evaluate(self.bundle, rows, match=self.match, max_tokens=self.max_tokens, features=False)
        out = pd.DataFrame(list(ev.records()))
        out.insert(0, "row", ids)
        out["gold_id"], out["probs"] = ev.y_true, list(ev.probs)
        return out


def actor_device(gpus_per_actor: float, cuda_available: bool) -> str:
    """Where an actor runs its model: "cuda" when it asked for GPUs and the node has CUDA, else "cpu"."""
    return "cuda" if gpus_per_actor > 0 and cuda_available else "cpu"


def predict_to_files(spec: str, rowfile: Path, labels, match, target: Path, *, actors: int = 2,
                     cpus_per_actor: float = 1.0, gpus_per_actor: float = 0.0, batch_rows: int = 256,
                     max_tokens: int | None = None) -> None:
    """Ray Data: read the row file (`explain.dataset.rowfile`), predict with `actors` model actors, write JSON
    files (each record with its "row" id) to `target`. Ray must be started (`start_ray`)."""
    ray = require_ray()
    from ray.data import SaveMode

    ds = ray.data.read_parquet(str(rowfile)).select_columns(["id", "line", "text", "text_pair", "label"])
    predicted = ds.map_batches(
        Predictor, fn_constructor_args=(spec, tuple(labels), dict(match.index), dict(match.how), max_tokens,
                                        int(max(1, cpus_per_actor))),
        batch_size=batch_rows, batch_format="pandas", concurrency=actors, num_cpus=cpus_per_actor,
        num_gpus=gpus_per_actor or None,
    )
    predicted.write_json(str(target), mode=SaveMode.OVERWRITE)  # a second run replaces, never appends


def evaluate_file_ray(bundle, args, match, total: int, out: Path, rowfile: Path):
    """Run the predictions of the row file on Ray Data into `out`/predictions, then assemble a
    FileEvaluation from them."""
    # the actors hold their CPUs for the whole run: one more CPU lets Ray's read and write tasks run
    ray = start_ray(args.ray_address, int(np.ceil(args.ray_actors * args.ray_cpus_per_actor)) + 1)
    from explain.dataset.metrics import classification_metrics
    from explain.dataset.stream import HARDEST, PROJECTOR_ROWS, FileEvaluation, evaluate_file
    from explain.run import _frozen

    target = out / "predictions"
    predict_to_files(args.model, rowfile, bundle.labels, match, target,
                     actors=args.ray_actors, cpus_per_actor=args.ray_cpus_per_actor,
                     gpus_per_actor=args.ray_gpus_per_actor, batch_rows=args.ray_batch_rows,
                     max_tokens=args.max_tokens)
    written = ray.data.read_json(str(target), lines=True)
    y_true, probs = np.zeros(total, dtype=np.int64), np.zeros((total, len(bundle.labels)))
    heap: list = []
    for batch in written.iter_batches(batch_format="pandas", batch_size=4096):
        rows = batch["row"].to_numpy()
        y_true[rows] = batch["gold_id"].to_numpy()
        probs[rows] = np.stack(batch["probs"].to_numpy())
        for i in np.argsort(-batch["loss"].to_numpy(), kind="stable")[:HARDEST]:
            record = {k: _plain(v) for k, v in batch.iloc[int(i)].items() if k not in ("gold_id", "probs")}
            item = (float(record["loss"]), -int(record["row"]), record)
            (heapq.heappush if len(heap) < HARDEST else heapq.heappushpop)(heap, item)
    first = evaluate_file(bundle, args.data, match, total=min(total, PROJECTOR_ROWS), max_rows=min(total, PROJECTOR_ROWS),
                          max_tokens=args.max_tokens, hardest=0)
    return FileEvaluation(
        metrics=classification_metrics(y_true, probs, bundle.labels), y_true=_frozen(y_true), probs=_frozen(probs),
        hardest=tuple(r for *_, r in sorted(heap, key=lambda t: (-t[0], -t[1]))), projector=first.projector,
        notices=first.notices, seconds=0.0,
    )


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value
