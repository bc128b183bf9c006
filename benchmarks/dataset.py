"""Data-set speed: evaluation rows per second and aggregated Integrated Gradients, each with its anchor in the same run.

    python benchmarks/dataset.py            # full: 300 held-out reviews, anchors on every row (~5 min quiet)
    python benchmarks/dataset.py --quick    # about a minute: fewer rows, the IG anchor extrapolated

`measure(quick) -> dict` is what benchmarks/run.py calls. Subject: the shipped sentiment head
(MiniLM-L6 + head, 6 x 12 x 384) on its 300 held-out reviews (assets/heads/minilm-sentiment/heldout.jsonl,
at most 62 tokens each; the evaluation cuts at 64 tokens).
  - evaluation: `explain.dataset.evaluate` (length-bucketed padded batches, head input kept) in rows/s;
    anchor: the same model one row at a time (tokenizer + forward per row, no padding).
  - aggregated IG: `dataset_attributions(method="ig")`, adaptive Gauss-Legendre steps per row until
    |delta| < 1 % of |f(x) - f(x')|; time, model evaluations (interpolated rows through forward and
    backward), steps used, the worst relative delta. Anchor: a per-row loop of Captum's
    LayerIntegratedGradients on the word embeddings with 50 steps, as transformers-interpret runs it
    (its SequenceClassificationExplainer: one row at a time, n_steps=50, internal_batch_size=None),
    with the same target (softmax probability of the predicted class) and baseline ([PAD] per token).
  - head importance over the rows and the default pruning curve (25 points, one random order).
  - Ray (when installed): the same predictions on Ray Data with 2 local actors, end to end (read, model
    actors, write JSON), rows/s of the faster of two runs (the first starts the actors), next to the
    in-process rows/s of the same run.
Timings on a shared machine are noisy: the 1-minute load average is recorded between the parts, and
the IG rows also give process CPU seconds (which other jobs inflate less than wall time).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np
import torch

from explain import load_model
from explain.dataset.attributions import dataset_attributions
from explain.dataset.evaluate import evaluate
from explain.dataset.heads import dataset_head_importance, pruning_curve
from explain.dataset.reader import read_rows
from explain.models.heads import HEADS_DIR

SENTIMENT = "MiniLM + movie-review sentiment head (rotten/fresh)"
HELDOUT = HEADS_DIR / "minilm-sentiment" / "heldout.jsonl"
MAX_TOKENS = 64
TARGETS = {"evaluation_rows_per_second": 200.0, "aggregated_ig_seconds": 60.0}


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def bench_evaluation(bundle, rows, repeats: int) -> dict:
    evaluate(bundle, rows.subset(range(32)), max_tokens=MAX_TOKENS)  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        ev = evaluate(bundle, rows, max_tokens=MAX_TOKENS)
        times.append(time.perf_counter() - start)
    best = float(np.median(times))
    anchor_rows = rows if repeats > 1 else rows.subset(range(100))
    start = time.perf_counter()
    with torch.inference_mode():
        for text in anchor_rows.texts:
            enc = bundle.tokenizer(text, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
            bundle.model(**enc)
    one_by_one = time.perf_counter() - start
    return {
        "rows": len(rows), "seconds": round(best, 3), "rows_per_second": round(len(rows) / best, 1),
        "runs": repeats, "accuracy": ev.metrics.accuracy, "mean_tokens": float(ev.n_tokens.mean()),
        "anchor_one_row_at_a_time_rows_per_second": round(len(anchor_rows) / one_by_one, 1),
        "anchor_rows": len(anchor_rows),
    }


def captum_loop(bundle, texts: list[str]) -> dict:
    """transformers-interpret's way: LayerIntegratedGradients on the word embeddings, one row at a time, 50 steps."""
    from captum.attr import LayerIntegratedGradients

    model = copy.deepcopy(bundle.model)  # Captum hooks the layer: never on the shared model
    state = {}

    def forward(input_ids, attention_mask, token_type_ids):
        logits = model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).logits
        return torch.softmax(logits, dim=-1)[:, state["target"]]

    lig = LayerIntegratedGradients(forward, model.bert.embeddings.word_embeddings)
    relative = []
    start, cpu = time.perf_counter(), time.process_time()
    for text in texts:
        enc = bundle.tokenizer(text, return_tensors="pt", return_special_tokens_mask=True)
        ids = enc["input_ids"]
        ref = torch.where(enc["special_tokens_mask"].bool(), ids, torch.full_like(ids, bundle.tokenizer.pad_token_id))
        args = (enc["attention_mask"], enc["token_type_ids"])
        with torch.no_grad():
            state["target"] = int(model(input_ids=ids, attention_mask=args[0]).logits[0].argmax())
            gap = float(forward(ids, *args) - forward(ref, *args))
        _, delta = lig.attribute(ids, baselines=ref, additional_forward_args=args, n_steps=50,
                                 internal_batch_size=None, return_convergence_delta=True)
        relative.append(abs(float(delta)) / abs(gap) if gap else 0.0)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    relative = np.array(relative)
    return {"rows": len(texts), "seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2),
            "model_evaluations": 50 * len(texts),
            "max_relative_delta": float(relative.max()), "share_within_1_percent": float((relative < 0.01).mean())}


