"""Exports of probe reports (CSV, JSON), the example label CSV, and Tenney et al.'s order (pure functions)."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from explain.probing.data import ProbeSentences, read_label_csv
from explain.probing.export import HEADER, example_csv, probe_csv, probe_json, probe_rows, tenney_order
from explain.probing.probes import ProbeReport, centre_of_gravity


def report(label_set: str, acc, ctrl, f1=None) -> ProbeReport:
    acc, ctrl = np.array(acc, dtype=float), np.array(ctrl, dtype=float)
    f1 = acc if f1 is None else np.array(f1, dtype=float)
    return ProbeReport(label_set=label_set, classes=("A", "B"), accuracy=acc, macro_f1=f1, control_accuracy=ctrl,
                       selectivity=acc - ctrl, majority_label="A", majority_accuracy=0.5,
                       centre_of_gravity=centre_of_gravity(f1), best_layer=int(acc.argmax()), n_train=100, n_test=20,
                       merge="first", solver="torch", C=0.01, seconds=1.0)


POS = report("pos", [0.8, 0.9, 0.95, 0.9], [0.7, 0.6, 0.55, 0.5])
DEP = report("dep", [0.6, 0.7, 0.8, 0.85], [0.6, 0.55, 0.5, 0.45])
NER = report("ner", [0.5, 0.55, 0.6, 0.8], [0.5, 0.5, 0.5, 0.5])


def test_csv_has_one_row_per_label_set_and_layer_with_the_reports_numbers():
    rows = list(csv.DictReader(io.StringIO(probe_csv([POS, DEP]))))
    assert len(rows) == 8 and list(rows[0]) == list(HEADER)
    for r, row in zip([POS] * 4 + [DEP] * 4, rows):
        layer = int(row["layer"])
        assert row["label_set"] == r.label_set
        assert float(row["accuracy"]) == pytest.approx(r.accuracy[layer], abs=5e-5)
        assert float(row["selectivity"]) == pytest.approx(r.accuracy[layer] - r.control_accuracy[layer], abs=5e-5)
        assert (row["is_best_layer"] == "True") == (layer == r.best_layer)
    assert probe_rows([POS])[2][7] is True  # layer 2 is POS's best


def test_json_round_trips_and_names_model_and_data():
    out = json.loads(json.dumps(probe_json([POS, NER], "m", "silver")))
    assert out["model"] == "m" and out["data"] == "silver" and set(out["label_sets"]) == {"pos", "ner"}
    assert out["label_sets"]["ner"]["best_layer"] == 3
    assert out["label_sets"]["pos"]["centre_of_gravity"] == pytest.approx(POS.centre_of_gravity, abs=1e-4)


def test_tenney_order():
    # by hand, from the gains of the running best per layer:
    # POS (1*.1 + 2*.05)/.15, dep (.1 + .2 + .15)/.25, NER (.05 + .1 + .6)/.3
    assert [POS.centre_of_gravity, DEP.centre_of_gravity, NER.centre_of_gravity] == pytest.approx([4 / 3, 1.8, 2.5])
    assert tenney_order([POS, DEP, NER]) is True
    assert tenney_order([NER, POS, DEP]) is True  # the reports' order does not matter
    assert tenney_order([DEP, POS, report("ner", [0.9, 0.5, 0.5, 0.5], [0.5] * 4)]) is False
    assert tenney_order([POS, DEP]) is None


def test_example_csv_is_read_back_by_the_label_reader():
    words = tuple(tuple(f"w{i}_{j}" for j in range(3 + i % 3)) for i in range(30))
    labels = tuple(tuple("N" if j % 2 else "V" for j in range(len(w))) for w in words)
    data = ProbeSentences(words, {"pos": labels}, tuple(i % 5 == 0 for i in range(30)), tuple("d" for _ in words))
    text = example_csv(data, "pos", n=12)
    back = read_label_csv(text)
    part = data.head(12)
    assert back.words == part.words and back.labels["labels"] == part.labels["pos"] and back.is_test == part.is_test
