"""Offline attention pages: bertviz with inlined libraries, and the light uint8 canvas viewer."""

from __future__ import annotations

import hashlib
import json
import re
import time

import numpy as np
import pytest

from explain import InputError, run_model
from explain.attention.bertviz_offline import VENDOR_DIR, VENDOR_FILES, bertviz_html
from explain.attention.payload import MAX_ERROR, decode_attention, encode_attention, fit_budget
from explain.attention.viewer import attention_viewer_html
from explain.run import ModelRun
from tests.helpers import random_run

URL = re.compile(r"(?i)https?://[^\s\"'<>)\\]+")
FETCHING = re.compile(r"(?i)(?:\bsrc\s*=|\bhref\s*=|@import|url\()\s*[\"']?\s*(?:https?:)?//")
# URLs inside the vendored libraries: XML namespaces d3 and require.js need, licence headers, comments
# and error-message links. None is fetched (the browser test blocks and counts requests).
VENDOR_URLS = {
    "http://www.w3.org/1999/xhtml",
    "http://www.w3.org/1999/xlink",
    "http://www.w3.org/2000/svg",
    "http://www.w3.org/2000/xmlns/",
    "http://www.w3.org/XML/1998/namespace",
    "https://d3js.org",
    "http://dev.jquery.com/ticket/2709",
    "https://github.com/requirejs/requirejs/blob/master/LICENSE",
    "https://github.com/requirejs/requirejs/issues/187",
    "https://github.com/requirejs/requirejs/issues/273",
    "https://requirejs.org/docs/errors.html#",
    "https://webkit.org/b/153317",
    "https://connect.microsoft.com/IE/feedback/details/648057/script-onload-event-is-not-fired-immediately-after-script-execution",
}
VENDOR_SHA256 = {
    "jquery-2.2.4.min.js": "05b85d96f41fff14d8f608dad03ab71e2c1017c2da0914d7c59291bad7a54f8e",
    "d3-5.7.0.min.js": "bdad5585ef9a965ff25458738309b006058c55f2c78d794d25fbecae35014609",
    "require-2.3.6.js": "9485f0917f97fcf4f63a5ea365200ffd57f123f451382a2f9a1ad2e2fd51ac9b",
}


