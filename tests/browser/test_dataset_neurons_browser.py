"""The Data set page's Neurons view in Chromium, in English and in Chinese, on the shipped sentiment head and its
held-out sample: the per-class bars, the table, one neuron's rows; no English left in Chinese besides the reviews,
their tokens, labels and model names.

With $BERTLENS_SCREENSHOTS set, the view is saved there as dataset-neurons.png and dataset-zh-neurons.png.
"""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Page, expect

from explain.models.heads import HEADS_DIR
from tests.browser.test_app_browser import FIRST_RUN_MS, SENTIMENT, open_page, settle, wait_for_chart_text
from tests.browser.test_layers_browser import save

pytestmark = pytest.mark.browser
VIEWPORT = {"width": 1400, "height": 2450}


def open_neurons(page: Page, app_url: str, view: str, done: str) -> None:
    open_page(page, app_url, "dataset", model=SENTIMENT)
    expect(page.locator("[data-testid=stMetric]").first).to_be_visible(timeout=FIRST_RUN_MS)
    page.get_by_text(view, exact=True).first.click()
    page.wait_for_function(f"() => document.body.innerText.includes({json.dumps(done)})", timeout=300_000)
    settle(page)
    page.wait_for_timeout(1500)
    assert page.locator("[data-testid=stException]").count() == 0


def test_neurons_view_in_english(browser, app_url):
    context = browser.new_context(locale="en-US", viewport=VIEWPORT)
    page = context.new_page()
    try:
        open_neurons(page, app_url, "Neurons", "One neuron over the rows")
        wait_for_chart_text(page, "neurons of rotten", "neurons of fresh")
        expect(page.get_by_text("classifier without one", exact=False)).to_be_visible()
        box = page.get_by_role("combobox", name="Neuron", exact=True)
        expect(box).to_have_value(re.compile(r"\(top of rotten\)$"))
        box.click()  # choose fresh's top neuron
        page.get_by_role("option").filter(has_text="(top of fresh)").first.click()
        settle(page)
        expect(box).to_have_value(re.compile(r"\(top of fresh\)$"), timeout=60_000)
        page.wait_for_timeout(1000)
        assert page.locator("[data-testid=stException]").count() == 0
        save(page, "dataset-neurons")
    finally:
        context.close()


def test_neurons_view_in_chinese(browser, app_url):
    from explain import builtin_models, load_model
    from tests.browser.test_i18n_browser import english_left

    context = browser.new_context(locale="zh-CN", viewport=VIEWPORT)
    page = context.new_page()
    try:
        open_neurons(page, app_url, "神经元", "一个神经元在各行上的表现")
        bundle = load_model(SENTIMENT)
        texts = [json.loads(line)["text"] for line in (HEADS_DIR / "minilm-sentiment" / "heldout.jsonl").open()]
        tokens = [t for text in texts for t in bundle.tokenizer.tokenize(text)]
        sidebar_text = page.locator("[data-testid=stSidebar] textarea").first.input_value()  # the user's text
        left = english_left(page, [*texts, *tokens, *builtin_models(), *bundle.labels, sidebar_text])
        assert not left, "English on the Chinese page:\n" + "\n".join(left)
        save(page, "dataset-zh-neurons")
    finally:
        context.close()
