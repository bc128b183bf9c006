"""`python -m explain evaluate`: the shipped held-out sample gives the library's numbers, streaming in small
chunks changes nothing, bad files and unknown labels give one line and exit 2, hostile text stays inert."""

from __future__ import annotations

import csv
import io
import json
import sys

import numpy as np
import pytest
from sklearn.metrics import f1_score, precision_recall_fscore_support

from explain.cli import main
from explain.dataset.evaluate import evaluate
from explain.dataset.labels import match_labels
from explain.dataset.reader import read_rows, scan_rows
from explain.dataset.stream import evaluate_file
from explain.models.heads import HEADS_DIR

SENTIMENT = "MiniLM + movie-review sentiment head (rotten/fresh)"
HELDOUT = HEADS_DIR / "minilm-sentiment" / "heldout.jsonl"
SCRIPT = "<script>alert(1)</script>"
FORMULA = '=HYPERLINK("http://x","y")'


@pytest.fixture(scope="module")
def library(sentiment):
    return evaluate(sentiment, read_rows(HELDOUT))


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("evaluate")
    code = main(["evaluate", "--model", SENTIMENT, "--data", str(HELDOUT), "--out", str(out),
                 "--attributions", "saliency", "--explain-rows", "12"])
    return code, out


@pytest.mark.slow  # the shared CLI run: 300 predictions, then 12 rows explained and a 25-point pruning curve
def test_cli_on_the_heldout_sample_gives_the_librarys_numbers(cli_run, library):
    code, out = cli_run
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["accuracy"] == pytest.approx(library.metrics.accuracy) == pytest.approx(0.85)  # the card's figure
    records = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert [r["row"] for r in records] == list(range(300))
    gold = [r["gold"] for r in records]
    pred = [r["prediction"] for r in records]
    assert pred == [library.labels[i] for i in library.y_pred]
    probs = np.array([[r["probabilities"][c] for c in library.labels] for r in records])
    assert np.abs(probs - library.probs).max() < 1e-5
    assert metrics["macro_f1"] == pytest.approx(f1_score(gold, pred, average="macro"))
    p, r, f, s = precision_recall_fscore_support(gold, pred, labels=list(library.labels), zero_division=0)
    table = list(csv.DictReader(io.StringIO((out / "per_class.csv").read_text())))
    assert [row["label"] for row in table] == list(library.labels)
    assert np.allclose([float(row["precision"]) for row in table], p)
    assert np.allclose([float(row["recall"]) for row in table], r)
    assert np.allclose([float(row["f1"]) for row in table], f)
    assert [int(row["support"]) for row in table] == s.tolist()
    hardest = list(csv.DictReader(io.StringIO((out / "hardest.csv").read_text())))
    assert [int(h["row"]) for h in hardest] == np.argsort(-library.loss, kind="stable")[:50].tolist()


@pytest.mark.slow
def test_cli_writes_attributions_heads_and_the_report(cli_run):
    _code, out = cli_run
    attributions = [json.loads(line) for line in (out / "attributions.jsonl").read_text().splitlines()]
    from explain.dataset.chunk import explain_sample

    assert [a["row"] for a in attributions] == explain_sample(300, 12).tolist()  # a seeded sample over the file
    assert max(a["row"] for a in attributions) > 100 and all(a["method"] == "saliency" for a in attributions)
    assert all(len(a["words"]) == len(a["scores"]) > 0 for a in attributions)
    heads = json.loads((out / "heads.json").read_text())
    assert np.array(heads["normalized"]).shape == (6, 12) and heads["rows"] == 12
    assert np.allclose(np.linalg.norm(heads["normalized"], axis=1), 1.0)  # normalised per layer
    assert heads["pruning"]["ks"][0] == 0 and heads["pruning"]["ks"][-1] == 72
    words = list(csv.DictReader(io.StringIO((out / "words.csv").read_text())))
    assert words and {w["class"] for w in words} <= {"rotten", "fresh"}
    page = (out / "report.html").read_text()
    assert json.loads((out / "metrics.json").read_text())["explained_rows"] == 12
    assert page.count("Plotly.newPlot") >= 8 and "https://" not in page.split("</head>")[1][:2000]


@pytest.mark.slow
def test_streaming_in_small_chunks_equals_one_evaluation(sentiment, library):
    match = match_labels(scan_rows(HELDOUT).classes, sentiment.labels)
    seen = []
    fe = evaluate_file(sentiment, HELDOUT, match, total=300, chunk_rows=64, projector_rows=100, hardest=10,
                       on_records=seen.extend)
    assert fe.metrics.accuracy == library.metrics.accuracy and fe.metrics.ece == pytest.approx(library.metrics.ece)
    assert np.array_equal(fe.metrics.confusion, library.metrics.confusion)
    assert np.abs(fe.probs - library.probs).max() < 1e-5
    assert [r["row"] for r in seen] == list(range(300))
    assert [r["row"] for r in fe.hardest] == np.argsort(-library.loss, kind="stable")[:10].tolist()
    assert fe.projector is not None and fe.projector.index.tolist() == list(range(100))


def _error_lines(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]


