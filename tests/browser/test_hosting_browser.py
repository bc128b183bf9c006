"""BERT Lens hosted for a class, in Chromium: started as the README's hosting recipe says, `bert-lens serve
--hosted --settings class.toml` from the installed wheel (app/serve.py, which loads the default model while
the browser connects)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.test_app_browser import choose_view, open_page, type_text
from tests.wheel_install import serving

pytestmark = pytest.mark.slow  # the wheel's virtual environment (shared with test_package_browser.py)


@pytest.fixture(scope="module")
def hosted_url(installed_bin, tmp_path_factory):
    """`bert-lens serve --hosted --settings class.toml` from the installed wheel, in a folder of its own."""
    folder = tmp_path_factory.mktemp("hosted")
    (folder / "class.toml").write_text("[bert_lens]\nmax_pll_tokens = 12\n")
    command = [str(installed_bin / "bert-lens"), "serve", "--hosted", "--settings", "class.toml"]
    with serving(command, cwd=folder, log=folder / "server.log") as url:
        yield url


@pytest.fixture
def hosted_page(page, hosted_url):
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith((hosted_url, "data:", "blob:", "about:"))
               else r.abort())
    return page


def test_serve_py_shows_the_first_chart_and_offers_only_builtins(hosted_page, hosted_url):
    page = open_page(hosted_page, hosted_url, "attention")
    expect(page.locator(".js-plotly-plot .gtitle").first).to_be_visible(timeout=90_000)  # a new server's first run
    page.locator("[data-testid=stSidebar] [data-testid=stSelectbox]").nth(1).click()
    options = page.get_by_role("option").all_text_contents()
    assert "all-MiniLM-L6-v2 (offline default)" in options
    assert not [o for o in options if o.startswith("Other")], options


def test_a_refused_link_and_the_pll_limit_in_the_browser(hosted_page, hosted_url):
    page = open_page(hosted_page, hosted_url, "masked", model="/etc")
    expect(page.get_by_text("does not open folders on its disk")).to_be_visible()
    page = open_page(hosted_page, hosted_url, "masked", model="all-MiniLM-L6-v2 + BERT Lens MLM head")
    type_text(page, "one two three four five six seven eight nine ten eleven twelve")
    # .first: while Streamlit reruns, the previous run's copy of a message can still be on the page (stale).
    expect(page.get_by_text("There is no [MASK] yet").first).to_be_visible()
    choose_view(page, "Surprisal (PLL)")
    expect(page.get_by_text("this server scores at most 12").first).to_be_visible()