def bench_ig(bundle, rows, anchor_rows: int) -> dict:
    ev = evaluate(bundle, rows, features=False)
    start, cpu = time.perf_counter(), time.process_time()
    da = dataset_attributions(bundle, rows, method="ig", evaluation=ev)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    rel = da.relative_delta
    ours = {
        "rows": len(rows), "seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2),
        "model_evaluations": int(da.evaluations),
        "evaluations_per_row": round(da.evaluations / len(rows), 1), "steps_used": da.steps_histogram(),
        "mean_steps": float(da.steps.mean()), "max_relative_delta": float(rel.max()),
        "median_relative_delta": float(np.median(rel)), "every_row_within_1_percent": bool(da.converged.all()),
    }
    n = min(anchor_rows, len(rows))
    anchor = captum_loop(bundle, list(rows.texts[:n]))
    if n < len(rows):
        anchor["extrapolated_seconds_for_all_rows"] = round(anchor["seconds"] * len(rows) / n, 1)
    per_row_ours = seconds / len(rows)
    per_row_anchor = anchor["seconds"] / n
    return {"ours": ours, "anchor_captum_lig_50_steps_per_row": anchor,
            "speedup_per_row": round(per_row_anchor / per_row_ours, 2)}


def bench_heads(bundle, rows) -> dict:
    start = time.perf_counter()
    imp = dataset_head_importance(bundle, rows)
    importance_s = time.perf_counter() - start
    start = time.perf_counter()
    curve = pruning_curve(bundle, rows, imp)
    curve_s = time.perf_counter() - start
    return {"rows": len(rows), "importance_seconds": round(importance_s, 2), "pruning_curve_points": len(curve.ks),
            "pruning_curve_seconds": round(curve_s, 2),
            "accuracy_at_half_the_heads": float(curve.accuracy[np.searchsorted(curve.ks, curve.ks[-1] // 2)]),
            "random_accuracy_at_half_the_heads": float(
                curve.random_accuracy[np.searchsorted(curve.ks, curve.ks[-1] // 2)])}


def bench_ray(bundle, rows_per_second_local: float, quick: bool) -> dict:
    """The same predictions on Ray Data with 2 local actors (`--engine ray`), end to end (read, actors, write),
    next to the in-process rows/s of this run. The first run includes starting the actors (model load)."""
    try:
        import ray
    except ImportError:
        return {"skipped": "ray is not installed (pip install -e \".[ray]\")"}
    import tempfile

    from explain.dataset.labels import match_labels
    from explain.dataset.ray_engine import predict_to_files, start_ray
    from explain.dataset.reader import scan_rows

    copies = 1 if quick else 4
    lines = HELDOUT.read_text(encoding="utf-8").splitlines() * copies
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "rows.jsonl"
        data.write_text("\n".join(lines) + "\n", encoding="utf-8")
        match = match_labels(scan_rows(data).classes, bundle.labels)
        start = time.perf_counter()
        start_ray(None, 3)
        ray_start = time.perf_counter() - start
        runs = []
        for k in range(2):
            start = time.perf_counter()
            predict_to_files(SENTIMENT, str(data), "jsonl", len(lines), bundle.labels, match, Path(tmp) / f"out{k}",
                             actors=2, batch_rows=64, max_tokens=MAX_TOKENS)
            runs.append(time.perf_counter() - start)
        ray.shutdown()
    return {"rows": len(lines), "actors": 2, "ray_init_seconds": round(ray_start, 2),
            "seconds_per_run": [round(t, 2) for t in runs], "rows_per_second": round(len(lines) / min(runs), 1),
            "anchor_in_process_rows_per_second": rows_per_second_local}


def measure(quick: bool = False) -> dict:
    """Every data-set number with its anchor; `quick` uses fewer rows and extrapolates the IG anchor."""
    started = time.perf_counter()
    loads = [_load()]
    bundle = load_model(SENTIMENT)
    rows = read_rows(HELDOUT)
    out = {"model": SENTIMENT, "torch_threads": torch.get_num_threads(), "cores": os.cpu_count(),
           "mode": "quick" if quick else "full"}
    out["evaluation"] = bench_evaluation(bundle, rows, repeats=1 if quick else 3)
    loads.append(_load())
    out["ray"] = bench_ray(bundle, out["evaluation"]["rows_per_second"], quick)
    loads.append(_load())
    ig_rows = rows.subset(range(0, 300, 5)) if quick else rows
    out["aggregated_ig"] = bench_ig(bundle, ig_rows, anchor_rows=20 if quick else len(ig_rows))
    loads.append(_load())
    out["heads"] = bench_heads(bundle, rows.subset(range(0, 300, 5)) if quick else rows)
    loads.append(_load())
    ig = out["aggregated_ig"]["ours"]
    ig_seconds_300 = ig["seconds"] * 300 / ig["rows"]
    out["targets"] = {
        "evaluation_rows_per_second": {"limit": TARGETS["evaluation_rows_per_second"],
                                       "measured": out["evaluation"]["rows_per_second"],
                                       "pass": out["evaluation"]["rows_per_second"] >= 200},
        "aggregated_ig_seconds_300_rows": {"limit": TARGETS["aggregated_ig_seconds"],
                                           "measured": round(ig_seconds_300, 1), "estimated": ig["rows"] < 300,
                                           "pass": ig_seconds_300 < 60 and ig["every_row_within_1_percent"]},
    }
    out["load_average_1min"] = loads
    out["seconds"] = round(time.perf_counter() - started, 1)
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    result = measure(args.quick)
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
