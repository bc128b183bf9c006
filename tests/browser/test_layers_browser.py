"""The What layers know page and the lessons' step 10 in Chromium, in English and in Chinese.

English: the Probe button starts the background job, the curves appear with the silver-data and word-piece
notes, then the neuron view and its NMF factors. Chinese (the browser's language): the same page with no
English left besides tokens, model names and labels; and step 10 in presenter mode at 1280x720 fits the
screen. The probe result is shared by the server's sessions, so only the first test waits for it.

With $BERTLENS_SCREENSHOTS set, the pictures of the README are saved there as layers-*.png.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_app_browser import open_page, settle

pytestmark = pytest.mark.browser

TEXT = "The quick brown fox jumps over the lazy dog in Paris."
PROBE_MS = 1_800_000  # the first probe run: 1.5 min on a quiet 2-core machine, 7-15 min at load 10-20
PROJECTOR = {"width": 1280, "height": 720}


def save(page: Page, name: str, full_page: bool = True) -> None:
    folder = os.environ.get("BERTLENS_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.mouse.move(5, 5)  # no hover labels or chart toolbar in the picture
        page.wait_for_timeout(400)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=full_page)


def probe(page: Page, button: str, done: str) -> None:
    """Press the Probe button when there is one, then wait until `done` is on the page."""
    page.wait_for_function(  # the first run draws either the button or (a result shared by the server) the curves
        """([b, t]) => document.body.innerText.includes(t)
                      || [...document.querySelectorAll('button')].some(e => e.innerText.trim() === b)""",
        arg=[button, done], timeout=120_000)
    buttons = page.get_by_role("button", name=button, exact=True)
    if buttons.count():
        buttons.first.click()
    page.wait_for_function("t => document.body.innerText.includes(t)", arg=done, timeout=PROBE_MS)
    settle(page)
    page.wait_for_timeout(800)  # the chart draws after the run


def svg_text(page: Page) -> str:
    return " ".join(page.locator("[data-testid=stPlotlyChart] text").all_text_contents())


def test_layers_page_in_english(offline_page, app_url):
    page = offline_page
    open_page(page, app_url, "layers", text=TEXT)
    expect(page.get_by_role("heading", name="What layers know")).to_be_visible()
    probe(page, "Probe 7 layers for 3 label sets", "selectivity")
    body = page.locator("[data-testid=stMain]").inner_text()
    assert "silver" in body and "first word piece" in body and "centre of gravity" in body
    legend = svg_text(page)
    for name in ("parts of speech", "dependency relation", "entity type", "control task", "majority class"):
        assert name in legend, name
    assert page.locator("[data-testid=stException]").count() == 0
    save(page, "layers-probes")
    page.get_by_role("button", name="Neurons of this text").click()
    page.wait_for_function("() => document.body.innerText.includes('Factors of the activations')", timeout=90_000)
    settle(page)
    page.wait_for_timeout(800)
    text = svg_text(page)
    assert "neuron" in text and "factor 1" in text and "fox" in text
    assert page.locator("[data-testid=stException]").count() == 0
    page.set_viewport_size({"width": 1400, "height": 2300})  # the NMF factors too
    page.wait_for_timeout(1500)
    save(page, "layers-neurons")
    assert not [u for u in page.blocked_requests if "_stcore" not in u]


def test_layers_page_in_chinese(browser, app_url):
    from tests.browser.test_i18n_browser import english_left
    from explain import load_model
    from explain.models.catalog import DEFAULT_MODEL

    context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1600})
    page = context.new_page()
    try:
        open_page(page, app_url, "layers", text=TEXT)
        expect(page.get_by_role("heading", name="各层知道什么")).to_be_visible()
        probe(page, "探测 7 层，共 3 套标签", "选择性")
        assert page.locator("[data-testid=stException]").count() == 0
        assert "词性" in svg_text(page) and "银标" in page.locator("[data-testid=stMain]").inner_text()
        tokens = load_model(DEFAULT_MODEL).tokenizer.tokenize(TEXT)
        # model names, the majority labels (NOUN, punct, O) and the data card's source line stay as they are
        allow = [TEXT, *tokens, DEFAULT_MODEL, "NOUN", "punct", "O", "(NOUN)", "(punct)", "(O)"]
        left = [line for line in english_left(page, allow) if "gensim" not in line]
        assert not left, "English on the Chinese page:\n" + "\n".join(left)
        save(page, "layers-zh")
    finally:
        context.close()


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_lesson_step_10_in_presenter_mode_fits_1280x720(browser, app_url, locale):
    from tests.browser.test_lessons_browser import TOLERANCE, view_bottom

    context = browser.new_context(locale=locale, viewport=PROJECTOR)
    page = context.new_page()
    try:
        open_page(page, app_url, "lessons", step=10, present=1)
        zh = locale == "zh-CN"
        probe(page, "探测 7 层，共 3 套标签" if zh else "Probe 7 layers for 3 label sets",
              "重心：词性" if zh else "Centre of gravity: parts of speech")
        assert page.locator("[data-testid=stException]").count() == 0
        assert ("词性" if zh else "parts of speech") in svg_text(page)
        assert view_bottom(page) <= PROJECTOR["height"] + TOLERANCE, view_bottom(page)
        save(page, "layers-lesson-zh" if zh else "layers-lesson", full_page=False)
    finally:
        context.close()
