"""BERT Lens installed as a user installs it: `pip install` of the wheel into a fresh virtual environment,
the `bert-lens` command, and a wheel that holds what runs and nothing else (the browser half is in
tests/browser/test_package_browser.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
import zipfile

import numpy as np
import pytest

from explain import __version__
from tests.wheel_install import ROOT, offline_env

SENTIMENT = "MiniLM + movie-review sentiment head (rotten/fresh)"
SAMPLE = "heads/minilm-sentiment/heldout.jsonl"


def package_folders() -> set[str]:
    """Import names of every package folder in the checkout: explain.*, and app/ as bert_lens.*."""
    names = set()
    for folder, name in (("explain", "explain"), ("app", "bert_lens")):
        for init in (ROOT / folder).rglob("__init__.py"):
            names.add(".".join([name, *init.parent.relative_to(ROOT / folder).parts]))
    return names


def test_every_package_folder_is_listed_in_pyproject():
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    code = {p for p in setuptools["packages"] if not p.startswith(("explain.assets", "explain.locale"))}
    assert code == package_folders()
    assert setuptools["package-dir"]["bert_lens"] == "app" and not any(p.split(".")[0] == "app" for p in code)


def _tracked(folder: str) -> list[str]:
    out = subprocess.run(["git", "ls-files", folder], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if line]


@pytest.mark.slow
def test_the_wheel_holds_what_runs_and_nothing_else(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    size = wheel.stat().st_size
    print(f"\n{wheel.name}: {size / 1e6:.1f} MB, {len(names)} files")
    assert {n.split("/")[0] for n in names} == {"explain", "bert_lens", f"bert_lens-{__version__}.dist-info"}
    junk = [n for n in names if n.startswith("tests/") or "/tests/" in n or "__pycache__" in n
            or n.endswith((".pyc", ".po", ".pot", ".ipynb")) or "screenshot" in n or "/docs/" in n]
    assert not junk, junk
    assert [n for n in names if n.endswith(".png")] == ["explain/assets/icon.png"]  # the page icon, no screenshot
    needed = ({"explain/" + f.removeprefix("explain/") for f in _tracked("explain") if f.endswith((".py", ".mo"))}
              | {"bert_lens/" + f.removeprefix("app/") for f in _tracked("app")}
              | {"explain/assets/" + f.removeprefix("assets/") for f in _tracked("assets")})
    assert needed <= set(names), sorted(needed - set(names))
    assert size < 60e6  # the heads are 37 MB of it
    metadata = zipfile.ZipFile(wheel).read(f"bert_lens-{__version__}.dist-info/METADATA").decode()
    runtime = {line.removeprefix("Requires-Dist: ") for line in metadata.splitlines()
               if line.startswith("Requires-Dist: ") and "extra ==" not in line}
    assert runtime == set(requirements()) and "torch==2.13.0" in runtime  # the CPU build, never a bare torch


def requirements() -> list[str]:
    """requirements.txt, the run-time pins that pyproject.toml reads as its dependencies."""
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def _evaluate(command: list[str], data: str, out, cwd) -> tuple[dict, np.ndarray]:
    args = [*command, "evaluate", "--model", SENTIMENT, "--data", data, "--out", str(out), "--explain-rows", "0"]
    done = subprocess.run(args, cwd=cwd, env=offline_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    metrics = json.loads((out / "metrics.json").read_text())
    records = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    return metrics, np.array([[r["probabilities"][c] for c in ("rotten", "fresh")] for r in records])


@pytest.mark.slow
def test_installed_command_reports_its_version_and_evaluates_like_the_checkout(installed_bin, tmp_path):
    """From a folder outside the checkout: `bert-lens --version`, then `bert-lens evaluate` on the shipped
    sample as the installed package holds it, against `python -m explain evaluate` in the checkout."""
    version = subprocess.run([str(installed_bin / "bert-lens"), "--version"], cwd=tmp_path, env=offline_env(),
                             capture_output=True, text=True, check=True, timeout=120)
    assert version.stdout.strip() == f"BERT Lens {__version__}"
    where = subprocess.run([str(installed_bin / "python"), "-c", "import explain.paths as p; print(p.ASSETS)"],
                           cwd=tmp_path, env=offline_env(), capture_output=True, text=True, check=True, timeout=120)
    installed_assets = where.stdout.strip()
    assert "site-packages" in installed_assets and not installed_assets.startswith(str(ROOT))
    installed, p_installed = _evaluate([str(installed_bin / "bert-lens")], f"{installed_assets}/{SAMPLE}",
                                       tmp_path / "installed", tmp_path)
    checkout, p_checkout = _evaluate([sys.executable, "-m", "explain"], str(ROOT / "assets" / SAMPLE),
                                     tmp_path / "checkout", ROOT)
    assert installed["accuracy"] == checkout["accuracy"] == pytest.approx(0.85)  # the card's figure
    assert installed["confusion"] == checkout["confusion"] and installed["n"] == checkout["n"] == 300
    np.testing.assert_allclose(p_installed, p_checkout, atol=1e-5)  # two processes, possibly other thread counts
