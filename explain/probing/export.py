"""Exports of probe reports: one row per label set and layer (CSV), and the whole report (JSON); the
neurons most active per class over a data set (CSV, JSON).

Pure functions: reports in, text or dicts out. CSV cells are made inert (explain.report.csv_text).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from explain.probing.probes import ProbeReport
from explain.report import csv_text

if TYPE_CHECKING:  # neurons imports torch
    from explain.probing.neurons import ClassNeurons, NeuronVocabulary

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


CLASS_NEURON_HEADER = ("class", "rank", "layer", "neuron", "score", "mean_activation", "rows_in_class", "contrast",
                       "writes")


def class_neuron_rows(cn: ClassNeurons, vocab: NeuronVocabulary | None = None) -> list[tuple]:
    """One row per class and rank (CLASS_NEURON_HEADER; layer 1-based as on screen, numbers to 5 places);
    `writes`: the neuron's top tokens through the MLM head, space-separated (empty without `vocab`)."""
    writes = {} if vocab is None else {int(n): " ".join(t) for n, t in zip(vocab.neurons, vocab.top_tokens)}
    return [(label, rank + 1, cn.layer + 1, int(n), round(float(cn.score[c, rank]), 5),
             round(float(cn.mean_activation[c, rank]), 5), int(cn.rows[c]), cn.contrast, writes.get(int(n), ""))
            for c, label in enumerate(cn.classes) for rank, n in enumerate(cn.neurons[c])]


def class_neurons_csv(cn: ClassNeurons, vocab: NeuronVocabulary | None = None) -> str:
    return csv_text(CLASS_NEURON_HEADER, class_neuron_rows(cn, vocab))


def class_neurons_json(cn: ClassNeurons, model: str, data: str, vocab: NeuronVocabulary | None = None) -> dict:
    """The per-class top neurons with what the score is, the model and the data named (layer 1-based)."""
    rows = class_neuron_rows(cn, vocab)
    return {
        "model": model,
        "data": data,
        "layer": cn.layer + 1,
        "score": "class mean - mean over the other classes" if cn.contrast else "class mean",
        "activation": "feed-forward activation averaged over a row's non-special tokens, then over the class's rows",
        "classes": {label: {"rows": int(cn.rows[c]),
                            "neurons": [dict(zip(CLASS_NEURON_HEADER[1:], r[1:])) for r in rows if r[0] == label]}
                    for c, label in enumerate(cn.classes)},
    }
