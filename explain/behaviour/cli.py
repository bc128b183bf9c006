"""`python -m explain stress --model SPEC --suite FILE|NAME --out DIR`: behavioural tests of a classifier.

Writes into DIR: results.json (every case), tests.csv (one row per test), failures.csv (every failed
case) and report.html (offline). Prints each test's failure rate. Exit code 0; 1 when a test's
failure rate is above --fail-above (a CI gate); 2 with one line for a bad suite (naming the file, the
test and the field), a model that does not fit it, or a bad option (explain/cli.py).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

from explain.errors import InputError
from explain.i18n import _, ngettext


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, metavar="SPEC",
                        help="a sequence or token classifier: a built-in name, a hub id or a local folder")
    parser.add_argument("--suite", required=True, metavar="FILE|NAME",
                        help="a suite file (YAML or JSON) or a shipped suite: sentiment, pii")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for results.json, the CSV files and the report")
    parser.add_argument("--fail-above", type=float, metavar="RATE",
                        help="exit with code 1 when a test's failure rate is above RATE (0 to 1, e.g. 0.2)")
    parser.add_argument("--max-tokens", type=int, metavar="N", help="truncation limit (default: the model's maximum)")
    parser.add_argument("--engine", choices=("local", "ray"), default="local",
                        help="local: predict in this process; ray: predict on Ray Data")
    parser.add_argument("--ray-address", metavar="ADDR",
                        help="join this Ray cluster (e.g. 'auto'); default: start a local Ray")
    parser.add_argument("--ray-actors", type=int, default=2, metavar="N", help="model actors (default 2)")
    parser.add_argument("--ray-batch-rows", type=int, default=256, metavar="N", help="texts per Ray batch (default 256)")


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _check_args(args: argparse.Namespace) -> Path:
    out = Path(args.out).expanduser()
    if out.exists() and not out.is_dir():
        raise InputError(_("--out '{path}' is a file; give a folder.").format(path=out))
    if args.fail_above is not None and not 0 <= args.fail_above <= 1:
        raise InputError(_("--fail-above is a failure rate from 0 to 1 (0.2 for 20 %); got {value}.").format(
            value=args.fail_above))
    for name in ("max_tokens", "ray_actors", "ray_batch_rows"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise InputError(_("--{name} must be at least 1.").format(name=name.replace("_", "-")))
    return out


def run(args: argparse.Namespace) -> int:
    from explain.behaviour.runner import check_model, run_suite
    from explain.behaviour.suite import load_suite
    from explain.dataset.cli import Bar
    from explain.models.catalog import load_model

    out = _check_args(args)
    suite = load_suite(args.suite)  # a bad suite fails here, before the model loads
    _say(_("Suite '{name}': {tests} tests, {texts:,} source texts ({file}).").format(
        name=suite.name, tests=len(suite.tests), texts=suite.n_texts, file=suite.path))
    if args.engine == "ray":
        from explain.behaviour.ray_engine import require_ray

        require_ray()
    _say(_("Loading {spec}…").format(spec=args.model))
    bundle = load_model(args.model)
    check_model(bundle, suite)
    predict = None
    if args.engine == "ray":
        from explain.behaviour.ray_engine import ray_predictor

        predict = ray_predictor(bundle, args)
    started = time.perf_counter()
    result = run_suite(bundle, suite, max_tokens=args.max_tokens, progress=Bar(_("texts")), predict=predict)
    seconds = time.perf_counter() - started
    _print_table(result)
    out.mkdir(parents=True, exist_ok=True)
    written = _write(result, out)
    print(_("{cases:,} cases ({texts:,} distinct texts) in {s:.1f} s ({rate:.0f} cases/s).").format(
        cases=result.n_cases, texts=result.n_texts, s=seconds, rate=result.n_cases / seconds if seconds else 0))
    for notice in result.notices:
        _say(_(notice))
    _say(_("Wrote {files}").format(files=", ".join(str(p) for p in written)))
    if args.fail_above is not None:
        above = result.above(args.fail_above)
        if above:
            print(ngettext("{n} test fails above {rate:.1%}: {tests}", "{n} tests fail above {rate:.1%}: {tests}",
                           len(above)).format(n=len(above), rate=args.fail_above,
                                              tests=", ".join(f"{t.name} ({t.failure_rate:.1%})" for t in above)))
            return 1
    return 0


def _print_table(result) -> None:
    width = max(len(t.name) for t in result.tests)
    cap = max(len(t.capability) for t in result.tests)
    for t in result.tests:
        rate = "-" if math.isnan(t.failure_rate) else f"{100 * t.failure_rate:5.1f} %"
        skipped = _(", {n} unchanged").format(n=t.n_skipped) if t.n_skipped else ""
        print(f"{t.capability:<{cap}}  {t.type}  {t.name:<{width}}  {rate:>7}  ({t.n_failed}/{t.n_cases}{skipped})")


def _write(result, out: Path) -> list[Path]:
    from explain.behaviour import export

    files = {"results.json": export.results_json(result), "tests.csv": export.summary_csv(result),
             "failures.csv": export.failures_csv(result), "report.html": export.behaviour_report_html(result)}
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8")
    return [out / name for name in files]
