"""BERT Lens benchmark: how long each view, attribution and page takes, with anchors measured alongside.

    python benchmarks/run.py                # full run (both models, 16-256 tokens, browser)
    python benchmarks/run.py --quick        # default model, 16/32/64 tokens, pages at 64/128, one cold start
    python benchmarks/run.py --no-browser --threads 2 --repeats 5

Prints aligned plain-text tables and writes them, with machine information, to benchmarks/latest.json.
Times are medians of `--repeats` calls after one warm-up call (calls over a second are repeated
less, see `measure`). A cell marked "~" was not run: it was extrapolated from the shorter inputs
because running it would take longer than `--max-seconds` (attention flow: the app's own estimate).

Pages: each page's rerun after a text edit, with its cheapest view open, timed through AppTest
(benchmarks/pages.py) at 64/128 tokens (--quick) or 64/128/512; target 300 ms at 128 tokens. Cold
start: process start -> /_stcore/health -> first chart visible in Chromium; target 4 s.

Models (benchmarks/subjects.py): the offline default (all-MiniLM-L6-v2, 6 layers x 12 heads x 384) with
its shipped heads, and a random BERT of bert-base shape (12 layers x 12 heads x 768, seed 0) for the cost
at full size. Inputs: held-out movie-review sentences joined and cut to exactly T tokens ([CLS] and [SEP]
included). What is timed: benchmarks/views.py; tables and targets: benchmarks/report.py; the data-set,
scale (issue 17), Data set page memory, comparison, behavioural-test and probing parts: benchmarks/dataset.py,
scale.py, dataset_page.py, compare.py, behaviour.py, probing.py.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python benchmarks/run.py` from the checkout: the benchmarks package
    sys.path.insert(0, str(ROOT))

import torch

from benchmarks.browser import bench_browser
from benchmarks.measure import Recorder, text_of_length
from benchmarks.report import (
    browser_table,
    data_table,
    data_targets,
    feature_table,
    feature_targets,
    machine_info,
    model_table,
    pages_table,
    targets,
    targets_table,
    to_json,
)
from benchmarks.subjects import bert_base_subject, corpus, default_subject
from benchmarks.views import PAGE_TARGET_TOKENS, bench_lengths, bench_page_reruns
from explain import run_model

OUT = Path(__file__).resolve().parent / "latest.json"


def bench_data(quick: bool, browser: bool = True) -> dict:
    """benchmarks/dataset.py (evaluation rows/s, aggregated IG vs a Captum per-row loop), benchmarks/scale.py
    (nested IG, Ray with attributions, driver memory), benchmarks/dataset_page.py (the Data set page's server
    memory at 300 and 50,000 rows, in Chromium; skipped with --no-browser), benchmarks/compare.py,
    benchmarks/behaviour.py (suite cases/s, counterfactual search) and benchmarks/probing.py (probes, neuron view)."""
    from benchmarks import behaviour, compare, dataset, dataset_page, probing, scale

    print("  data set", flush=True)
    out = {"dataset": dataset.measure(quick)}
    print("  scale", flush=True)
    out["scale"] = scale.measure(quick)
    if browser:
        print("  data set page", flush=True)
        out["dataset_page"] = dataset_page.measure(quick)
    print("  compare", flush=True)
    out["compare"] = compare.measure(quick)
    flags = ["--quick"] if quick else []
    print("  behaviour", flush=True)
    out["behaviour"] = behaviour.main(flags)
    print("  probing", flush=True)
    out["probing"] = probing.measure(quick)
    return out


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="default model only, 16/32/64 tokens, pages at 64/128 tokens, one cold start")
    p.add_argument("--no-browser", action="store_true", help="skip the Chromium measurements")
    p.add_argument("--no-pages", action="store_true", help="skip the per-page rerun times (AppTest)")
    p.add_argument("--no-data", action="store_true",
                   help="skip the data-set, scale, comparison, behaviour and probing parts (benchmarks/dataset.py, "
                        "scale.py, compare.py, behaviour.py, probing.py)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own choice)")
    p.add_argument("--repeats", type=int, default=None, help="timed calls per cell after a warm-up (default 5; quick 3)")
    p.add_argument("--max-seconds", type=float, default=None,
                   help="estimate instead of running a call expected to take longer (default 60; quick 5)")
    p.add_argument("--out", type=Path, default=OUT, help="JSON output (default benchmarks/latest.json)")
    return p.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    started = time.perf_counter()
    if args.threads:
        torch.set_num_threads(args.threads)
    repeats = args.repeats or (3 if args.quick else 5)
    max_seconds = args.max_seconds or (5.0 if args.quick else 60.0)
    lengths = [16, 32, 64] if args.quick else [16, 32, 64, 128, 256]
    info = machine_info()
    loads = [os.getloadavg()[0]]
    print(f"{info['cpu']}, {info['cores']} cores, torch threads {info['torch_threads']}, load {loads[0]:.2f}", flush=True)
    rec = Recorder(repeats, max_seconds)
    source = corpus()
    default = default_subject()
    subjects = [default] if args.quick else [default, bert_base_subject(default.encoder.tokenizer)]
    runs = {}
    for s in subjects:
        runs[s.key] = bench_lengths(rec, s, lengths, source)
        loads.append(os.getloadavg()[0])
    page_lengths = [64, PAGE_TARGET_TOKENS] if args.quick else [64, PAGE_TARGET_TOKENS, 512]
    if not args.no_pages:
        bench_page_reruns(rec, default, page_lengths, source)
        loads.append(os.getloadavg()[0])
    browser = {}
    if not args.no_browser:
        print("  browser", flush=True)
        big = runs.get("bert-base", {}).get(256) or run_model(
            bert_base_subject(default.encoder.tokenizer).encoder, text_of_length(default.encoder.tokenizer, source, 256))
        browser = bench_browser(big, repeats, cold_starts=1 if args.quick else 3)
        loads.append(os.getloadavg()[0])
    data = {} if args.no_data else bench_data(args.quick, browser=not args.no_browser)
    if data:
        loads.append(os.getloadavg()[0])
    ts = targets(rec, browser) + data_targets(data) + feature_targets(data)
    seconds = time.perf_counter() - started
    report = [model_table(rec, s, lengths) for s in subjects]
    if not args.no_pages:
        report.append(pages_table(rec, default, page_lengths))
    if browser:
        report.append(browser_table(browser))
    if data:
        report.append(data_table(data))
        report.append(feature_table(data))
    report.append(targets_table(ts))
    print()
    print("\n\n".join(report))
    print(f"\nMachine: {info['cpu']}, {info['cores']} cores, torch threads {info['torch_threads']}; "
          f"1-min load average during the run: {', '.join(f'{x:.2f}' for x in loads)}.")
    print(f"Whole run: {seconds:.0f} s. JSON: {args.out}")
    result = to_json(rec, info, browser, ts, args, seconds, loads) | {"data": data}
    args.out.write_text(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    main()