def viewer_payload(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="bl-attn-data">(.*?)</script>', html, re.DOTALL)
    return json.loads(m.group(1))


def bertviz_params(html: str) -> dict:
    m = re.search(r"const params = (.*);\n", html)
    return json.loads(m.group(1).replace("<\\/", "</"))


def outside_vendor(html: str) -> str:
    for name in VENDOR_FILES:
        html = html.replace((VENDOR_DIR / name).read_text(encoding="utf-8"), "")
    return html


# ---- payload ---------------------------------------------------------------------------------------


def test_round_trip_error_is_at_most_half_a_step():
    run = random_run(3, 4, 33, seed=1)
    attn = np.array(run.attentions)
    attn[0, 0, 0, :3] = [0.0, 1.0, 0.5 / 255]  # ends and an exact half step
    payload = encode_attention(attn, run.tokens)
    back = decode_attention(payload)
    assert back.shape == attn.shape and back.dtype == np.float32
    assert np.abs(back - attn).max() <= MAX_ERROR + 1e-7
    assert MAX_ERROR == pytest.approx(1 / 510)
    assert back[0, 0, 0, 1] == 1.0 and back[0, 0, 0, 0] == 0.0


def test_payload_is_json_with_one_base64_string_per_head():
    run = random_run(2, 3, 5)
    payload = json.loads(json.dumps(encode_attention(run.attentions, run.tokens, layers=[4, 7], heads=[0, 2, 9])))
    assert payload["shape"] == [2, 3, 5, 5] and payload["layers"] == [4, 7] and payload["heads"] == [0, 2, 9]
    assert len(payload["data"]) == 2 and all(len(row) == 3 for row in payload["data"])
    assert len(payload["data"][0][0]) == 36  # 25 bytes -> 36 base64 characters
    np.testing.assert_allclose(decode_attention(payload), run.attentions, atol=MAX_ERROR + 1e-7)


@pytest.mark.parametrize(
    "attn, match",
    [
        (np.ones((2, 2, 3)), "layers, heads"),
        (np.full((1, 1, 2, 2), 1.5), r"\[0, 1\]"),
        (np.full((1, 1, 2, 2), np.nan), "NaN"),
    ],
)
def test_encode_refuses_what_is_not_attention(attn, match):
    with pytest.raises(InputError, match=match):
        encode_attention(attn, ["a", "b", "c"][: attn.shape[-1]])


def test_viewer_bytes_per_weight_at_12_layers_12_heads_256_tokens():
    run = random_run(12, 12, 256)
    start = time.perf_counter()
    page = attention_viewer_html(run)
    build_s = time.perf_counter() - start
    weights = 12 * 12 * 256 * 256
    assert page.notice is None and page.num_weights == weights
    assert page.bytes == len(page.html.encode("utf-8"))
    per_weight = page.bytes / weights
    print(
        f"\nlight viewer 12x12x256: {page.bytes / 1e6:.2f} MB, {per_weight:.3f} bytes/weight, built in {build_s:.2f} s"
    )
    assert per_weight <= 2.0
    np.testing.assert_allclose(decode_attention(viewer_payload(page.html)), run.attentions, atol=MAX_ERROR + 1e-7)


# ---- light viewer ------------------------------------------------------------------------------------


def test_viewer_page_is_offline_and_carries_the_run(tiny_mlm):
    run = run_model(tiny_mlm, "The river bank was flooded.", "Nobody could cross.")
    page = attention_viewer_html(run, layer=1, head=2)
    assert not URL.search(page.html) and not FETCHING.search(page.html) and "cdn" not in page.html.lower()
    payload = viewer_payload(page.html)
    assert payload["tokens"] == list(run.tokens)
    assert payload["initial"] == {"layer": 1, "head": 2}
    assert payload["sentence_b_start"] == int(np.flatnonzero(run.segment == 1)[0])
    np.testing.assert_allclose(decode_attention(payload), run.attentions, atol=MAX_ERROR + 1e-7)


def test_viewer_hides_special_tokens_and_renormalises_rows(tiny_mlm):
    run = run_model(tiny_mlm, "Hidden specials leave words only.")
    words = [t for t, s in zip(run.tokens, run.special) if not s]
    raw = decode_attention(viewer_payload(attention_viewer_html(run, hide_special=True).html))
    renorm_page = attention_viewer_html(run, hide_special=True, renormalize=True)
    renorm = decode_attention(viewer_payload(renorm_page.html))
    assert viewer_payload(renorm_page.html)["tokens"] == words
    keep = np.flatnonzero(~run.special)
    expected_raw = run.attentions[:, :, keep][:, :, :, keep]
    np.testing.assert_allclose(raw, expected_raw, atol=MAX_ERROR + 1e-7)
    assert (raw.sum(-1) < 0.999).any()  # specials took some weight
    np.testing.assert_allclose(renorm.sum(-1), 1.0, atol=len(words) * MAX_ERROR + 1e-6)
    assert "renormalised" in renorm_page.notice


def test_viewer_budget_keeps_the_chosen_head_and_says_what_is_left_out():
    run = random_run(6, 4, 20)
    page = attention_viewer_html(run, layer=3, head=1, max_weights_per_page=2 * 4 * 400)
    assert page.layers == (0, 3) and page.heads == (0, 1, 2, 3) and page.num_weights == 3200
    assert "layers 0, 3" in page.notice and "budget" in page.notice
    payload = viewer_payload(page.html)
    assert payload["layers"] == [0, 3] and payload["initial"] == {"layer": 1, "head": 1}
    np.testing.assert_allclose(decode_attention(payload), run.attentions[[0, 3]], atol=MAX_ERROR + 1e-7)


def test_token_text_cannot_break_out_of_the_script():
    run = random_run(1, 1, 4)
    run = ModelRun(**{**run.__dict__, "tokens": ("[CLS]", "</script><b>x", "<!--", "[SEP]")})
    html = attention_viewer_html(run).html
    assert html.count("</script>") == 2  # the data element and the viewer's own script
    assert viewer_payload(html)["tokens"][1] == "</script><b>x"


def test_viewer_refuses_a_head_the_model_lacks():
    with pytest.raises(InputError, match="heads 0 to 3"):
        attention_viewer_html(random_run(2, 4, 6), head=4)


# ---- bertviz offline -----------------------------------------------------------------------------------


def test_vendored_libraries_are_the_recorded_files():
    for name, digest in VENDOR_SHA256.items():
        assert hashlib.sha256((VENDOR_DIR / name).read_bytes()).hexdigest() == digest, name
        assert digest in (VENDOR_DIR / "README.md").read_text()
    for licence in ("LICENSE-jquery.txt", "LICENSE-d3.txt", "LICENSE-requirejs.txt"):
        assert (VENDOR_DIR / licence).stat().st_size > 500


@pytest.mark.parametrize("view", ["head", "model"])
def test_bertviz_page_references_no_network(tiny_mlm, view):
    run = run_model(tiny_mlm, "The bank raised rates.", "Savers cheered.")
    page = bertviz_html(run, view)
    html = page.html
    assert html.startswith("<!DOCTYPE html>") and page.notice is None
    assert "<script src" not in html and not FETCHING.search(html)
    own = outside_vendor(html)
    assert not URL.search(own), URL.findall(own)[:3]
    assert "cdn" not in own.lower() and "require.config" not in own
    assert set(URL.findall(html)) <= VENDOR_URLS
    # libraries first (no AMD define yet), then require.js, then the names bertviz asks for
    order = [
        html.index("jQuery v2.2.4"),
        html.index("d3js.org v5.7.0"),
        html.index("RequireJS 2.3.6"),
        html.index("define('d3'"),
    ]
    assert order == sorted(order) and order[-1] < html.index("requirejs(['jquery', 'd3']")


@pytest.mark.parametrize("view", ["head", "model"])
def test_bertviz_pair_filters_and_rounded_weights(tiny_mlm, view):
    run = run_model(tiny_mlm, "The bank raised rates.", "Savers cheered.")
    params = bertviz_params(bertviz_html(run, view).html)
    names = [d["name"] for d in params["attention"]]
    assert names == [
        "All",
        "Sentence A -> Sentence A",
        "Sentence B -> Sentence B",
        "Sentence A -> Sentence B",
        "Sentence B -> Sentence A",
    ]
    b = int(np.flatnonzero(run.segment == 1)[0])
    assert params["attention"][1]["left_text"] == list(run.tokens[:b])
    assert params["attention"][2]["right_text"] == list(run.tokens[b:])
    shipped = np.array(params["attention"][0]["attn"])
    assert shipped.shape == run.attentions.shape
    np.testing.assert_allclose(shipped, run.attentions, atol=5e-4 + 1e-7)


def test_bertviz_without_special_tokens(tiny_mlm):
    run = run_model(tiny_mlm, "Only words here.")
    params = bertviz_params(bertviz_html(run, "head", include_special=False).html)
    assert params["attention"][0]["left_text"] == [t for t, s in zip(run.tokens, run.special) if not s]


def test_bertviz_cap_restricts_layers_and_says_so(tiny_mlm):
    run = run_model(tiny_mlm, "word " * 40)  # 42 tokens, 2 layers x 4 heads
    per_head = run.num_tokens**2
    page = bertviz_html(run, "model", max_weights=5 * per_head)
    assert page.layers == (0,) and page.num_weights <= 5 * per_head
    assert page.notice and "budget" in page.notice and "layers 0" in page.notice
    params = bertviz_params(page.html)
    assert params["include_layers"] == [0] and np.array(params["attention"][0]["attn"]).shape == (1, 4, 42, 42)
    full = bertviz_html(run, "model", max_weights=8 * per_head)
    assert full.notice is None and full.layers == (0, 1)
    assert full.bytes - page.bytes > 5 * (full.num_weights - page.num_weights)  # ~6-7 bytes per weight dropped


def test_bertviz_head_view_drops_heads_only_when_one_layer_is_too_big(tiny_mlm):
    run = run_model(tiny_mlm, "word " * 40)
    page = bertviz_html(run, "head", max_weights=3 * run.num_tokens**2)
    assert page.layers == (0,) and len(page.heads) == 3
    assert "colour boxes are heads" in page.html


def test_bertviz_refuses_unknown_view(tiny_mlm):
    with pytest.raises(InputError, match="'head' or 'model'"):
        bertviz_html(run_model(tiny_mlm, "Hello."), "neuron")


def test_fit_budget_spreads_layers_and_keeps_the_asked_one():
    sel = fit_budget(12, 12, 100, 12 * 100 * 4, keep_layer=5)
    assert len(sel.layers) == 4 and 5 in sel.layers and sel.layers[0] == 0 and sel.heads == tuple(range(12))
    assert fit_budget(12, 12, 100, 10**9).notice is None
    with pytest.raises(InputError, match="shorten the text"):
        fit_budget(2, 2, 1000, 999)
