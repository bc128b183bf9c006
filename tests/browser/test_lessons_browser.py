"""The Lessons page in Chromium at a projector's 1280x720 with presenter mode on: every step runs, its main
view fits the screen without scrolling, Next/Previous and the overview's boxes move between steps.

With $BERTLENS_SCREENSHOTS set, steps 3, 4 and 7 are saved there as lesson-step<n>.png (the README's pictures).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urljoin

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_app_browser import open_page, point_on_screen, wait_for_chart_text

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


def wait_for_step(page: Page, step: int, prefix: str = "Step {n} of 10") -> None:
    """Until step `step` is drawn and the run is over (one lesson view, no 'running' widget)."""
    page.wait_for_function(
        """p => { const h = document.querySelector('h4');
                  return h && h.innerText.startsWith(p)
                    && document.querySelectorAll('.st-key-lesson-view').length === 1
                    && !document.querySelector('[data-testid=stStatusWidget]'); }""",
        arg=prefix.format(n=step), timeout=90_000)
    page.wait_for_timeout(800)  # charts draw after the run ends


def test_every_step_in_presenter_mode_fits_1280x720(offline_page, app_url):
    page = offline_page
    page.set_viewport_size(PROJECTOR)
    open_page(page, app_url, "lessons", step=1, present=1)
    wait_for_step(page, 1)
    expect(page.locator("[data-testid=stSidebar]")).to_have_attribute("data-collapsed", "true")
    for step in range(1, 11):
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
        if step < 10:
            page.get_by_role("button", name="Next ▶").click()
    page.get_by_role("button", name="◀ Previous").click()
    wait_for_step(page, 9)
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
    expect(link).to_have_attribute("href", re.compile(r"head=1"), timeout=90_000)  # the rerun redraws the link
    href = link.get_attribute("href")
    assert "step=3" in href and "head=1" in href and "present=1" in href, href
    page.goto(urljoin(page.url, href))  # a fresh session from the link: the same step and head
    wait_for_step(page, 3)
    wait_for_chart_text(page, "Layer 2, head 1", timeout=90_000)


def test_every_step_in_chinese_presenter_mode(browser, app_url):
    """All ten steps in Chinese (the browser's language) at 1280x720 with presenter mode: no exception, the
    main view fits, a CJK font draws the heading, and no English is left besides tokens, model names, labels
    and the English example sentence."""
    from explain import load_model, run_model
    from explain.mlm_pretraining import draw_masking, predict_masked
    from explain.models.catalog import DEFAULT_MODEL, builtin_models_for
    from tests.browser.test_i18n_browser import CJK_FONTS, english_left, platform_fonts

    context = browser.new_context(locale="zh-CN", viewport=PROJECTOR)
    page = context.new_page()
    try:
        open_page(page, app_url, "lessons", step=1, present=1)
        sentence = "The animal didn't cross the street because it was too tired."
        mlm, sentiment = builtin_models_for("masked-lm")[0], "MiniLM + movie-review sentiment head (rotten/fresh)"
        allow = [sentence, mlm, sentiment, DEFAULT_MODEL]  # the class's sentence and the model names
        for spec in (DEFAULT_MODEL, mlm, sentiment):
            bundle = load_model(spec)
            allow += [*bundle.tokenizer.tokenize(sentence), *bundle.labels]
        bundle = load_model(mlm)  # step 6 shows the model's own guesses (English words) at the drawn positions
        draw = draw_masking(bundle, run_model(bundle, sentence), seed=0)
        allow += [*draw.corrupted_tokens, *(t for row in predict_masked(bundle, draw, top_k=3).top_tokens for t in row)]
        allow_set = list(dict.fromkeys(allow))
        for step in range(1, 11):
            wait_for_step(page, step, prefix="第 {n} 步")
            assert page.locator("[data-testid=stException]").count() == 0, step
            assert view_bottom(page) <= PROJECTOR["height"] + TOLERANCE, (step, view_bottom(page))
            if step == 1:
                fonts = platform_fonts(page, "h4")
                assert any(f.startswith(CJK_FONTS) for f in fonts), fonts
            left = english_left(page, allow_set)
            assert not left, f"step {step}: English on the Chinese page:\n" + "\n".join(left)
            folder = os.environ.get("BERTLENS_SCREENSHOTS")
            if folder and step == 4:
                page.mouse.move(640, 715)
                page.wait_for_timeout(300)
                page.screenshot(path=str(Path(folder) / "zh-lesson-step4.png"))
            if step < 10:
                page.get_by_role("button", name="下一步 ▶").click()
    finally:
        context.close()
