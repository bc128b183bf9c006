"""Benchmark of the model comparison (issue 9): one text at 64 tokens, and the 300 held-out reviews.

    python benchmarks/compare.py [--quick]       # prints the numbers as JSON

`measure(quick)` returns a dict: every timing in ms (median of repeats after a warm-up, see
benchmarks/measure.py), the anchors timed in the same run (one `run_model` forward pass; the data set
as a loop of one `compare_text` per row) with the ratios to them, and the two targets with pass/fail:
- one text, both forward passes plus every comparison (JS grid, cosine, CKA, predictions): 300 ms;
- the 300 held-out reviews: 30 s.
Models: the shipped sentiment head (A) against the offline default encoder (B), both all-MiniLM-L6-v2
size (6 layers x 12 heads x 384). Attributions (two heads: sentiment vs WordNet) are timed apart:
they are computed only when their view is open.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.measure import measure as median_ms
from benchmarks.measure import text_of_length
from explain.paths import ASSETS

HELDOUT = ASSETS / "heads" / "minilm-sentiment" / "heldout.jsonl"
SENTIMENT = "MiniLM + movie-review sentiment head (rotten/fresh)"
WORDNET = "MiniLM + WordNet category head (what a definition describes)"
ONE_TEXT_LIMIT_MS = 300.0
DATASET_LIMIT_S = 30.0


def _reviews() -> list[str]:
    return [json.loads(line)["text"] for line in HELDOUT.read_text(encoding="utf-8").splitlines() if line.strip()]


def measure(quick: bool = False) -> dict:
    """Time the comparison; see the module docstring. `quick`: fewer repeats, the per-row anchor on 60 rows."""
    import torch

    from explain import DEFAULT_MODEL, load_model, run_model
    from explain.compare.compat import check_compatible
    from explain.compare.corpus import compare_dataset
    from explain.compare.text import compare_attributions, compare_text

    started = time.perf_counter()
    loads = [os.getloadavg()[0]]
    repeats = 3 if quick else 7
    a, b = load_model(SENTIMENT), load_model(DEFAULT_MODEL)
    reviews = _reviews()
    text = text_of_length(a.tokenizer, " ".join(reviews), 64)
    compat = check_compatible(a, b)

    cells: dict[str, dict] = {}

    def put(name: str, ms: float, **extra) -> float:
        cells[name] = {"ms": round(ms, 2), **extra}
        return ms

    forward = put("forward A, 64 tokens (anchor)", median_ms(lambda: run_model(a, text), repeats).value)
    check = put("tokenizer check (cached by the app)", median_ms(lambda: check_compatible(a, b), repeats).value)
    one = put("one text, 64 tokens: both forwards + all comparisons",
              median_ms(lambda: compare_text(a, b, text, compat=compat), repeats).value)
    cells["one text, 64 tokens: both forwards + all comparisons"]["x forward"] = round(one / forward, 2)
    put("same, with the tokenizer check", median_ms(lambda: compare_text(a, b, text), repeats).value)
    loads.append(os.getloadavg()[0])

    heads = load_model(WORDNET)
    for method in ("saliency", "ig"):
        put(f"attributions of two heads, {method}, 64 tokens",
            median_ms(lambda m=method: compare_attributions(a, heads, text, method=m), 1 if quick else 3).value)
    loads.append(os.getloadavg()[0])

    t, cpu = time.perf_counter(), time.process_time()
    d = compare_dataset(a, b, reviews, compat=compat)
    data_s, data_cpu = time.perf_counter() - t, time.process_time() - cpu
    put(f"data set: {len(reviews)} held-out reviews, batched", data_s * 1e3, tokens=d.n_tokens,
        rows_per_s=round(len(reviews) / data_s, 1), cpu_ms=round(data_cpu * 1e3))
    anchor_rows = reviews[:60] if quick else reviews
    t = time.perf_counter()
    for review in anchor_rows:
        compare_text(a, b, review, compat=compat)
    loop_s = (time.perf_counter() - t) * len(reviews) / len(anchor_rows)
    put(f"data set: one compare_text per row (anchor{', 60 rows scaled' if quick else ''})", loop_s * 1e3,
        estimated=quick)
    cells[f"data set: {len(reviews)} held-out reviews, batched"]["x faster than per row"] = round(loop_s / data_s, 2)
    cells[f"data set: {len(reviews)} held-out reviews, batched"]["x forward"] = round(data_s * 1e3 / forward, 1)
    loads.append(os.getloadavg()[0])

    return {
        "models": {"A": a.name, "B": b.name, "shape": "6 layers x 12 heads x 384"},
        "cells": cells,
        "targets": [
            {"target": "one text at 64 tokens, both forwards + all comparisons", "limit_ms": ONE_TEXT_LIMIT_MS,
             "measured_ms": round(one, 1), "pass": one <= ONE_TEXT_LIMIT_MS},
            {"target": f"{len(reviews)} held-out reviews", "limit_ms": DATASET_LIMIT_S * 1e3,
             "measured_ms": round(data_s * 1e3), "pass": data_s <= DATASET_LIMIT_S},
        ],
        "tokenizer_check_ms": round(check, 1),
        "torch_threads": torch.get_num_threads(),
        "load_average_1min": loads,
        "seconds": round(time.perf_counter() - started, 1),
    }


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    print(json.dumps(measure(parser.parse_args().quick), indent=1))
