"""`python -m explain compare`: the shipped sentiment head against its base on the held-out reviews, and bad input."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pytest

from explain.cli import main
from explain.models.heads import HEADS_DIR

ROOT = Path(__file__).resolve().parents[1]
SENTIMENT = "MiniLM + movie-review sentiment head (rotten/fresh)"
DEFAULT = "all-MiniLM-L6-v2 (offline default)"
HELDOUT = HEADS_DIR / "minilm-sentiment" / "heldout.jsonl"


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("compare")
    stdout, stderr = io.StringIO(), io.StringIO()  # capsys is function-scoped; this runs once per module
    with redirect_stdout(stdout), redirect_stderr(stderr):
        code = main(["compare", "--model", SENTIMENT, "--base", DEFAULT, "--text", "A gripping, wonderful film.",
                     "--data", str(HELDOUT), "--out", str(out)])
    return code, out, stdout.getvalue(), stderr.getvalue()


@pytest.mark.slow
def test_cli_on_the_held_out_reviews_writes_json_csv_and_an_offline_report(cli_run):
    code, out, stdout, stderr = cli_run
    assert code == 0, stderr
    data = json.loads((out / "data.json").read_text())
    assert data["rows"] == 300 and data["js_log_base"] == 2
    js = np.array(data["mean_js_divergence_bits"])
    assert js.shape == (6, 12) and js[:4].max() == 0.0 and js[4:].min() > 0.0
    assert data["unchanged_layers"] == 4
    assert [row["linear_cka"] for row in data["layers"]][:5] == pytest.approx([1.0] * 5, abs=1e-9)
    assert all(h["layer"] in (4, 5) for h in data["top_heads"])
    card = json.loads((HEADS_DIR / "minilm-sentiment" / "card.json").read_text())
    assert data["accuracy_a"] == pytest.approx(card["metrics"]["heldout_jsonl"]["accuracy"])  # same 300 rows
    heads = list(csv.DictReader(io.StringIO((out / "data_heads.csv").read_text())))
    assert len(heads) == 72 and float(heads[-1]["js_divergence_bits"]) == pytest.approx(js[5, 11])
    rows = list(csv.DictReader(io.StringIO((out / "data_rows.csv").read_text())))
    assert len(rows) == 300 and {r["max_js_layer"] for r in rows} <= {"4", "5"}
    text = json.loads((out / "text.json").read_text())
    assert text["prediction_a"]["label"] == "fresh" and text["prediction_b"] is None
    assert "layers 4-5" in text["summary"] and text["tokens"][0] == "[CLS]" and len(text["layers"]) == 7
    assert np.array(text["js_divergence_bits"])[:4].max() == 0.0
    report = (out / "report.html").read_text()
    assert "Plotly.newPlot" in report and not re.search(r"<script[^>]+src=", report)
    assert "the change sits in layers 4-5" in stdout
    assert "300/300 rows" in stderr


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "explain", "compare", *args], cwd=ROOT, capture_output=True, check=False,
                          text=True, timeout=300, env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin",
                                                       "PYTHONPATH": str(ROOT)})


@pytest.mark.slow
def test_cli_bad_input_exits_2_with_one_line(tmp_path):
    missing = run_cli("--model", SENTIMENT, "--base", DEFAULT, "--data", "/no/such/file.csv", "--out", str(tmp_path))
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == ["error: No file at '/no/such/file.csv'."]
    a_file = tmp_path / "file"
    a_file.write_text("x")
    assert main(["compare", "--model", SENTIMENT, "--base", DEFAULT, "--out", str(a_file)]) == 2
    bad = tmp_path / "bad.csv"
    bad.write_text("review,stars\ngood,5\n")
    assert main(["compare", "--model", SENTIMENT, "--base", DEFAULT, "--data", str(bad), "--out", str(tmp_path)]) == 2


def test_cli_refuses_models_that_do_not_share_a_tokenizer(tmp_path, capsys):
    from tests.test_compare import TEXTS, byte_bpe_folder

    folder = byte_bpe_folder(tmp_path, TEXTS)
    assert main(["compare", "--model", DEFAULT, "--base", str(folder), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: A and B do not share a tokenizer: A uses a 30,522-token WordPiece vocabulary, B a")
    assert not (tmp_path / "out").exists()
