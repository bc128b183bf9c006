"""The offline attention pages in Debian's Chromium with every network request blocked.

Screenshots go to $BERTLENS_SCREENSHOTS when set (else pytest's tmp folder).
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import numpy as np
import pytest

from explain import run_model
from explain.attention.bertviz_offline import bertviz_html
from explain.attention.payload import MAX_ERROR
from explain.attention.viewer import attention_viewer_html
from explain.run import ModelRun
from tests.helpers import random_run

pytestmark = pytest.mark.browser

TEXT, PAIR = "The bank raised interest rates because inflation kept rising.", "Savers were pleased."
VIEWPORT = {"width": 1100, "height": 900}


@pytest.fixture(scope="module")
def real_run(default_bundle) -> ModelRun:
    return run_model(default_bundle, TEXT, PAIR)


@pytest.fixture
def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("BERTLENS_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def offline(page):
    """The pytest-playwright page with every request but data:/about: aborted and recorded."""
    tried: list[str] = []
    errors: list[str] = []

    def route(r):
        if r.request.url.startswith(("data:", "about:")):
            r.continue_()
        else:
            tried.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_viewport_size(VIEWPORT)
    page.tried, page.errors = tried, errors
    return page


PIXELS = """id => {
  const c = document.getElementById(id), d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let painted = 0; const colours = new Set();
  for (let i = 0; i < d.length; i += 4) { if (d[i + 3] > 0) { painted++; colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]); } }
  return {w: c.width, h: c.height, painted, colours: colours.size};
}"""

PIXEL_AT = """([id, x, y]) => {
  const c = document.getElementById(id), r = c.getBoundingClientRect(), k = c.width / r.width;
  const d = c.getContext('2d').getImageData(Math.round((x - r.left) * k), Math.round((y - r.top) * k), 1, 1).data;
  return [d[0], d[1], d[2], d[3]];
}"""


# ---- bertviz ------------------------------------------------------------------------------------------


def test_bertviz_head_view_draws_offline(offline, real_run, shots):
    page = bertviz_html(real_run, "head")
    offline.set_content(page.html)
    offline.locator("svg text").first.wait_for(timeout=10_000)
    texts = offline.locator("svg text").all_text_contents()
    assert texts == list(real_run.tokens) * 2  # left column, then right column
    n_lines = offline.locator("#attention line").count()
    assert n_lines == real_run.num_heads * real_run.num_tokens**2
    assert offline.locator("#layer option").all_text_contents() == [str(i) for i in range(real_run.num_layers)]
    assert offline.locator("#filter option").count() == 5  # All + the four sentence-pair filters
    assert offline.tried == [] and offline.errors == []
    offline.screenshot(path=str(shots / "bertviz_head_view.png"), full_page=True)


def test_bertviz_model_view_draws_offline(offline, real_run, shots):
    page = bertviz_html(real_run, "model")
    offline.set_content(page.html)
    offline.locator("svg text").first.wait_for(timeout=10_000)
    texts = offline.locator("svg text").all_text_contents()
    assert "Layers" in texts and "Heads" in texts
    assert [str(i) for i in range(real_run.num_heads)] == texts[texts.index("Heads") + 1 :][: real_run.num_heads]
    n_lines = offline.locator("svg line").count()
    assert n_lines >= real_run.num_layers * real_run.num_heads * real_run.num_tokens**2
    assert offline.tried == [] and offline.errors == []
    offline.screenshot(path=str(shots / "bertviz_model_view.png"), full_page=True)


# ---- light viewer -------------------------------------------------------------------------------------


def test_light_viewer_draws_clicks_and_hovers_offline(offline, real_run, shots):
    page = attention_viewer_html(real_run, layer=2, head=5)
    offline.set_content(page.html)
    offline.wait_for_function("window.blAttention && window.blAttention.ready")
    assert offline.evaluate("blAttention.state()")["layer"] == 2

    grid, big = offline.evaluate(PIXELS, "bl-grid"), offline.evaluate(PIXELS, "bl-map")
    assert grid["painted"] > 0.5 * grid["w"] * grid["h"] and grid["colours"] > 50
    assert big["colours"] > 20

    # the large map shows this head's data: its strongest cell is darker than its weakest
    attn = real_run.attentions[2, 5]
    q_hi, k_hi = np.unravel_index(attn.argmax(), attn.shape)
    q_lo, k_lo = np.unravel_index(attn.argmin(), attn.shape)
    hi = offline.evaluate(PIXEL_AT, ["bl-map", *offline.evaluate(f"blAttention.cellCenter({q_hi}, {k_hi})")])
    lo = offline.evaluate(PIXEL_AT, ["bl-map", *offline.evaluate(f"blAttention.cellCenter({q_lo}, {k_lo})")])
    assert sum(hi[:3]) < sum(lo[:3]) - 200

    # a click on a thumbnail selects that head
    x, y = offline.evaluate("blAttention.thumbCenter(4, 7)")
    offline.mouse.click(x, y)
    assert offline.evaluate("blAttention.state()") == {"layer": 4, "head": 7, "scale": "linear"}
    assert offline.locator("#bl-title").text_content() == "Layer 4 · head 7"
    assert offline.locator("#bl-head").input_value() == "7"

    # hovering a cell names both tokens and shows that weight
    attn = real_run.attentions[4, 7]
    q, k = np.unravel_index(attn.argmax(), attn.shape)
    x, y = offline.evaluate(f"blAttention.cellCenter({q}, {k})")
    offline.mouse.move(x, y)
    tip = offline.locator("#bl-tip")
    assert tip.is_visible()
    text = tip.text_content()
    assert f"query: “{real_run.tokens[q]}” (#{q})" in text and f"key: “{real_run.tokens[k]}” (#{k})" in text
    shown = float(re.search(r"weight: ([0-9.]+)", text).group(1))
    assert abs(shown - attn[q, k]) <= MAX_ERROR + 5e-4
    assert offline.tried == [] and offline.errors == []
    offline.screenshot(path=str(shots / "light_viewer_hover.png"), full_page=True)


def test_light_viewer_in_a_dark_iframe_sizes_itself(offline, real_run, shots):
    """Embedded as Streamlit does (srcdoc iframe sized to its content), under a dark app theme."""
    html = attention_viewer_html(real_run).html
    offline.set_content(
        "<body style='margin:0;background:#0e1117'><iframe id=f style='width:1000px;border:0' title='st.iframe'></iframe></body>"
    )
    offline.evaluate("h => { document.getElementById('f').srcdoc = h; }", html)
    frame = offline.frame_locator("#f")
    frame.locator("#bl-root[data-ready='1']").wait_for(timeout=10_000)
    heights = []
    for _ in range(3):  # size the iframe to its content the way height="content" does; it must settle
        h = offline.evaluate("() => document.getElementById('f').contentDocument.documentElement.scrollHeight")
        offline.evaluate(f"() => {{ document.getElementById('f').style.height = '{h}px'; }}")
        offline.wait_for_timeout(150)
        heights.append(h)
    assert heights[0] == heights[-1] and 600 < heights[0] < 4000
    assert "bl-dark" in frame.locator("#bl-root").get_attribute("class")
    offline.screenshot(path=str(shots / "light_viewer_dark_iframe.png"), full_page=True)
    assert offline.tried == [] and offline.errors == []


def test_light_viewer_draws_12x12_heads_at_256_tokens_fast(offline, shots):
    run = random_run(12, 12, 256)
    start = time.perf_counter()
    page = attention_viewer_html(run)
    build_s = time.perf_counter() - start
    # hand the 12.6 MB string to the page first: Playwright's own transfer is not the page's cost
    offline.evaluate("h => { window.__html = h; }", page.html)
    start = time.perf_counter()
    offline.evaluate("() => { document.open(); document.write(window.__html); document.close(); }")
    offline.wait_for_function("window.blAttention && window.blAttention.ready", timeout=20_000)
    ready_s = time.perf_counter() - start
    timings = offline.evaluate("blAttention.timings")
    redraw_ms = offline.evaluate("blAttention.redrawAll()")
    grid = offline.evaluate(PIXELS, "bl-grid")
    offline.screenshot(path=str(shots / "light_viewer_12x12x256.png"), full_page=True)
    # switching head with the lines view on: measured until two frames are painted
    offline.locator("#bl-lines").check()
    switch_ms = offline.evaluate(
        "() => new Promise(done => { const t = performance.now(); blAttention.select(7, 3);"
        " requestAnimationFrame(() => requestAnimationFrame(() => done(performance.now() - t))); })"
    )
    note = offline.locator("#bl-lines-note").text_content()
    print(
        f"\n12x12 heads x 256 tokens: page {page.bytes / 1e6:.2f} MB ({page.bytes / page.num_weights:.3f} B/weight), "
        f"built {build_s:.2f} s; parse+decode+draw {ready_s:.2f} s; in page: decode {timings['decode_ms']:.0f} ms, "
        f"144 thumbnails {timings['thumbs_ms']:.0f} ms, grid {timings['grid_ms']:.0f} ms, map {timings['map_ms']:.0f} ms, "
        f"first draw {timings['first_draw_ms']:.0f} ms; redraw all {redraw_ms:.0f} ms; "
        f"head switch with lines view {switch_ms:.0f} ms ({note})"
    )
    assert note.startswith("Showing the ") and switch_ms < 2000
    assert grid["colours"] > 50
    assert timings["total_ms"] < 2000 and redraw_ms < 2000
    assert ready_s < 5
    assert offline.tried == [] and offline.errors == []
