"""The What layers know page and the lessons' step 10 in Chromium, in English and in Chinese.

The probes take 1.5 min on a quiet 2-core machine and timed out twice (15 and 30 min) on this shared one at
load 20-30, so the browser walk does not wait for them: the page offers the Probe button, the neuron view
draws its heatmap and NMF factors, the own-label view its upload; in Chinese with no English left besides
tokens and model names; step 10 fits 1280x720 in presenter mode. The probe job itself is driven through
AppTest (tests/test_layers_app.py, tests/test_lessons_app.py).

With $BERTLENS_SCREENSHOTS set, the neuron views are saved there as layers-neurons.png, layers-zh-neurons.png.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_app_browser import open_page, settle, wait_for_chart_text

pytestmark = pytest.mark.browser

TEXT = "The quick brown fox jumps over the lazy dog in Paris."
PROJECTOR = {"width": 1280, "height": 720}


def save(page: Page, name: str, full_page: bool = True) -> None:
    folder = os.environ.get("BERTLENS_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.mouse.move(5, 5)  # no hover labels or chart toolbar in the picture
        page.wait_for_timeout(400)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=full_page)


def test_layers_page_in_english(offline_page, app_url):
    """The probe view offers its button (the probes themselves run as a job: tests/test_layers_app.py drives it
    through AppTest), then the neuron view draws its heatmap and NMF factors, and the own-label view its upload."""
    page = offline_page
    open_page(page, app_url, "layers", text=TEXT)
    expect(page.get_by_role("heading", name="What layers know")).to_be_visible()
    expect(page.get_by_role("button", name="Probe 7 layers for 3 label sets", exact=True)).to_be_visible(timeout=120_000)
    page.get_by_text("Neurons of this text", exact=True).first.click()
    page.wait_for_function("() => document.body.innerText.includes('Factors of the activations')", timeout=300_000)
    settle(page)
    wait_for_chart_text(page, "neuron", "factor 1", "fox")
    assert page.locator("[data-testid=stException]").count() == 0
    page.set_viewport_size({"width": 1400, "height": 2300})  # the NMF factors too
    page.wait_for_timeout(1500)
    save(page, "layers-neurons")
    page.get_by_text("Your own labels", exact=True).first.click()
    expect(page.get_by_text("Example CSV (parts of speech)")).to_be_visible(timeout=120_000)
    assert page.locator("[data-testid=stException]").count() == 0
    assert not [u for u in page.blocked_requests if "_stcore" not in u]


def test_layers_page_in_chinese(browser, app_url):
    from explain import builtin_models, load_model
    from explain.models.catalog import DEFAULT_MODEL
    from tests.browser.test_i18n_browser import english_left

    context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1600})
    page = context.new_page()
    try:
        open_page(page, app_url, "layers", text=TEXT)
        expect(page.get_by_role("heading", name="各层知道什么")).to_be_visible()
        expect(page.get_by_role("button", name="探测 7 层，共 3 套标签", exact=True)).to_be_visible(timeout=120_000)
        page.get_by_text("这段文本的神经元", exact=True).first.click()
        page.wait_for_function("() => document.body.innerText.includes('激活值的因子')", timeout=300_000)
        settle(page)
        wait_for_chart_text(page, "fox")  # the charts are drawn, so their labels are checked for English too
        assert page.locator("[data-testid=stException]").count() == 0
        tokens = load_model(DEFAULT_MODEL).tokenizer.tokenize(TEXT)
        left = english_left(page, [TEXT, *tokens, *builtin_models()])
        assert not left, "English on the Chinese page:\n" + "\n".join(left)
        save(page, "layers-zh-neurons")
    finally:
        context.close()


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_lesson_step_10_in_presenter_mode_fits_1280x720(browser, app_url, locale):
    """Step 10 before its probes run (the button in the view) fits the projector; with the curves it was
    checked by hand (docs/screenshots/layers-lesson*.png, 1280x720)."""
    from tests.browser.test_lessons_browser import TOLERANCE, view_bottom, wait_for_step

    context = browser.new_context(locale=locale, viewport=PROJECTOR)
    page = context.new_page()
    try:
        open_page(page, app_url, "lessons", step=10, present=1)
        zh = locale == "zh-CN"
        wait_for_step(page, 10, prefix="第 {n} 步" if zh else "Step {n} of 10")
        button = "探测 7 层，共 3 套标签" if zh else "Probe 7 layers for 3 label sets"
        expect(page.get_by_role("button", name=button, exact=True)).to_be_visible(timeout=120_000)
        assert page.locator("[data-testid=stException]").count() == 0
        assert view_bottom(page) <= PROJECTOR["height"] + TOLERANCE, view_bottom(page)
    finally:
        context.close()
