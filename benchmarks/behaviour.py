"""Behavioural tests (issue 15): suite throughput and counterfactual search time, each with its anchor.

    python benchmarks/behaviour.py            # the shipped suite twice, 10 reviews for the counterfactual
    python benchmarks/behaviour.py --quick    # once, 4 reviews
    python benchmarks/behaviour.py --threads 1

`main(argv) -> rows` prints a table and returns one dict per measurement: name, value, unit, target,
passed, anchor (name, value, unit, measured in the same run) and ratio (value / anchor).
Subject: the shipped sentiment head (MiniLM-L6 + head, 6 x 12 x 384) and its shipped suite
(assets/suites/sentiment.yaml).
  - suite: `run_suite` end to end (cases built, every distinct text predicted in length-bucketed
    batches, scored), in scored cases per second (target >= 200 on 2 cores); anchor: the plain batched
    evaluation of the same distinct texts with `explain.dataset.evaluate` (rows/s), which is the floor
    for the model work. The token lengths of the texts are reported (the target is for up to 32 tokens).
  - counterfactual: `counterfactual(...)` with the shipped MLM model proposing replacements, on held-out
    reviews of up to 25 words, median seconds for the search alone (target < 2 s) and with both
    attributions; anchor: one adaptive Integrated Gradients attribution of the same review
    (`explain.attribution.attribute(method="ig")`).
Timings on a shared machine are noisy: the 1-minute load average and torch's thread count are recorded.
"""

from __future__ import annotations

import argparse
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

SENTIMENT = "MiniLM + movie-review sentiment head (rotten/fresh)"
MLM = "all-MiniLM-L6-v2 + BERT Lens MLM head"
HELDOUT = ROOT / "assets" / "heads" / "minilm-sentiment" / "heldout.jsonl"
CASES_PER_SECOND = 200.0
COUNTERFACTUAL_SECONDS = 2.0


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def bench_suite(bundle, repeats: int) -> list[dict]:
    from explain.behaviour.runner import build_cases, run_suite, texts_to_predict
    from explain.behaviour.suite import load_suite
    from explain.dataset.evaluate import evaluate
    from explain.dataset.reader import rows_from_texts

    suite = load_suite("sentiment")
    texts = texts_to_predict(build_cases(suite))
    rows = rows_from_texts(texts, [bundle.labels[0]] * len(texts))
    evaluate(bundle, rows.subset(range(64)), features=False)  # warm-up
    ours, anchor = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        result = run_suite(bundle, suite)
        ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        ev = evaluate(bundle, rows, features=False)
        anchor.append(time.perf_counter() - start)
    seconds, anchor_s = float(np.median(ours)), float(np.median(anchor))
    tokens = ev.n_tokens
    cases_rate, texts_rate, anchor_rate = result.n_cases / seconds, result.n_texts / seconds, len(rows) / anchor_s
    note = (f"{result.n_cases} cases, {result.n_texts} distinct texts; tokens per text: median {np.median(tokens):.0f}, "
            f"max {tokens.max()}, {100 * np.mean(tokens <= 32):.0f} % at most 32")
    return [
        {"name": "suite: cases per second (shipped sentiment suite)", "value": round(cases_rate, 1), "unit": "cases/s",
         "target": f">= {CASES_PER_SECOND:.0f}", "passed": cases_rate >= CASES_PER_SECOND,
         "anchor": {"name": "explain.dataset.evaluate on the same distinct texts", "value": round(anchor_rate, 1),
                    "unit": "rows/s"}, "ratio": round(texts_rate / anchor_rate, 3), "notes": note,
         "seconds": round(seconds, 2), "runs": repeats},
        {"name": "suite: distinct texts per second", "value": round(texts_rate, 1), "unit": "texts/s", "target": "",
         "passed": None, "anchor": {"name": "explain.dataset.evaluate", "value": round(anchor_rate, 1),
                                     "unit": "rows/s"}, "ratio": round(texts_rate / anchor_rate, 3), "notes": ""},
    ]


def _reviews(n: int) -> list[str]:
    rows = [json.loads(line)["text"] for line in HELDOUT.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if len(r.split()) <= 25][:n]


def bench_counterfactual(bundle, mlm, n: int) -> list[dict]:
    from explain.attribution.methods import attribute
    from explain.behaviour.counterfactual import counterfactual

    reviews = _reviews(n)
    counterfactual(bundle, reviews[0], mlm=mlm)  # warm-up (caches the vocabulary filter)
    search, full, ig, found, words = [], [], [], 0, []
    for text in reviews:
        start = time.perf_counter()
        cf = counterfactual(bundle, text, mlm=mlm, attributions=False)
        search.append(time.perf_counter() - start)
        start = time.perf_counter()
        counterfactual(bundle, text, mlm=mlm, attributions=True)
        full.append(time.perf_counter() - start)
        start = time.perf_counter()
        attribute(bundle, text, method="ig")
        ig.append(time.perf_counter() - start)
        found += cf.found
        words.append(len(cf.edits))
    s, f, a = (float(np.median(x)) for x in (search, full, ig))
    note = (f"{len(reviews)} reviews of <= 25 words; flipped {found}; words changed {words}; "
            f"search max {max(search):.2f} s")
    anchor = {"name": "one adaptive IG attribution of the same review", "value": round(a, 3), "unit": "s"}
    return [
        {"name": "counterfactual: search for one review (median)", "value": round(s, 3), "unit": "s",
         "target": f"< {COUNTERFACTUAL_SECONDS:.0f}", "passed": s < COUNTERFACTUAL_SECONDS, "anchor": anchor,
         "ratio": round(s / a, 2), "notes": note},
        {"name": "counterfactual: search + both attributions (median)", "value": round(f, 3), "unit": "s",
         "target": "", "passed": None, "anchor": anchor, "ratio": round(f / a, 2), "notes": ""},
    ]


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one suite run and 4 reviews")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's, one per core)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    from explain import load_model

    bundle, mlm = load_model(SENTIMENT), load_model(MLM)
    loads = [_load()]
    rows = bench_suite(bundle, 1 if args.quick else 2)
    loads.append(_load())
    rows += bench_counterfactual(bundle, mlm, 4 if args.quick else 10)
    loads.append(_load())
    print(f"torch threads {torch.get_num_threads()}, load average {loads}")
    print(f"{'measurement':<52} {'value':>10} {'target':>8}  {'anchor':>10}  ratio  ok")
    for r in rows:
        ok = "" if r["passed"] is None else ("pass" if r["passed"] else "FAIL")
        anchor = f"{r['anchor']['value']} {r['anchor']['unit']}"
        print(f"{r['name']:<52} {r['value']:>7} {r['unit']:<6} {r['target']:>6}  {anchor:>14}  {r['ratio']:<5}  {ok}")
        if r.get("notes"):
            print(f"    {r['notes']}")
    for r in rows:
        r.update(threads=torch.get_num_threads(), load_average=loads)
    return rows


if __name__ == "__main__":
    main()
