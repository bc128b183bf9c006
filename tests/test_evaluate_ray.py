"""`--engine ray` gives the local engine's results on the shipped held-out sample (a local Ray, started once)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from explain.cli import main
from explain.models.heads import HEADS_DIR

ray = pytest.importorskip("ray", reason='Ray is optional: pip install -e ".[ray]"')

SENTIMENT = "MiniLM + movie-review sentiment head (rotten/fresh)"
HELDOUT = HEADS_DIR / "minilm-sentiment" / "heldout.jsonl"
pytestmark = [pytest.mark.ray, pytest.mark.slow]  # a local Ray and two model actors: ~30 s on a quiet 2-core machine


@pytest.fixture(scope="module")
def local_ray():
    from explain.dataset.ray_engine import start_ray

    start_ray(None, 3)  # 2 actors x 1 CPU + 1 for Ray's read and write tasks
    yield
    ray.shutdown()


def _records(out: Path) -> list[dict]:
    files = sorted((out / "predictions").glob("*.json")) if (out / "predictions").is_dir() else [out / "predictions.jsonl"]
    rows = [json.loads(line) for f in files for line in f.read_text().splitlines() if line.strip()]
    return sorted(rows, key=lambda r: r["row"])


def test_ray_results_equal_local_results_on_the_heldout_sample(local_ray, tmp_path):
    common = ["evaluate", "--model", SENTIMENT, "--data", str(HELDOUT), "--attributions", "none", "--explain-rows", "0"]
    assert main([*common, "--out", str(tmp_path / "local")]) == 0
    assert main([*common, "--out", str(tmp_path / "ray"), "--engine", "ray", "--ray-actors", "2",
                 "--ray-batch-rows", "64"]) == 0
    local, remote = _records(tmp_path / "local"), _records(tmp_path / "ray")
    assert [r["row"] for r in remote] == list(range(300))
    assert [r["text"] for r in remote] == [r["text"] for r in local]
    assert [r["prediction"] for r in remote] == [r["prediction"] for r in local]
    assert [r["gold"] for r in remote] == [r["gold"] for r in local]
    labels = list(local[0]["probabilities"])
    p_local = np.array([[r["probabilities"][c] for c in labels] for r in local])
    p_ray = np.array([[r["probabilities"][c] for c in labels] for r in remote])
    assert np.abs(p_local - p_ray).max() < 1e-5
    m_local = json.loads((tmp_path / "local" / "metrics.json").read_text())
    m_ray = json.loads((tmp_path / "ray" / "metrics.json").read_text())
    assert m_ray["accuracy"] == m_local["accuracy"] == pytest.approx(0.85)
    assert m_ray["confusion"] == m_local["confusion"] and m_ray["engine"] == "ray"
    assert m_ray["ece"] == pytest.approx(m_local["ece"], abs=1e-5)
    assert (tmp_path / "ray" / "report.html").stat().st_size > 1_000_000  # plotly.js inlined


def test_ray_reads_csv_with_numeric_labels_and_a_label_map(local_ray, tmp_path):
    data = tmp_path / "ids.csv"
    data.write_text('text,label\n"Wonderful, moving, funny.",1\nDull and far too long.,0\n"Awful; I left early.",0\n')
    out = tmp_path / "out"
    assert main(["evaluate", "--model", SENTIMENT, "--data", str(data), "--out", str(out), "--engine", "ray",
                 "--attributions", "none", "--explain-rows", "0"]) == 0
    records = _records(out)
    assert [r["text"] for r in records] == ["Wonderful, moving, funny.", "Dull and far too long.", "Awful; I left early."]
    assert [r["gold"] for r in records] == ["fresh", "rotten", "rotten"]  # class ids 1 and 0


def _attributions(out: Path) -> dict[int, dict]:
    files = sorted((out / "attributions").glob("*.jsonl")) if (out / "attributions").is_dir() else [out / "attributions.jsonl"]
    return {r["row"]: r for f in files for line in f.read_text().splitlines() if line.strip() for r in [json.loads(line)]}


def test_ray_explanations_equal_the_local_engine_on_a_seeded_sample(local_ray, tmp_path):
    """Attributions, word aggregates, head importance and the pruning curve run in Ray actors on the same
    seeded sample of 24 rows drawn over the whole file (not its top 24)."""
    import csv

    common = ["evaluate", "--model", SENTIMENT, "--data", str(HELDOUT), "--explain-rows", "24"]
    assert main([*common, "--out", str(tmp_path / "local")]) == 0
    assert main([*common, "--out", str(tmp_path / "ray"), "--engine", "ray", "--ray-actors", "2"]) == 0
    local, remote = _attributions(tmp_path / "local"), _attributions(tmp_path / "ray")
    assert sorted(remote) == sorted(local) and len(local) == 24 and max(local) > 200  # drawn over the whole file
    assert not (tmp_path / "ray" / "rows").exists()  # Ray's copy of the data is removed
    for row, r in local.items():
        assert remote[row]["words"] == r["words"] and remote[row]["target"] == r["target"]
        assert np.abs(np.array(remote[row]["scores"]) - np.array(r["scores"])).max() < 1e-5
        assert remote[row]["steps"] == r["steps"]
    read = lambda d, name: list(csv.DictReader((tmp_path / d / name).open(encoding="utf-8")))
    words_local, words_ray = read("local", "words.csv"), read("ray", "words.csv")
    by_key = lambda rows: {(w["class"], w["word"]): w for w in rows}
    words_local, words_ray = by_key(words_local), by_key(words_ray)
    assert sorted(words_ray) == sorted(words_local) and len(words_local) > 10
    for key, w in words_local.items():
        assert words_ray[key]["count"] == w["count"]
        assert abs(float(words_ray[key]["mean"]) - float(w["mean"])) < 1e-6
        assert abs(float(words_ray[key]["std"]) - float(w["std"])) < 1e-6
    heads_local = json.loads((tmp_path / "local" / "heads.json").read_text())
    heads_ray = json.loads((tmp_path / "ray" / "heads.json").read_text())
    assert np.abs(np.array(heads_local["normalized"]) - np.array(heads_ray["normalized"])).max() < 1e-6
    assert heads_ray["rows"] == 24
    assert heads_ray["pruning"]["accuracy"] == heads_local["pruning"]["accuracy"] and heads_ray["pruning"]["rows"] == 24
