"""Browser measurements for benchmarks/run.py: the app's cold start and the light viewer, in Debian's Chromium.

Launch arguments as in tests/browser/conftest.py; every request outside the app (and data:/about:) is aborted.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from explain.attention.viewer import attention_viewer_html

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _offline(page, allowed: str = "") -> None:
    """Abort every request but data:/about: (and the app's own URL): nothing may come from the network."""

    def route(r):
        url = r.request.url
        r.continue_() if url.startswith(("data:", "about:", "blob:")) or (allowed and url.startswith(allowed)) else r.abort()

    page.route("**/*", route)


def _first_chart_seconds(browser, url: str, start: float) -> float:
    page = browser.new_page(viewport={"width": 1400, "height": 1600})
    _offline(page, url)
    page.goto(url + "/attention", timeout=120_000)
    # a chart with a title: the app's first run also sends a blank untitled chart to prefetch plotly.js
    page.locator(".js-plotly-plot .gtitle").first.wait_for(state="visible", timeout=120_000)
    seconds = time.perf_counter() - start
    page.close()
    return seconds


def cold_start(browser, runs: int = 1, script: str = "app/serve.py") -> dict:
    """`streamlit run <script>` from process start to the Attention page's first chart being visible.

    app/serve.py is how `make run` starts the app (imports and the default model load while the browser
    connects); app/main.py starts them only when the first page runs. Started `runs` times, one server at
    a time; health_s and first_chart_s are the medians, each start's time to the first chart is in
    first_chart_runs_s.
    """
    starts = [_one_cold_start(browser, script) for _ in range(max(1, runs))]
    out = {k: statistics.median(s[k] for s in starts) for k in starts[0]}
    out.update(runs=len(starts), first_chart_runs_s=[s["first_chart_s"] for s in starts], script=script)
    return out


def _one_cold_start(browser, script: str) -> dict[str, float]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "streamlit", "run", script, "--server.headless", "true",
           "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        while True:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                    break
            except OSError:
                if time.perf_counter() - start > 60 or proc.poll() is not None:
                    raise RuntimeError("streamlit did not start") from None
                time.sleep(0.05)
        health = time.perf_counter() - start
        first = _first_chart_seconds(browser, url, start)
        warm = _first_chart_seconds(browser, url, time.perf_counter())
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    return {"health_s": health, "first_chart_s": first, "warm_first_chart_s": warm}


def viewer_in_chromium(browser, run, repeats: int) -> dict[str, float]:
    """Load the light viewer page of `run` with set_content and read the page's own draw timings (median)."""
    page_html = attention_viewer_html(run)
    results = []
    for _ in range(max(1, repeats)):
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        _offline(page)
        start = time.perf_counter()
        page.set_content(page_html.html, timeout=120_000)
        page.wait_for_function("window.blAttention && window.blAttention.ready", timeout=60_000)
        wall = (time.perf_counter() - start) * 1e3
        timings = page.evaluate("blAttention.timings")
        results.append({**timings, "set_content_to_ready_ms": wall, "redraw_all_ms": page.evaluate("blAttention.redrawAll()")})
        page.close()
    out = {k: statistics.median(r[k] for r in results) for k in results[0]}
    out.update(bytes=page_html.bytes, num_weights=page_html.num_weights, runs=len(results))
    return out


def bench_browser(big_run, repeats: int, cold_starts: int = 1) -> dict:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            viewer = viewer_in_chromium(browser, big_run, repeats)
            app = cold_start(browser, cold_starts)
        finally:
            browser.close()
    return {"cold_start": app, "viewer_12x12x256": viewer}
