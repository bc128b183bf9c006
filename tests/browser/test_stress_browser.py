"""The Stress tests page in Chromium, offline: run the shipped sentiment suite, open a failed case and see both
texts' attributions side by side, then open it on the Attributions page; the same page in Chinese and in
presenter mode at a projector's 1280x720 (the result comes from the server's cache, shared by sessions).

Screenshots ($BERTLENS_SCREENSHOTS): stress.png, stress-zh.png, stress-present.png (docs/screenshots/).
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Page, expect

from explain.behaviour.suite import load_suite
from tests.browser.test_app_browser import FIRST_RUN_MS, SENTIMENT, open_page, settle, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # the suite reads 2,849 texts (30 s to minutes on 2 busy cores)

RUN_MS = 900_000
PROJECTOR = {"width": 1280, "height": 720}


def table_row(test_name: str) -> int:
    """Where a test sits in the page's table: tests grouped by capability, in the order capabilities first appear."""
    tests = load_suite("sentiment").tests
    capabilities = list(dict.fromkeys(t.capability for t in tests))
    order = sorted(range(len(tests)), key=lambda i: (capabilities.index(tests[i].capability), i))
    return order.index(next(i for i, t in enumerate(tests) if t.name == test_name))


def click_row(page: Page, table: int, row: int, height: int = 35) -> None:
    """Tick a row's selection box in the `table`-th data frame (glide-data-grid draws on a canvas: rows of
    `height` pixels, 40 in presenter mode)."""
    grid = page.locator("[data-testid=stDataFrame]").nth(table)
    expect(grid).to_be_visible(timeout=30_000)
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 18, box["y"] + height + height * row + height // 2)
    settle(page)


def click_bar(page: Page, test_name: str) -> None:
    """Click a test's bar in the failure-rate chart (plotly draws the first category at the bottom)."""
    bars = page.locator(".js-plotly-plot .bars .point")
    expect(bars.first).to_be_attached(timeout=30_000)
    bar = bars.nth(len(load_suite("sentiment").tests) - 1 - table_row(test_name)).locator("path").first  # not its label
    bar.scroll_into_view_if_needed()
    box = bar.bounding_box()  # plotly's drag layer takes the click and hands it to the bar under it
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    settle(page)


def run_if_needed(page: Page, button: str) -> None:
    run = page.get_by_role("button", name=button)
    if run.count():
        run.click()
        settle(page)
    expect(page.locator("[data-testid=stMetric]").first).to_be_visible(timeout=RUN_MS)
    settle(page)


def open_failed_typo(page: Page, heading: str = "One typo:", chart: bool = False) -> None:
    """Choose the test 'One typo' (a row of the table, or its bar when the page shows the chart), then its
    first failed case."""
    if chart:
        click_bar(page, "One typo")
    else:
        click_row(page, 0, table_row("One typo"))
    expect(page.locator("[data-testid=stHeading]").filter(has_text=heading)).to_be_visible(timeout=30_000)
    settle(page)
    click_row(page, 0 if chart else 1, 0, 40 if chart else 35)  # its first failed case
    expect(page.locator(".js-plotly-plot").last).to_be_visible(timeout=120_000)
    settle(page)


def test_run_the_shipped_suite_and_open_a_failed_case(offline_page, app_url):
    page = open_page(offline_page, app_url, "stress", model=SENTIMENT)
    expect(page.get_by_text("Movie-review sentiment (rotten/fresh)").first).to_be_visible(timeout=FIRST_RUN_MS)
    settle(page)
    run_if_needed(page, "Run 21 tests")
    expect(page.get_by_text("Distinct texts")).to_be_visible()
    open_failed_typo(page)
    expect(page.get_by_text("Original", exact=False).first).to_be_visible()
    sides = page.locator("[data-testid=stHtml]").filter(has=page.locator("span[title]"))
    assert sides.count() == 2, "the original and the perturbed text, each coloured by its attributions"
    original, perturbed = (sides.nth(k).locator("span[title]").all_text_contents() for k in range(2))
    assert len(original) > 3 and original != perturbed  # one word has a typo
    scores = [sides.nth(0).locator("span[title]").nth(k).get_attribute("title") for k in range(len(original))]
    assert all(s.rsplit(":", 1)[1].strip()[0] in "+-" for s in scores)  # 'word: +0.123' on hover
    legend = " ".join(page.locator(".js-plotly-plot").last.locator(".legendtext").all_text_contents())
    assert "original text" in legend and "perturbed text" in legend
    expect(page.get_by_text("What changed: typo")).to_be_visible()
    shot(page, "stress")

    page.get_by_role("button", name="Open on the Attributions page").first.click()
    settle(page)
    expect(page.get_by_role("heading", name="Attributions")).to_be_visible(timeout=FIRST_RUN_MS)
    query = parse_qs(urlparse(page.url).query)
    assert query["model"] == [SENTIMENT] and query["target"][0] in ("rotten", "fresh")
    assert query["text"][0].lower().split()[:3] == original[:3]  # the words as the uncased model reads them
    assert not page.blocked_requests


@pytest.mark.parametrize("name, locale, viewport, query", [
    ("stress-zh", "zh-CN", {"width": 1400, "height": 1600}, {}),
    ("stress-present", "en-GB", PROJECTOR, {"present": 1}),
])
def test_the_page_in_chinese_and_in_presenter_mode(browser, app_url, name, locale, viewport, query):
    context = browser.new_context(locale=locale, viewport=viewport)
    page = context.new_page()
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith((app_url, "data:", "blob:", "about:"))
               else r.abort())
    try:
        open_page(page, app_url, "stress", model=SENTIMENT, **query)
        expect(page.locator("[data-testid=stMain] h1")).to_be_visible(timeout=FIRST_RUN_MS)
        settle(page)
        run_if_needed(page, "运行 21 项测试" if locale == "zh-CN" else "Run 21 tests")
        if locale == "zh-CN":
            expect(page.get_by_role("heading", name="压力测试")).to_be_visible()
            expect(page.get_by_text("不同文本数")).to_be_visible()
        present = "present" in query  # presenter mode opens on the chart: a click on a bar chooses the test
        open_failed_typo(page, "一个拼写错误：" if locale == "zh-CN" else "One typo:", chart=present)
        shot(page, name)
        folder = os.environ.get("BERTLENS_SCREENSHOTS")
        if folder and present:  # what a projector shows: the case, both texts and their attributions
            page.locator("[data-testid=stHtml]").filter(has=page.locator("span[title]")).first.scroll_into_view_if_needed()
            page.screenshot(path=str(Path(folder) / f"{name}-case.png"))
        sides = page.locator("[data-testid=stHtml]").filter(has=page.locator("span[title]"))
        assert sides.count() == 2
    finally:
        context.close()
