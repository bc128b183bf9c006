"""bertviz's head view and model view as self-contained HTML that needs no network.

bertviz 1.4.1 (Vig, 2019, "A Multiscale Visualization of Attention in the Transformer Model")
returns HTML that loads require.js from a CDN and asks require.js for d3 and jQuery from a CDN.
Here the three libraries are inlined from assets/js/vendor/ (see its README for provenance and
licences) and bertviz's CDN configuration is removed, so nothing is fetched.

Weights are rounded to 3 decimals before bertviz writes them as JSON (the views draw them as line
opacities, which a screen shows in 1/255 steps): about 7 bytes per weight instead of ~44.
"""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from explain.attention.payload import _ranges, fit_budget, shown_attention, token_positions
from explain.errors import InputError
from explain.i18n import _, get_language
from explain.paths import ASSETS
from explain.run import ModelRun

VENDOR_DIR = ASSETS / "js" / "vendor"
VENDOR_FILES = ("jquery-2.2.4.min.js", "d3-5.7.0.min.js", "require-2.3.6.js")  # inlined in this order
# Measured in Chromium (2 cores): the model view draws one SVG line per weight, ~115k lines in 2.7 s;
# the head view one line per weight of the layer shown, 196k lines (12 heads x 128 tokens) in 4.2 s.
DEFAULT_MAX_WEIGHTS = {"head": 300_000, "model": 100_000}
VIEWS = ("head", "model")
DECIMALS = 3

_CDN_SCRIPT = re.compile(r'<script src="https?://[^"]*require[^"]*"></script>')
_REQUIRE_CONFIG = re.compile(r"require\.config\(\{.*?\n\}\);\n", re.DOTALL)
_URL = re.compile(r"(?i)\b(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}[^\s\"'<>)]*")
_PARAMS_LINE = "const params = "
_SCRIPT_OPEN = '\n<script type="text/javascript">\n'
_SCRIPT_CLOSE = "\n</script>\n"
_AMD_SHIM = (
    "define('jquery', [], function () { return window.jQuery; });\ndefine('d3', [], function () { return window.d3; });"
)


@dataclass(frozen=True)
class BertvizPage:
    """A bertviz view as one HTML document that works offline.

    Attributes:
        html: the whole document (<!DOCTYPE html> ...), scripts inlined.
        notice: what was left out to stay within the weight budget, None when nothing was.
        bytes: size of `html` in UTF-8.
        layers, heads: the model's layer and head numbers the page shows.
        num_weights: attention weights written into the page (sentence pairs ship each twice).
    """

    html: str
    notice: str | None
    bytes: int
    layers: tuple[int, ...] = ()
    heads: tuple[int, ...] = ()
    num_weights: int = 0


