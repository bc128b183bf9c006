"""The Data set page's memory at scale (issue 17): the Streamlit server's peak RSS after evaluating an upload.

    python benchmarks/dataset_page.py                  # 300 and 50,000 rows, a tiny random classifier
    python benchmarks/dataset_page.py --sizes 300 5000 --model "MiniLM + movie-review sentiment head (rotten/fresh)"
    python benchmarks/dataset_page.py --sizes 50000 --screenshots docs/screenshots   # the README's screenshots

`measure(quick) -> dict` is what benchmarks/run.py calls (quick: 300 and 5,000 rows). For each size a fresh
`streamlit run app/main.py` starts on a free loopback port; Debian's Chromium opens the Data set page with
the model in the link, uploads the shipped held-out reviews repeated to that many rows (JSON Lines), waits
until the Rows metric shows every row, then opens the rows' second page and the projector. Measured: the
server process's VmHWM (peak resident set, /proc/PID/status) when the page has opened, after the evaluation
and after the projector; the time from upload to the metrics. The anchor is the same server at 300 rows.
The server runs one torch thread (BERT_LENS_TORCH_THREADS=1, as a hosted server does): on the busy 2-core
machine two threads made the tiny model 5 to 10 times slower.

The default model is a random BERT classifier (2 layers, hidden 32, the default tokenizer) saved as a folder
(benchmarks/scale.py `tiny_model`): what grows with the rows is the page's memory, not the model's;
with `--model` the shipped sentiment head runs instead (~700 rows/s on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.browser import CHROMIUM, CHROMIUM_ARGS, _free_port, _offline  # noqa: E402

HELDOUT = ROOT / "assets" / "heads" / "minilm-sentiment" / "heldout.jsonl"
TIMEOUT_MS = 900_000


def memory_mb(pid: int) -> dict[str, float]:
    """The process's current and peak resident set (VmRSS, VmHWM) in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    kb = lambda name: int(re.search(rf"{name}:\s+(\d+) kB", status).group(1))  # noqa: E731
    return {"rss_mb": round(kb("VmRSS") / 1024, 1), "peak_rss_mb": round(kb("VmHWM") / 1024, 1)}


def repeated_file(folder: Path, n: int) -> Path:
    lines = HELDOUT.read_text(encoding="utf-8").splitlines()
    path = folder / f"reviews-{n}.jsonl"
    path.write_text("\n".join((lines * (n // len(lines) + 1))[:n]) + "\n", encoding="utf-8")
    return path


def _start_server() -> tuple[subprocess.Popen, str]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "streamlit", "run", "app/main.py", "--server.headless", "true",
           "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1", "BERT_LENS_TORCH_THREADS": "1"}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                return proc, url
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("streamlit did not start")


def _settle(page) -> None:
    page.wait_for_timeout(600)
    page.wait_for_selector("[data-testid=stStatusWidget]", state="detached", timeout=TIMEOUT_MS)
    page.wait_for_timeout(300)


def one_size(browser, model: str, data: Path, n: int, shots: Path | None = None) -> dict:
    from urllib.parse import urlencode

    proc, url = _start_server()
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1600})
        _offline(page, url)
        page.goto(f"{url}/dataset?{urlencode({'model': model})}", timeout=TIMEOUT_MS)
        page.wait_for_selector("[data-testid=stMain]", timeout=TIMEOUT_MS)
        _settle(page)
        if not page.locator("input[type=file]").count():  # the page started on the model's own sample
            page.locator("[data-testid=stMetricValue]").first.wait_for(timeout=TIMEOUT_MS)
            _settle(page)
            page.get_by_text("Upload a file").first.click()
            page.locator("input[type=file]").wait_for(state="attached", timeout=TIMEOUT_MS)
            _settle(page)
        opened = memory_mb(proc.pid)
        start = time.perf_counter()
        page.locator("input[type=file]").set_input_files(str(data))
        page.locator("[data-testid=stMetricValue]", has_text=f"{n:,}").wait_for(timeout=TIMEOUT_MS)
        seconds = time.perf_counter() - start
        _settle(page)
        evaluated = memory_mb(proc.pid)
        page.get_by_label("Page", exact=True).fill("2")
        page.get_by_label("Page", exact=True).press("Enter")
        _settle(page)
        if shots:
            page.screenshot(path=str(shots / f"dataset-{n}-rows.png"), full_page=True)
        page.get_by_text("Projector", exact=True).first.click()
        _settle(page)
        page.locator("[data-testid=stPlotlyChart]").first.wait_for(timeout=TIMEOUT_MS)
        caption = page.get_by_text(re.compile(r"^Showing [\d,]+ of [\d,]+ rows")).all_text_contents()
        projected = memory_mb(proc.pid)
        if shots:
            page.screenshot(path=str(shots / f"dataset-{n}-projector.png"), full_page=True)
        page.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return {"rows": n, "file_mb": round(data.stat().st_size / 1e6, 2), "upload_to_metrics_s": round(seconds, 1),
            "page_opened": opened, "after_evaluation": evaluated, "after_page_2_and_projector": projected,
            "projector_caption": caption[0] if caption else None, "load": round(os.getloadavg()[0], 2)}


def measure(quick: bool = False, sizes: list[int] | None = None, model: str | None = None,
            shots: Path | None = None) -> dict:
    from playwright.sync_api import sync_playwright

    from benchmarks.scale import tiny_model

    sizes = sizes or ([300, 5_000] if quick else [300, 50_000])
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        name = model or str(tiny_model(folder / "tiny-model"))
        out = {"model": model or "random BERT classifier saved as a folder (2 layers, hidden 32): the page's memory, "
                                 "not the model's speed", "sizes": sizes}
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                for n in sizes:
                    out[f"{n}_rows"] = part = one_size(browser, name, repeated_file(folder, n), n, shots)
                    print(f"  dataset page: {json.dumps(part)}", file=sys.stderr, flush=True)
            finally:
                browser.close()
    small, large = out[f"{sizes[0]}_rows"], out[f"{sizes[-1]}_rows"]
    out["peak_growth_mb"] = round(large["after_page_2_and_projector"]["peak_rss_mb"]
                                  - small["after_page_2_and_projector"]["peak_rss_mb"], 1)
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--sizes", type=int, nargs="+", default=None)
    p.add_argument("--model", default=None, help="a model name, hub id or folder (default: a tiny random classifier)")
    p.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    p.add_argument("--screenshots", type=Path, default=None, help="save each size's page (rows, projector) here")
    args = p.parse_args(argv)
    if args.screenshots:
        args.screenshots.mkdir(parents=True, exist_ok=True)
    text = json.dumps(measure(args.quick, args.sizes, args.model, args.screenshots), indent=1)
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
