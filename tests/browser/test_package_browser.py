"""`bert-lens serve` from the installed wheel, started in a folder outside the checkout, as a user starts it:
the first page renders in Chromium with every request outside the server refused (no CDN, no hub)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.test_app_browser import open_page
from tests.wheel_install import serving

pytestmark = pytest.mark.slow  # the wheel's virtual environment (shared with test_hosting_browser.py)


def test_bert_lens_serve_from_another_folder_renders_the_first_page_offline(installed_bin, tmp_path, page):
    with serving([str(installed_bin / "bert-lens"), "serve"], cwd=tmp_path, log=tmp_path / "serve.log") as url:
        blocked: list[str] = []

        def route(r):
            if r.request.url.startswith((url, "data:", "blob:", "about:")):
                r.continue_()
            else:
                blocked.append(r.request.url)
                r.abort()

        page.route("**/*", route)
        open_page(page, url)
        expect(page.get_by_role("heading", name="BERT Lens")).to_be_visible(timeout=90_000)
        chips = page.locator("[data-testid=stMain] span")
        # the default sentence, tokenized by the installed model (the chips come after the heading)
        expect(chips.filter(has_text="[CLS]").first).to_be_visible(timeout=90_000)
        expect(chips.filter(has_text="animal").first).to_be_visible(timeout=90_000)
        assert page.locator("[data-testid=stException]").count() == 0
        assert not blocked, blocked
    assert "Traceback" not in (tmp_path / "serve.log").read_text()