def bertviz_html(
    run: ModelRun,
    view: str,
    layers=None,
    heads=None,
    include_special: bool = True,
    *,
    max_weights: int | None = None,
    theme: str = "light",
) -> BertvizPage:
    """bertviz's head view or model view of `run`, as a self-contained offline page.

    Args:
        run: the forward pass; reads run.attentions (L, H, T, T), tokens, special, segment.
        view: "head" (lines between tokens, one layer at a time) or "model" (every head's lines as
            a grid of thumbnails).
        layers, heads: model layer / head numbers to ship (default all). The head view shows the
            chosen heads as colour boxes in order.
        include_special: False drops [CLS]/[SEP]-like tokens from both sides (weights not renormalised).
        max_weights: budget of weights written into the page (default 300k for the head view,
            100k for the model view, whose SVG has one line per weight: ~2-3 s to draw in
            Chromium); over it, layers (then heads) are dropped and `notice` says so.
        theme: "light" or "dark" page colours.

    Drawing is SVG, one line per weight drawn: in Chromium on 2 cores ~0.6 s at 18 tokens, ~2 s
    for the model view at its 100k default, ~5 s per layer for a 12-head head view at 128 tokens.
    For long texts prefer explain.attention.viewer.

    For a sentence pair bertviz adds its A->A, B->B, A->B, B->A filters (sentence_b_start is the
    first token of text B), which doubles the weights shipped.

    >>> page = bertviz_html(run, "head")
    >>> page.notice is None, "<script src=" in page.html  # everything inlined
    (True, False)
    """
    if view not in VIEWS:
        raise InputError(_("Unknown bertviz view '{view}': use 'head' or 'model'.").format(view=view))
    if theme not in ("light", "dark"):
        raise InputError(_("Unknown theme '{theme}': use 'light' or 'dark'.").format(theme=theme))
    _check_template(view)
    tv = token_positions(run, include_special)
    n_tok = len(tv.tokens)
    per_head = n_tok * n_tok * (2 if tv.sentence_b_start is not None else 1)
    budget = DEFAULT_MAX_WEIGHTS[view] if max_weights is None else int(max_weights)
    sel = fit_budget(run.num_layers, run.num_heads, per_head, budget, layers, heads)

    attn = shown_attention(run, tv)
    attn = np.round(attn[list(sel.layers)][:, list(sel.heads)].astype(np.float64), DECIMALS)
    body = _bertviz_body(view, attn, sel.layers, sel.heads, run.num_heads, list(tv.tokens), tv.sentence_b_start, theme)
    caption = _caption(view, run, tv, sel, include_special)
    page = _document(body, caption, theme)
    return BertvizPage(
        html=page,
        notice=sel.notice,
        bytes=len(page.encode("utf-8")),
        layers=sel.layers,
        heads=sel.heads,
        num_weights=len(sel.layers) * len(sel.heads) * per_head,
    )


def _bertviz_body(view, attn, layers, heads, total_heads, tokens, b_start, theme) -> str:
    """bertviz's returned HTML for attn (len(layers), len(heads), T, T), CDN parts removed."""
    import torch
    from bertviz import head_view, model_view

    # bertviz indexes its per-layer list by model layer number: fill only the shipped ones.
    per_layer: list = [None] * (max(layers) + 1)
    for i, layer in enumerate(layers):
        per_layer[layer] = torch.from_numpy(attn[i][None])
    if view == "head":
        out = head_view(per_layer, tokens, sentence_b_start=b_start, include_layers=list(layers), html_action="return")
    else:
        # model_view picks heads itself: give it all head slots, filled only where shipped.
        full = np.zeros((len(layers), total_heads) + attn.shape[2:])
        full[:, list(heads)] = attn
        for i, layer in enumerate(layers):
            per_layer[layer] = torch.from_numpy(full[i][None])
        out = model_view(
            per_layer,
            tokens,
            sentence_b_start=b_start,
            include_layers=list(layers),
            include_heads=list(heads),
            display_mode=theme,
            html_action="return",
        )
    return _translate_controls(_strip_network(out.data))


def _translate_controls(body: str) -> str:
    """bertviz's own labels (Layer, Attention and its sentence filters) in the current language."""
    body = body.replace("Layer: <select", _("Layer:") + " <select").replace("Attention: <select", _("Attention:") + " <select")
    body = body.replace('">All</option>', '">' + html_lib.escape(_("All")) + "</option>")
    for a, b in (("A", "A"), ("B", "B"), ("A", "B"), ("B", "A")):
        body = body.replace(f">Sentence {a} -> Sentence {b}<", ">" + html_lib.escape(
            _("Sentence {a} -> Sentence {b}").format(a=a, b=b)) + "<")
    return body


