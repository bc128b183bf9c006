"""Exports of probe reports: one row per label set and layer (CSV), and the whole report (JSON).

Pure functions: reports in, text or dicts out. CSV cells are made inert (explain.report.csv_text).
"""

from __future__ import annotations

from collections.abc import Sequence

from explain.probing.probes import ProbeReport
from explain.report import csv_text

HEADER = ("label_set", "layer", "accuracy", "macro_f1", "control_accuracy", "selectivity", "majority_accuracy",
          "is_best_layer", "centre_of_gravity", "n_train_words", "n_test_words", "merge")


def probe_rows(reports: Sequence[ProbeReport]) -> list[tuple]:
    """One row per label set and layer (0 = embeddings), in the order of HEADER, numbers rounded to 4 places."""
    rows = []
    for r in reports:
        for layer in range(len(r.accuracy)):
            rows.append((r.label_set, layer, round(float(r.accuracy[layer]), 4), round(float(r.macro_f1[layer]), 4),
                         round(float(r.control_accuracy[layer]), 4), round(float(r.selectivity[layer]), 4),
                         round(r.majority_accuracy, 4), layer == r.best_layer, round(r.centre_of_gravity, 4),
                         r.n_train, r.n_test, r.merge))
    return rows


def probe_csv(reports: Sequence[ProbeReport]) -> str:
    """The probe table as CSV (HEADER, then `probe_rows`)."""
    return csv_text(HEADER, probe_rows(reports))


def probe_json(reports: Sequence[ProbeReport], model: str, data: str) -> dict:
    """Everything a report holds, per label set, with the model and the data source named."""
    return {
        "model": model,
        "data": data,
        "label_sets": {
            r.label_set: {
                "classes": list(r.classes),
                "accuracy": [round(float(v), 4) for v in r.accuracy],
                "macro_f1": [round(float(v), 4) for v in r.macro_f1],
                "control_accuracy": [round(float(v), 4) for v in r.control_accuracy],
                "selectivity": [round(float(v), 4) for v in r.selectivity],
                "majority_label": r.majority_label,
                "majority_accuracy": round(r.majority_accuracy, 4),
                "best_layer": r.best_layer,
                "centre_of_gravity": round(r.centre_of_gravity, 4),
                "n_train_words": r.n_train,
                "n_test_words": r.n_test,
                "merge": r.merge,
                "solver": r.solver,
                "C": r.C,
            }
            for r in reports
        },
    }


def example_csv(data, label_set: str, n: int = 40) -> str:
    """A label CSV in the format `read_label_csv` takes (text, labels, split), from the first n training and
    n // 4 held-out sentences of `data` (ProbeSentences) with `label_set`'s labels: a template for users."""
    part = data.head(n)
    rows = [(" ".join(words), " ".join(part.labels[label_set][i]), "test" if part.is_test[i] else "train")
            for i, words in enumerate(part.words)]
    return csv_text(("text", "labels", "split"), rows)


def tenney_order(reports: Sequence[ProbeReport], order: Sequence[str] = ("pos", "dep", "ner")) -> bool | None:
    """Whether the centres of gravity rise in Tenney et al.'s order (parts of speech, then syntax, then
    entities); None when a label set of `order` is missing."""
    centre = {r.label_set: r.centre_of_gravity for r in reports}
    if any(name not in centre for name in order):
        return None
    values = [centre[name] for name in order]
    return all(a < b for a, b in zip(values, values[1:]))
