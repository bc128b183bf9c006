"""The Compare page in Debian's Chromium: both attention maps drawn, a click on the JS grid opens that head.

Screenshots go to $BERTLENS_SCREENSHOTS when set (docs/screenshots/compare.png comes from there).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.test_app_browser import FIRST_RUN_MS, SENTIMENT, open_page, point_on_screen, settle, shot

pytestmark = pytest.mark.browser

DEFAULT = "all-MiniLM-L6-v2 (offline default)"
TEXT = "A gripping, wonderful and beautifully shot film, though the ending drags."


def test_compare_page_shows_both_maps_and_a_click_on_the_grid_opens_that_head(offline_page, app_url):
    page = open_page(offline_page, app_url, "compare", model=SENTIMENT, model_b=DEFAULT, text=TEXT)
    expect(page.get_by_text("the change sits in layers 4-5")).to_be_visible(timeout=FIRST_RUN_MS)
    charts = page.locator(".js-plotly-plot")
    expect(charts.nth(1)).to_be_visible(timeout=60_000)
    expect(charts.nth(1).locator(".annotation-text").first).to_be_attached(timeout=30_000)
    titles = " ".join(charts.nth(1).locator(".annotation-text").all_text_contents())
    assert "A: MiniLM + movie-review" in titles and "B: all-MiniLM-L6-v2" in titles
    assert charts.nth(1).locator(".heatmaplayer image").count() == 2  # A's and B's maps, drawn
    assert "A − B" in " ".join(charts.nth(2).locator(".gtitle").all_text_contents())
    assert charts.nth(2).locator(".heatmaplayer image").count() == 1

    grid = page.locator("[data-testid=stPlotlyChart]").first
    x, y = point_on_screen(page, grid, 9, 5)  # head 9 of layer 5
    page.mouse.click(x, y)
    settle(page)
    expect(page.get_by_text("Layer 5, head 9: where each token (row) looks")).to_be_visible(timeout=60_000)
    assert "layer=5&head=9" in page.url  # the link now opens that head
    assert not [u for u in offline_page.blocked_requests if "_stcore" not in u]
    page.set_viewport_size({"width": 1400, "height": 2300})  # Streamlit scrolls inside stMain: show it all
    page.mouse.move(5, 5)  # no hover label or modebar over the figures
    settle(page)
    shot(page, "compare")
