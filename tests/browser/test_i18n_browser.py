"""The app in Chinese in a real browser: chosen from the browser's language, drawn with a CJK font (not boxes).

Two pages are opened in a zh-CN browser (no ?lang= in the link), with every request off the app server
blocked. For each: the page's title is Chinese; Chromium reports (DevTools CSS.getPlatformFontsForNode)
that a CJK font drew it; the glyphs of two different characters differ on a canvas (missing glyphs are
identical boxes); and the text the browser shows, JavaScript-drawn parts included, has no English
left but tokens and model names. Screenshots: $BERTLENS_SCREENSHOTS/zh-*.png (docs/screenshots/ in the README).
CI needs a CJK font: `.ci/run` installs Debian's fonts-wqy-microhei.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page

from tests.browser.test_app_browser import FIRST_RUN_MS, SENTIMENT, settle, shot
from tests.i18n_scan import ALLOWED, ALLOWED_PHRASES, english_words

pytestmark = pytest.mark.browser

TEXT = "The trophy didn't fit in the suitcase because it was too big."
CJK_FONTS = ("WenQuanYi", "Noto Sans CJK", "Noto Serif CJK", "Droid Sans Fallback", "AR PL")


@pytest.fixture
def zh_page(browser, app_url):
    """A page in a browser whose language is Simplified Chinese, that may reach the app server only."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1600})
    page = context.new_page()
    blocked: list[str] = []

    def route(r):
        if r.request.url.startswith((app_url, "data:", "blob:", "about:")):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.blocked_requests = blocked
    yield page
    context.close()


def open_zh(page: Page, app_url: str, path: str, **query) -> Page:
    page.goto(f"{app_url}/{path}?{urlencode({'text': TEXT, **query})}")
    page.wait_for_selector("[data-testid=stMain] h1", timeout=FIRST_RUN_MS)
    settle(page)
    page.wait_for_selector(".js-plotly-plot", timeout=FIRST_RUN_MS)
    settle(page)
    return page


def platform_fonts(page: Page, selector: str) -> dict[str, int]:
    """{font family: glyphs drawn with it} for the first element matching `selector`, as Chromium reports it."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    cdp.detach()
    return {f["familyName"]: f["glyphCount"] for f in fonts}


def glyphs_differ(page: Page, selector: str, a: str, b: str) -> bool:
    """Draw characters `a` and `b` in the element's font: real glyphs differ, missing-glyph boxes do not."""
    return page.evaluate(
        """([sel, a, b]) => {
             const font = getComputedStyle(document.querySelector(sel)).fontFamily;
             const draw = (ch) => {
               const c = document.createElement('canvas'); c.width = 64; c.height = 64;
               const g = c.getContext('2d'); g.font = `48px ${font}`; g.fillText(ch, 4, 52);
               return Array.from(g.getImageData(0, 0, 64, 64).data);
             };
             const x = draw(a), y = draw(b);
             const ink = (d) => d.some((v, i) => i % 4 === 3 && v > 0);
             return ink(x) && ink(y) && x.some((v, i) => v !== y[i]);
           }""",
        [selector, a, b],
    )


_VISIBLE_TEXT = """(root) => {
  const out = [], walk = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  while (walk.nextNode()) {
    const node = walk.currentNode, el = node.parentElement;
    if (!node.textContent.trim() || !el || el.closest('script, style, [data-testid=stIconMaterial]')) continue;  // icons are ligatures
    if (el.getClientRects().length && getComputedStyle(el).visibility !== 'hidden') out.push(node.textContent.trim());
  }
  return out.join('\\n');
}"""


def shown_text(page: Page) -> str:
    """Every visible text node of the sidebar and main area, one per line (token chips stay apart), and of the
    components' iframes after their JavaScript ran."""
    parts = [page.locator(f"[data-testid={area}]").evaluate(_VISIBLE_TEXT) for area in ("stSidebar", "stMain")]
    for frame in page.frames[1:]:
        try:
            parts.append(frame.locator("body").evaluate(_VISIBLE_TEXT, timeout=5000))
        except PlaywrightError:  # a frame gone while reading
            continue
    return "\n".join(parts)


def english_left(page: Page, allow: list[str]) -> list[str]:
    """Each line of the shown text that still holds English words (tokens, model names and `allow` aside)."""
    words = {*ALLOWED, *(w.lower().strip(".,'") for a in allow for w in a.replace("##", "").split())}
    return [f"{line.strip()[:120]!r}: {found}" for line in shown_text(page).splitlines()
            if (found := english_words(line, words, [*ALLOWED_PHRASES, *(a for a in allow if " " in a)]))]


def check_chinese_page(page: Page, title: str, allow: list[str]) -> None:
    h1 = "[data-testid=stMain] h1"
    assert page.locator(h1).first.inner_text().strip() == title
    fonts = platform_fonts(page, h1)
    assert any(f.startswith(CJK_FONTS) for f in fonts), f"no CJK font drew the title: {fonts}"
    assert glyphs_differ(page, h1, "注", "意"), "CJK characters are drawn as identical boxes"
    left = english_left(page, allow)
    assert not left, "English on the Chinese page:\n" + "\n".join(left)
    assert not [u for u in page.blocked_requests if "_stcore" not in u]


def _tokens(model: str | None = None) -> list[str]:
    from explain import load_model
    from explain.models.catalog import DEFAULT_MODEL

    bundle = load_model(model or DEFAULT_MODEL)
    return [*bundle.tokenizer.tokenize(TEXT), *bundle.labels]


def test_attention_page_in_chinese_follows_the_browser_language(zh_page, app_url):
    page = open_zh(zh_page, app_url, "attention")
    allow = [TEXT, *_tokens()]
    check_chinese_page(page, "注意力", allow)
    shot(page, "zh-attention")
    for view in ("所有注意力头", "bertviz"):  # the views drawn by JavaScript in an iframe
        page.get_by_role("radio", name=view, exact=True).first.click()
        settle(page)
        page.wait_for_timeout(1500)  # the component's script draws after the frame loads
        left = english_left(page, allow)
        assert not left, f"English in the {view} view:\n" + "\n".join(left)
        frames = "\n".join(f.locator("body").evaluate(_VISIBLE_TEXT) for f in page.frames[1:])
        assert "层" in frames, "the iframe's text was not read"


def test_attributions_page_in_chinese(zh_page, app_url):
    page = open_zh(zh_page, app_url, "attributions", model=SENTIMENT)
    check_chinese_page(page, "归因", [TEXT, *_tokens(SENTIMENT), SENTIMENT])
    shot(page, "zh-attributions")
