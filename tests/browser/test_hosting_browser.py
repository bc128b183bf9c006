"""BERT Lens hosted for a class, in Chromium: started the way `make run` starts it (app/serve.py, which
loads the default model while the browser connects), with BERT_LENS_HOSTED=1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ROOT
from tests.browser.test_app_browser import choose_view, open_page, type_text

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def hosted_url(tmp_path_factory):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tmp_path_factory.mktemp("hosted") / "server.log"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1", "BERT_LENS_HOSTED": "1",
           "BERT_LENS_MAX_PLL_TOKENS": "12"}
    cmd = [sys.executable, "-m", "streamlit", "run", "app/serve.py", "--server.headless", "true",
           "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none"]
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.3)
        else:
            proc.kill()
            pytest.fail(f"Streamlit did not start: {log.read_text()[-2000:]}")
        yield url
        proc.terminate()
        proc.wait(timeout=10)


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
    expect(page.get_by_text("There is no [MASK] yet")).to_be_visible()
    choose_view(page, "Surprisal (PLL)")
    expect(page.get_by_text("this server scores at most 12")).to_be_visible()
