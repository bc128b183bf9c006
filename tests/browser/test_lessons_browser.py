"""The Lessons page in Chromium at a projector's 1280x720 with presenter mode on: every step runs, its main
view fits the screen without scrolling, Next/Previous and the overview's boxes move between steps.

With $BERTLENS_SCREENSHOTS set, steps 3, 4 and 7 are saved there as lesson-step<n>.png (the README's pictures).
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urljoin

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_app_browser import open_page, point_on_screen

pytestmark = pytest.mark.browser

PROJECTOR = {"width": 1280, "height": 720}
TOLERANCE = 8  # pixels
SHOTS = (3, 4, 7)


def view_bottom(page: Page) -> float:
    """Bottom of the step's main view, in viewport pixels, with the page scrolled to the top."""
    page.evaluate("() => { window.scrollTo(0, 0); const m = document.querySelector('[data-testid=stMain]');"
                  " if (m) m.scrollTo(0, 0); }")
    return page.wait_for_function(
        """() => { const v = document.querySelectorAll('.st-key-lesson-view');
                   if (v.length !== 1 || document.querySelector('[data-testid=stStatusWidget]')) return null;
                   return v[0].getBoundingClientRect().bottom; }""", timeout=90_000).json_value()


def heading(page: Page) -> str:
    return page.locator("h4").first.inner_text()


def wait_for_step(page: Page, step: int) -> None:
    """Until step `step` is drawn and the run is over (one lesson view, no 'running' widget)."""
    page.wait_for_function(
        """n => { const h = document.querySelector('h4');
                  return h && h.innerText.startsWith('Step ' + n + ' of 9')
                    && document.querySelectorAll('.st-key-lesson-view').length === 1
                    && !document.querySelector('[data-testid=stStatusWidget]'); }""",
        arg=step, timeout=90_000)
    page.wait_for_timeout(800)  # charts draw after the run ends


def test_every_step_in_presenter_mode_fits_1280x720(offline_page, app_url):
    page = offline_page
    page.set_viewport_size(PROJECTOR)
    open_page(page, app_url, "lessons", step=1, present=1)
    wait_for_step(page, 1)
    expect(page.locator("[data-testid=stSidebar]")).to_have_attribute("data-collapsed", "true")
    for step in range(1, 10):
        wait_for_step(page, step)
        if step == 7:  # the teacher changes the sentence mid-lesson: everything follows
            page.get_by_role("combobox", name="Example sentence").click()
            page.get_by_role("option", name="A movie review").click()
            page.wait_for_function("() => document.body.innerText.includes('Prediction: fresh')", timeout=90_000)
            wait_for_step(page, 7)
            assert "T=10" in " ".join(page.locator("[data-testid=stPlotlyChart]").first.locator("text").all_text_contents())
        assert page.locator("[data-testid=stException]").count() == 0, step
        assert view_bottom(page) <= PROJECTOR["height"] + TOLERANCE, (step, view_bottom(page))
        folder = os.environ.get("BERTLENS_SCREENSHOTS")
        if folder and step in SHOTS:
            Path(folder).mkdir(parents=True, exist_ok=True)
            page.mouse.move(640, 715)  # no hover labels or chart toolbar in the picture
            page.wait_for_timeout(300)
            page.screenshot(path=str(Path(folder) / f"lesson-step{step}.png"))
        if step < 9:
            page.get_by_role("button", name="Next ▶").click()
    page.get_by_role("button", name="◀ Previous").click()
    wait_for_step(page, 8)
    assert not [u for u in page.blocked_requests if "_stcore" not in u]


def test_a_box_of_the_overview_opens_its_step(offline_page, app_url):
    page = offline_page
    page.set_viewport_size(PROJECTOR)
    open_page(page, app_url, "lessons", step=1, present=1)
    wait_for_step(page, 1)
    chart = page.locator("[data-testid=stPlotlyChart]").first
    x, y = point_on_screen(page, chart, 4.325, 1.65)  # the centre of box 3, "One head"
    page.mouse.click(x, y)
    wait_for_step(page, 3)
    assert "step=3" in page.url
    page.locator("[data-testid=stSlider]").nth(1).get_by_role("slider").press("ArrowRight")  # head 0 -> 1
    page.wait_for_function("() => location.search.includes('head=1')", timeout=90_000)
    wait_for_step(page, 3)
    link = page.get_by_role("link", name="Link to this step")
    href = link.get_attribute("href")
    assert "step=3" in href and "head=1" in href and "present=1" in href, href
    page.goto(urljoin(page.url, href))  # a fresh session from the link: the same step and head
    wait_for_step(page, 3)
    page.wait_for_function("() => Array.from(document.querySelectorAll('[data-testid=stPlotlyChart] text'))"
                           ".some(t => t.textContent.includes('Layer 2, head 1'))", timeout=90_000)
