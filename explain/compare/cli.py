"""`python -m explain compare --model A --base B [--text T] [--data FILE] --out DIR`: what fine-tuning changed.

Writes into DIR: text.json, text_heads.csv, text_layers.csv, text_tokens.csv (one text), data.json,
data_heads.csv, data_layers.csv, data_rows.csv (a data set), and report.html (offline). Progress goes to
stderr; a bad input exits with code 2 and one line (explain/cli.py).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from explain.errors import InputError
from explain.i18n import _
from explain.local_files import output_folder

DEFAULT_TEXT = "The animal didn't cross the street because it was too tired."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, metavar="A",
                        help=_("the fine-tuned model: a built-in name, a hub id or a local folder"))
    parser.add_argument("--base", required=True, metavar="B", help=_("the model to compare it with (e.g. its base)"))
    parser.add_argument("--text", help=_("one text to compare on (default: an example sentence when no --data)"))
    parser.add_argument("--pair", help=_("a second text, for sentence-pair models"))
    parser.add_argument("--data", metavar="FILE", help=_("a CSV with a text column (label optional) or JSON Lines"))
    parser.add_argument("--max-rows", type=int, default=2000, help=_("rows read from --data at most (default 2000)"))
    parser.add_argument("--attribution", default="ig", metavar="METHOD",
                        help=_("attribution method run on both for the text, when both have a classifier "
                               "(ig, saliency, input_x_gradient, occlusion, ...; 'none' to skip)"))
    parser.add_argument("--out", required=True, metavar="DIR", help=_("folder for the JSON, CSV and report.html"))


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _progress(started: float):
    def report(done: int, total: int) -> None:
        end = "\n" if done == total else "\r"
        print(_("  {done}/{total} rows, {s:.1f} s").format(done=done, total=total, s=time.perf_counter() - started),
              end=end, file=sys.stderr, flush=True)
    return report


def _write(folder: Path, name: str, content: str) -> Path:
    path = folder / name
    path.write_text(content, encoding="utf-8")
    return path


def run(args: argparse.Namespace) -> int:
    from explain.compare import export
    from explain.compare.compat import check_compatible
    from explain.compare.corpus import compare_dataset
    from explain.compare.data import read_rows
    from explain.compare.text import CLASSIFICATION_TASKS, compare_attributions, compare_text
    from explain.models.catalog import load_model

    out = output_folder(args.out)
    if args.max_rows < 1:
        raise InputError(_("--max-rows must be at least 1."))
    rows = read_rows(args.data, max_rows=args.max_rows) if args.data else None  # bad files fail before loading
    _say(_("Loading A: {spec}").format(spec=args.model))
    a = load_model(args.model)
    _say(_("Loading B: {spec}").format(spec=args.base))
    b = load_model(args.base)
    compat = check_compatible(a, b)
    for note in compat.notes:
        _say(_(note))
    output_folder(out, create=True)
    written, sections = [], []
    text = args.text if args.text is not None else (None if rows else DEFAULT_TEXT)
    if text is not None:
        _say(_("Comparing on one text…"))
        c = compare_text(a, b, text, args.pair, compat=compat)
        attribution = None
        method = (args.attribution or "none").lower()
        if method != "none" and a.task in CLASSIFICATION_TASKS and b.task in CLASSIFICATION_TASKS:
            _say(_("Attributing with {method} on both…").format(method=method))
            attribution = compare_attributions(a, b, text, args.pair, method=method)
        written += [
            _write(out, "text.json", json.dumps(export.text_json(c, attribution), indent=1, ensure_ascii=False)),
            _write(out, "text_heads.csv", export.heads_csv(c)),
            _write(out, "text_layers.csv", export.layers_csv(c)),
            _write(out, "text_tokens.csv", export.tokens_csv(c)),
        ]
        sections += export.text_sections(c, attribution)
        print(_("One text: {summary}").format(summary=export.summary(c)))
    if rows is not None:
        for notice in rows.notices:
            _say(_(notice))
        _say(_("Comparing over {n} rows of {file}…").format(n=len(rows.texts), file=args.data))
        d = compare_dataset(a, b, rows.texts, gold=rows.labels, compat=compat, progress=_progress(time.perf_counter()))
        written += [
            _write(out, "data.json", json.dumps(export.dataset_json(d, str(args.data)), indent=1, ensure_ascii=False)),
            _write(out, "data_heads.csv", export.heads_csv(d)),
            _write(out, "data_layers.csv", export.layers_csv(d)),
            _write(out, "data_rows.csv", export.rows_csv(d)),
        ]
        sections += export.dataset_sections(d, str(args.data))
        print(_("Data set ({n} rows, {s:.1f} s): {summary}").format(n=d.n_rows, s=d.seconds, summary=export.summary(d)))
        top = ", ".join(_("layer {l} head {h} ({v:.3f})").format(l=l, h=h, v=v) for l, h, v in d.top_heads(5))
        if top:
            print(_("Heads that changed most: {top}").format(top=top))
    written.append(_write(out, "report.html", export.report(a.name, b.name, sections)))
    _say(_("Wrote {files}").format(files=", ".join(str(p) for p in written)))
    return 0