@pytest.mark.parametrize("content, name, expected", [
    (b"", "empty.jsonl", "empty"),
    (b'{"text": "fine", "label": "fresh"}\n{"text": "broken"\n', "bad.jsonl", "Line 2"),
    (b"review,stars\ngood,5\n", "cols.csv", "text"),
    (b"text,label\n,fresh\n", "blank.csv", "empty"),
    ("text,label\ncaf\u00e9,fresh\n".encode("latin-1"), "latin.csv", "UTF-8"),
])
def test_bad_files_give_one_line_and_exit_2(tmp_path, capsys, content, name, expected):
    data = tmp_path / name
    data.write_bytes(content)
    assert main(["evaluate", "--model", SENTIMENT, "--data", str(data), "--out", str(tmp_path / "out")]) == 2
    errors = _error_lines(capsys)
    assert len(errors) == 1 and expected.lower() in errors[0].lower(), errors
    assert "Traceback" not in capsys.readouterr().err


def test_missing_file_and_bad_options_exit_2(tmp_path, capsys):
    cases = [["--data", str(tmp_path / "nope.csv")], ["--data", str(HELDOUT), "--attributions", "magic"],
             ["--data", str(HELDOUT), "--max-rows", "0"], ["--data", str(HELDOUT), "--label-map", "a=b=c"]]
    for extra in cases:
        assert main(["evaluate", "--model", SENTIMENT, "--out", str(tmp_path / "out"), *extra]) == 2, extra
        assert len(_error_lines(capsys)) == 1


LONG = "a" * 5000


@pytest.mark.parametrize(("command", "expected"), [
    (["evaluate", "--model", LONG, "--data", str(HELDOUT)], "is neither a folder nor a Hugging Face model id"),
    (["evaluate", "--model", "bert\x00base", "--data", str(HELDOUT)], "is neither a folder nor a Hugging Face model id"),
    (["evaluate", "--model", SENTIMENT, "--data", "/tmp/" + LONG], "No file at"),
    (["evaluate", "--model", SENTIMENT, "--data", str(HELDOUT), "--out", "/tmp/" + LONG], "Cannot make the folder"),
    (["compare", "--model", LONG, "--base", SENTIMENT, "--text", "A fine film."], "is neither a folder"),
    (["compare", "--model", SENTIMENT, "--base", SENTIMENT, "--data", "/tmp/" + LONG], "No file at"),
])
def test_over_long_and_control_character_names_give_one_line(tmp_path, capsys, command, expected):
    """The CLI face of the bad-link case: names the file system refuses are one line and exit 2."""
    argv = [*command, "--out", str(tmp_path / "out")] if "--out" not in command else command
    assert main(argv) == 2
    (line,) = _error_lines(capsys)
    assert expected in line and len(line) < 400, line


@pytest.mark.slow
def test_unknown_labels_are_named_and_label_map_fixes_them(tmp_path, capsys):
    data = tmp_path / "renamed.csv"
    data.write_text("text,label\nA wonderful and moving film.,positive\nDull and far too long.,negative\n"
                    "I loved every minute.,positive\n")
    out = tmp_path / "out"
    assert main(["evaluate", "--model", SENTIMENT, "--data", str(data), "--out", str(out)]) == 2
    (error,) = _error_lines(capsys)
    assert "'positive'" in error and "'negative'" in error and "--label-map" in error and "rotten" in error
    assert main(["evaluate", "--model", SENTIMENT, "--data", str(data), "--out", str(out), "--attributions", "none",
                 "--explain-rows", "0", "--label-map", "positive=fresh,negative=rotten"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n"] == 3 and metrics["accuracy"] == 1.0


@pytest.mark.slow
def test_hostile_rows_come_out_inert_in_report_and_csv(tmp_path):
    data = tmp_path / "hostile.jsonl"
    rows = [{"text": SCRIPT, "label": "fresh"}, {"text": FORMULA, "label": "rotten"},
            {"text": "@SUM(A1) a dull film", "label": "fresh"}, {"text": "-1 awful", "label": "fresh"},
            {"text": "A wonderful film.", "text_pair": FORMULA, "label": "rotten"}]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out"
    assert main(["evaluate", "--model", SENTIMENT, "--data", str(data), "--out", str(out),
                 "--attributions", "saliency", "--explain-rows", "5"]) == 0
    page = (out / "report.html").read_text()
    assert SCRIPT not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    for path in out.glob("*.csv"):
        for row in csv.reader(io.StringIO(path.read_text())):
            for cell in row:
                try:
                    float(cell)
                except ValueError:
                    assert not cell.startswith(("=", "+", "-", "@")), (path.name, cell)
    hardest = list(csv.DictReader(io.StringIO((out / "hardest.csv").read_text())))
    assert {h["text"] for h in hardest} == {SCRIPT, "'" + FORMULA, "'@SUM(A1) a dull film", "'-1 awful",
                                            "A wonderful film."}


def test_engine_ray_without_ray_says_how_to_install_it(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as if it were not installed
    assert main(["evaluate", "--model", SENTIMENT, "--data", str(HELDOUT), "--out", str(tmp_path),
                 "--engine", "ray"]) == 2
    (error,) = _error_lines(capsys)
    assert "bert-lens[ray]" in error and "--engine local" in error