def _strip_network(raw: str) -> str:
    """Remove the require.js CDN tag and the require.config CDN paths; fail loudly if bertviz changed.

    Also escapes '</' inside bertviz's script, so no token text can close the <script> element early.
    """
    text, n_tag = _CDN_SCRIPT.subn("", raw)
    text, n_cfg = _REQUIRE_CONFIG.subn("", text)
    head, sep, script = text.partition(_SCRIPT_OPEN)
    if n_tag != 1 or n_cfg != 1 or not sep or not script.endswith(_SCRIPT_CLOSE):
        raise RuntimeError(
            "bertviz's HTML no longer has the shape explain/bertviz_offline.py expects "
            f"(CDN script tag found {n_tag}x, require.config {n_cfg}x): pin bertviz==1.4.1 or update this module."
        )
    script = _drop_params_copy(script[: -len(_SCRIPT_CLOSE)])
    script = script.replace("</", "<\\/").replace("<!--", "<\\!--")
    # Comments naming where bertviz's code came from stay, minus the scheme.
    script = re.sub(r"(?m)^(\s*\*.*?)https?://", r"\1", script)
    return head + sep + script + _SCRIPT_CLOSE


def _drop_params_copy(script: str) -> str:
    """bertviz substitutes its data for PYTHON_PARAMS in the code and in the comment beside it; keep one."""
    line_start = script.find(_PARAMS_LINE)
    line_end = script.find("\n", line_start)
    if line_start < 0 or line_end < 0:
        return script
    line = script[line_start:line_end]
    code, sep, comment = line.partition("; // HACK: ")
    data = code[len(_PARAMS_LINE) :]
    if sep and comment.startswith(data):
        line = code + ";"
    return script[:line_start] + line + script[line_end:]


@lru_cache(maxsize=2)
def _check_template(view: str) -> None:
    """Build a 1-layer, 1-head, 2-token page and fail if any network reference is left in it."""
    body = _bertviz_body(view, np.full((1, 1, 2, 2), 0.5), (0,), (0,), 1, ["a", "b"], None, "light")
    left = _URL.findall(body)
    if left or "cdn" in body.lower():
        raise RuntimeError(f"bertviz's {view} view still refers to the network after cleaning: {left[:3]}.")


@lru_cache(maxsize=1)
def _vendor_scripts() -> str:
    """jQuery, d3, require.js, then the AMD names bertviz asks for, as inline <script> tags."""
    parts = []
    for name in VENDOR_FILES:
        path = VENDOR_DIR / name
        try:
            code = path.read_text(encoding="utf-8")
        except OSError:
            raise RuntimeError(f"{path} is missing: restore assets/js/vendor/ (its README says how).") from None
        if "</script" in code.lower():
            raise RuntimeError(f"{name} contains '</script' and cannot be inlined.")
        parts.append(f"<script>\n{code}\n</script>")
    parts.append(f"<script>\n{_AMD_SHIM}\n</script>")
    return "\n".join(parts)


def _caption(view, run, tv, sel, include_special) -> str:
    what = (
        _("Head view: lines join each token (left) to the tokens it attends to (right)")
        if view == "head"
        else _("Model view: one thumbnail per head, rows are layers")
    )
    bits = [what, _("layers {layers}").format(layers=_ranges(sel.layers)),
            _("heads {heads}").format(heads=_ranges(sel.heads)), _("{n} tokens").format(n=len(tv.tokens))]
    if view == "head" and sel.heads != tuple(range(run.num_heads)):
        bits.append(_("colour boxes are heads {heads} in order").format(heads=", ".join(map(str, sel.heads))))
    if not include_special:
        bits.append(_("special tokens hidden (weights not renormalised)"))
    return " · ".join(bits)


def _document(body: str, caption: str, theme: str) -> str:
    fg, bg = ("#1f2430", "#ffffff") if theme == "light" else ("#dddddd", "#0e1117")
    lang = "zh-CN" if get_language() == "zh" else "en"
    return f"""<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>bertviz (offline)</title>
<style>
  html, body {{ margin: 0; background: {bg}; color: {fg}; }}
  body {{ padding: 8px; font: 14px/1.4 'Helvetica Neue', Helvetica, Arial, sans-serif; }}
  .bl-caption {{ font-size: 13px; opacity: 0.8; margin: 0 0 6px; }}
  svg text {{ fill: {fg}; }}
  select {{ font-size: 14px; }}
</style>
</head><body>
<p class="bl-caption">{html_lib.escape(caption)}</p>
{_vendor_scripts()}
{body}
</body></html>
"""
