"""Probe every layer of a model for the shipped label sets; write the numbers (JSON) and the curves (PNG).

    python scripts/probe_report.py --model "all-MiniLM-L6-v2 (offline default)" --out docs/notes/probing

Writes <out>-curves.json (per label set: accuracy, macro-F1, control accuracy, selectivity per layer,
majority baseline, centre of gravity, seconds) and <out>-curves.png (needs kaleido and Chromium).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from explain import DEFAULT_MODEL, load_model  # noqa: E402
from explain.probing.data import load_shipped, shipped_card  # noqa: E402
from explain.probing.features import word_features  # noqa: E402
from explain.probing.figures import probe_curves  # noqa: E402
from explain.probing.probes import probe_layers  # noqa: E402

NAMES = {"pos": "parts of speech (UPOS)", "ner": "entity type", "dep": "dependency relation"}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default=DEFAULT_MODEL)
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "notes" / "probing")
    p.add_argument("--merge", default="first", choices=["first", "mean"])
    p.add_argument("--C", type=float, default=0.01)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--replot", action="store_true", help="only redraw the PNGs from <out>-curves.json")
    args = p.parse_args(argv)
    if args.replot:
        saved = json.loads(Path(f"{args.out}-curves.json").read_text())
        plot(args, [_report(name, d, saved) for name, d in saved["label_sets"].items()])
        return

    import torch

    torch.set_num_threads(args.threads)
    bundle = load_model(args.model)
    data = load_shipped()
    t = time.perf_counter()
    features = word_features(bundle, data.words, merge=args.merge)
    feature_seconds = time.perf_counter() - t
    reports, out = [], {"model": args.model, "merge": args.merge, "C": args.C, "words": data.num_words,
                        "feature_seconds": round(feature_seconds, 1), "label_sets": {}}
    for name in data.label_sets:
        r = probe_layers(data, features, name, C=args.C)
        reports.append(r)
        out["label_sets"][name] = {
            "quality": shipped_card()["label_sets"][name]["quality"], "classes": len(r.classes),
            "accuracy": [round(float(x), 4) for x in r.accuracy], "macro_f1": [round(float(x), 4) for x in r.macro_f1],
            "control_accuracy": [round(float(x), 4) for x in r.control_accuracy],
            "selectivity": [round(float(x), 4) for x in r.selectivity],
            "majority_accuracy": round(r.majority_accuracy, 4), "majority_label": r.majority_label,
            "best_layer": r.best_layer, "best_layer_f1": int(r.macro_f1.argmax()),
            "centre_of_gravity": round(r.centre_of_gravity, 2), "n_train": r.n_train, "n_test": r.n_test,
            "seconds": round(r.seconds, 1)}
        print(name, json.dumps(out["label_sets"][name]), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    Path(f"{args.out}-curves.json").write_text(json.dumps(out, indent=2) + "\n")
    plot(args, reports)


def plot(args, reports) -> None:
    """<out>-curves.png (accuracy with controls) and <out>-f1.png (macro-F1), through kaleido."""
    for metric, suffix, what in (("accuracy", "curves", "held-out accuracy"), ("macro_f1", "f1", "held-out macro-F1")):
        fig = probe_curves(reports, metric=metric, names=NAMES,
                           title=f"{args.model}: {what} per layer (silver labels)", height=560)
        try:
            fig.write_image(f"{args.out}-{suffix}.png", width=900, height=560)
        except Exception as err:  # kaleido or Chromium missing: the JSON is written anyway
            print(f"no PNG: {err}", file=sys.stderr)


def _report(name: str, d: dict, saved: dict):
    import numpy as np

    from explain.probing.probes import ProbeReport

    arr = lambda key: np.array(d[key])  # noqa: E731
    return ProbeReport(name, tuple(range(d["classes"])), arr("accuracy"), arr("macro_f1"), arr("control_accuracy"),
                       arr("selectivity"), d["majority_label"], d["majority_accuracy"], d["centre_of_gravity"],
                       d["best_layer"], d["n_train"], d["n_test"], saved["merge"], "torch", saved["C"], d["seconds"])


if __name__ == "__main__":
    main()
