"""`python -m explain evaluate --model SPEC --data FILE --out DIR`: a classifier on a labelled file.

Writes into DIR: predictions.jsonl (one record per row; with --engine ray, Ray writes predictions/
as JSON files), metrics.json, per_class.csv, confusion.csv, hardest.csv (the rows with the highest
loss), attributions.jsonl (with --engine ray, the actors write attributions/) and words.csv /
shortcuts.csv (per-row attributions of a seeded sample of --explain-rows rows drawn over the whole
file, merged per class), heads.csv / heads.json (head importance and the pruning curve on those rows),
and report.html (every figure and table, offline). Progress goes to stderr;
a bad input exits with code 2 and one line (explain/cli.py).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

from explain.errors import InputError
from explain.i18n import _
from explain.local_files import output_folder

EXPLAIN_ROWS = 300


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, metavar="SPEC",
                        help="a sequence classifier: a built-in name, a hub id or a local folder")
    parser.add_argument("--data", required=True, metavar="FILE",
                        help="CSV, TSV or JSON Lines with text, optional text_pair, and label")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for the predictions, tables and report")
    parser.add_argument("--attributions", default="ig", metavar="METHOD",
                        help="attribution method for the explained rows (ig, saliency, input_x_gradient, deeplift, "
                             "occlusion, ...; 'none' to skip; default ig with adaptive steps)")
    parser.add_argument("--explain-rows", type=int, default=EXPLAIN_ROWS, metavar="N",
                        help=f"rows that get attributions, head importance and the pruning curve: a seeded sample "
                             f"drawn over the whole file, the same for both engines (default {EXPLAIN_ROWS}; 0 to "
                             f"skip them; at least the file's rows: every row)")
    parser.add_argument("--label-map", metavar="MAP", help="data label -> model label, e.g. positive=fresh,negative=rotten")
    parser.add_argument("--max-rows", type=int, metavar="N", help="evaluate only the first N rows")
    parser.add_argument("--max-tokens", type=int, metavar="N", help="truncation limit (default: the model's maximum)")
    parser.add_argument("--engine", choices=("local", "ray"), default="local",
                        help="local: stream the file in this process; ray: run the predictions on Ray Data")
    parser.add_argument("--ray-address", metavar="ADDR",
                        help="join this Ray cluster (e.g. 'auto' or 10.0.0.5:6379); default: start a local Ray")
    parser.add_argument("--ray-actors", type=int, default=2, metavar="N", help="model actors (default 2)")
    parser.add_argument("--ray-cpus-per-actor", type=float, default=1.0, metavar="C", help="CPUs per actor (default 1)")
    parser.add_argument("--ray-gpus-per-actor", type=float, default=0.0, metavar="G", help="GPUs per actor (default 0)")
    parser.add_argument("--ray-batch-rows", type=int, default=256, metavar="N", help="rows per Ray batch (default 256)")


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class Bar:
    """A one-line progress bar on stderr: stage, rows done / total, elapsed and estimated time left."""

    def __init__(self, stage: str, width: int = 28, every: float = 0.25):
        self.tty = sys.stderr.isatty()  # a log file gets one line every 10 s instead of a redrawn bar
        self.stage, self.width, self.every = stage, width, every if self.tty else 10.0
        self.start = time.perf_counter()
        self.shown = -1.0
        self.finished = False

    def __call__(self, done: int, total: int) -> None:
        now = time.perf_counter()
        if self.finished or (done < total and now - self.shown < self.every):
            return
        self.shown = now
        elapsed = now - self.start
        left = elapsed / done * (total - done) if done else float("nan")
        filled = int(self.width * done / total) if total else self.width
        eta = _("{t} left").format(t=_clock(left)) if done < total and done else ""
        line = f"{self.stage:<16} [{'#' * filled}{'.' * (self.width - filled)}] " + _(
            "{done:,}/{total:,} rows, {t}").format(done=done, total=total, t=_clock(elapsed)) + (f", {eta}" if eta else "")
        self.finished = done >= total
        if self.tty:
            print("\r" + line + "\033[K", end="\n" if self.finished else "", file=sys.stderr, flush=True)
        else:
            print(line, file=sys.stderr, flush=True)


def _clock(seconds: float) -> str:
    if math.isnan(seconds):
        return "?"
    seconds = round(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else \
        f"{seconds // 60}:{seconds % 60:02d}"


class _Lines:
    """Append JSON Lines to a file as chunks come."""

    def __init__(self, path: Path):
        self.file = open(path, "w", encoding="utf-8")  # noqa: SIM115 (closed by close(), after the last chunk)

    def __call__(self, records: list[dict]) -> None:
        from explain.dataset.export import jsonl

        self.file.write(jsonl(records))

    def close(self) -> None:
        self.file.close()


def _check_args(args: argparse.Namespace) -> Path:
    out = output_folder(args.out)
    for name in ("max_rows", "ray_actors", "ray_batch_rows", "max_tokens"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise InputError(_("--{name} must be at least 1.").format(name=name.replace("_", "-")))
    if args.explain_rows < 0:
        raise InputError(_("--explain-rows must be 0 or more."))
    if args.ray_cpus_per_actor <= 0 or args.ray_gpus_per_actor < 0:
        raise InputError(_("--ray-cpus-per-actor must be above 0 and --ray-gpus-per-actor at least 0."))
    return out


def _match(summary, bundle, label_map):
    from explain.dataset.labels import LabelMismatch, match_labels

    try:
        return match_labels(summary.classes, bundle.labels, label_map)
    except LabelMismatch as err:
        example = ",".join(f"{u}={bundle.labels[min(i, len(bundle.labels) - 1)]}" for i, u in enumerate(err.unknown[:2]))
        raise InputError(_("The data has labels the model does not know: {unknown}; the model's labels are {labels}. "
                           "Pass --label-map, e.g. --label-map {example}").format(
            unknown=", ".join(f"'{u}'" for u in err.unknown[:10]), labels=", ".join(bundle.labels[:20]),
            example=example)) from None


def run(args: argparse.Namespace) -> int:
    from explain.attribution.methods import method_spec
    from explain.dataset.evaluate import check_classifier
    from explain.dataset.labels import parse_label_map
    from explain.dataset.reader import scan_rows
    from explain.models.catalog import load_model

    out = _check_args(args)
    method = None if (args.attributions or "none").lower() == "none" else args.attributions.lower()
    if method:
        method_spec(method)
    label_map = parse_label_map(args.label_map) if args.label_map else None
    if args.engine == "ray":
        from explain.dataset.ray_engine import require_ray

        require_ray()
    _say(_("Checking {file}…").format(file=args.data))
    summary = scan_rows(args.data)  # a bad file fails here, before the model loads
    total = min(summary.rows, args.max_rows or summary.rows)
    _say(_("Loading {spec}…").format(spec=args.model))
    bundle = load_model(args.model)
    if bundle.task == "token-classification":
        raise InputError(_("The evaluate command scores sequence classifiers; '{name}' tags tokens (use the Data set "
                           "page for it).").format(name=bundle.name))
    check_classifier(bundle)
    match = _match(summary, bundle, label_map)
    for line in match.describe():
        _say(_("Labels: {line}").format(line=line))
    output_folder(out, create=True)
    started = time.perf_counter()
    explained = min(args.explain_rows, total)
    if args.engine == "ray":
        from explain.dataset.chunk import explain_sample
        from explain.dataset.ray_engine import evaluate_file_ray
        from explain.dataset.rowfile import write_rowfile
        from explain.dataset.stream import prune_ids

        sample = explain_sample(total, explained)
        # several shards per actor: Ray hands out whole files, so one shard would keep one actor busy
        shard = max(1, min(10_000, -(-total // (4 * args.ray_actors))))
        rowfile = write_rowfile(args.data, out / "rows", total, sample, prune_ids(sample), shard_rows=shard)
        fe = evaluate_file_ray(bundle, args, match, total, out, rowfile)
        written = [out / "predictions"]
    else:
        from explain.dataset.stream import evaluate_file

        lines = _Lines(out / "predictions.jsonl")
        try:
            fe = evaluate_file(bundle, args.data, match, total=total, max_rows=args.max_rows,
                               max_tokens=args.max_tokens, on_records=lines, progress=Bar(_("predictions")))
        finally:
            lines.close()
        written = [out / "predictions.jsonl"]
    seconds = time.perf_counter() - started
    m = fe.metrics
    print(_("{n:,} rows in {s:.1f} s ({rate:.0f} rows/s): accuracy {acc:.4f}, macro-F1 {f1:.4f}, ECE {ece:.4f}").format(
        n=m.n, s=seconds, rate=m.n / seconds if seconds else 0, acc=m.accuracy, f1=m.macro_f1, ece=m.ece))
    try:
        fx = _explain(bundle, args, match, explained, total, method, out, written)
    finally:
        if args.engine == "ray":
            import shutil

            shutil.rmtree(out / "rows", ignore_errors=True)  # the row file was Ray's copy of the data
    written += _write_files(bundle, args, out, fe, fx, seconds, explained)
    _say(_("Wrote {files}").format(files=", ".join(str(p) for p in written)))
    return 0


def _explain(bundle, args, match, rows: int, total: int, method: str | None, out: Path, written: list):
    from explain.dataset.stream import explain_file

    if rows <= 0:
        return None
    if args.engine == "ray":
        from explain.dataset.ray_explain import explain_file_ray

        fx = explain_file_ray(bundle, args, match, out / "rows", rows, out, method, progress=lambda stage: Bar(_(stage)))
        if method:
            written.append(out / "attributions")
        return fx
    attr = _Lines(out / "attributions.jsonl") if method else None
    try:
        fx = explain_file(bundle, args.data, match, rows=rows, total=total, method=method, on_records=attr,
                          progress=lambda stage: Bar(_(stage)))
    finally:
        if attr is not None:
            attr.close()
            written.append(out / "attributions.jsonl")
    return fx


def _write_files(bundle, args, out: Path, fe, fx, seconds: float, explained: int) -> list[Path]:
    from explain.dataset import export

    def write(name: str, text: str) -> Path:
        (out / name).write_text(text, encoding="utf-8")
        return out / name

    m = fe.metrics
    extra = {"model": bundle.name, "data": str(args.data), "engine": args.engine, "seconds": round(seconds, 3),
             "rows_per_second": round(m.n / seconds, 1) if seconds else None, "max_tokens": args.max_tokens,
             "explained_rows": explained,
             "attributions": None if fx is None or fx.summary is None else fx.method}
    written = [write("metrics.json", export.metrics_json(m, **extra)), write("per_class.csv", export.per_class_csv(m)),
               write("confusion.csv", export.confusion_csv(m)), write("hardest.csv", export.rows_csv(fe.hardest))]
    note = ""
    if fx is not None and fx.summary is not None:
        written += [write("words.csv", export.words_csv(fx.summary)),
                    write("shortcuts.csv", export.shortcuts_csv(fx.summary))]
        note = export.attribution_note(fx.method, fx.target_kind, fx.steps, fx.relative_delta, fx.converged)
        _say(note)
    if fx is not None and fx.importance is not None:
        written += [write("heads.csv", export.heads_csv(fx.importance)),
                    write("heads.json", export.heads_json(fx.importance, fx.curve))]
    sections = export.dataset_sections(
        m, hardest=fe.hardest, summary=None if fx is None else fx.summary, attribution_note=note,
        importance=None if fx is None else fx.importance, curve=None if fx is None else fx.curve,
        projector=fe.projector, notices=fe.notices)
    written.append(write("report.html", export.dataset_report_html(bundle.name, Path(args.data).name, sections)))
    return written
