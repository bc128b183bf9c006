"""A light attention viewer: one self-contained HTML page drawing every head on <canvas>.

The page holds the weights as uint8 base64 (explain.attention.payload, ~1.34 bytes per weight, so
12 layers x 12 heads x 256 tokens is ~12.6 MB where bertviz's JSON would be 70+ MB) and
assets/js/attention_viewer.js inlined: (1) a grid of every head's (query, key) map, (2) the
selected head large with token labels and a hover tooltip, (3) optionally bertviz-style lines.
No network, no libraries; made to be embedded with `st.iframe(page.html)` (height "content").
"""

from __future__ import annotations

import html as html_lib
import json
from dataclasses import dataclass
from functools import lru_cache
from numbers import Integral

from explain.attention.payload import encode_attention, fit_budget, shown_attention, token_positions
from explain.errors import InputError
from explain.i18n import _, get_language
from explain.paths import ASSETS
from explain.run import ModelRun

VIEWER_JS = ASSETS / "js" / "attention_viewer.js"
DEFAULT_MAX_WEIGHTS = 10_000_000  # fits 12 x 12 heads at 256 tokens (9.4 M); about 13 MB of page
THEMES = ("auto", "light", "dark")


@dataclass(frozen=True)
class ViewerPage:
    """The viewer as one HTML document.

    Attributes:
        html: the whole document, script and data inlined.
        bytes: size of `html` in UTF-8.
        notice: what was left out (budget) or changed (hidden tokens, renormalised rows), else None.
        layers, heads: the model's layer and head numbers the page shows.
        num_weights: attention weights in the page (layers * heads * T * T).
    """

    html: str
    bytes: int
    notice: str | None
    layers: tuple[int, ...] = ()
    heads: tuple[int, ...] = ()
    num_weights: int = 0


def attention_viewer_html(
    run: ModelRun,
    layer: int | None = None,
    head: int | None = None,
    hide_special: bool = False,
    renormalize: bool = False,
    max_weights_per_page: int = DEFAULT_MAX_WEIGHTS,
    *,
    layers=None,
    heads=None,
    theme: str = "auto",
) -> ViewerPage:
    """The whole-model attention viewer for `run` as a self-contained page.

    Args:
        run: the forward pass; reads run.attentions (L, H, T, T), tokens, special, segment.
        layer, head: the head shown large at first (model numbers; default the first shown).
        hide_special: drop [CLS]/[SEP]-like tokens from both axes.
        renormalize: with hide_special, rescale each query row to sum to 1 over the shown keys.
        max_weights_per_page: budget of weights in the page; over it, layers (then heads) are
            dropped, `layer`/`head` kept, and `notice` says so.
        layers, heads: restrict the page to these model layer / head numbers.
        theme: "auto" (follow the embedding page, else the OS), "light" or "dark".

    >>> page = attention_viewer_html(run, layer=2, head=5)
    >>> page.bytes / page.num_weights < 2
    True
    """
    if theme not in THEMES:
        raise InputError(_("Unknown theme '{theme}': use one of {themes}.").format(theme=theme, themes=", ".join(THEMES)))
    for value, message, n in ((layer, _("This model has layers 0 to {last}; {value} is out of range."), run.num_layers),
                              (head, _("This model has heads 0 to {last}; {value} is out of range."), run.num_heads)):
        if value is not None and not (isinstance(value, Integral) and not isinstance(value, bool) and 0 <= value < n):
            raise InputError(message.format(last=n - 1, value=repr(value)))
    layer = None if layer is None else int(layer)
    head = None if head is None else int(head)
    tv = token_positions(run, include_special=not hide_special)
    n_tok = len(tv.tokens)
    sel = fit_budget(
        run.num_layers,
        run.num_heads,
        n_tok * n_tok,
        int(max_weights_per_page),
        layers,
        heads,
        keep_layer=layer,
        keep_head=head,
    )
    if layer is not None and layer not in sel.layers:
        raise InputError(_("Layer {layer} is not among the layers chosen to show ({shown}).").format(
            layer=layer, shown=list(sel.layers)))
    if head is not None and head not in sel.heads:
        raise InputError(_("Head {head} is not among the heads chosen to show ({shown}).").format(
            head=head, shown=list(sel.heads)))

    attn = shown_attention(run, tv, renormalize=renormalize and hide_special)
    attn = attn[list(sel.layers)][:, list(sel.heads)]
    payload = encode_attention(attn, tv.tokens, layers=sel.layers, heads=sel.heads)
    notes = _notes(run, hide_special, renormalize)
    payload.update(
        special=[bool(s) for s in tv.special],
        sentence_b_start=tv.sentence_b_start,
        initial={
            "layer": sel.layers.index(layer) if layer is not None else 0,
            "head": sel.heads.index(head) if head is not None else 0,
        },
        theme=theme,
        text=_script_text(),
    )
    page = _document(payload, run, notes)
    notice = " ".join(x for x in (sel.notice, *notes) if x) or None
    return ViewerPage(
        html=page,
        bytes=len(page.encode("utf-8")),
        notice=notice,
        layers=sel.layers,
        heads=sel.heads,
        num_weights=len(sel.layers) * len(sel.heads) * n_tok * n_tok,
    )


def _notes(run: ModelRun, hide_special: bool, renormalize: bool) -> list[str]:
    notes = []
    if hide_special and renormalize:
        notes.append(_("Special tokens hidden; each row renormalised to sum to 1 over the tokens shown."))
    elif hide_special:
        notes.append(_("Special tokens hidden; rows keep their original weights, so they sum to less than 1."))
    if run.truncated_from:
        notes.append(_("The text was cut to {n} of its {total} tokens.").format(n=run.num_tokens, total=run.truncated_from))
    return notes


def _script_text() -> dict[str, str]:
    """What assets/js/attention_viewer.js writes, in the current language ({name} fields filled in by the script)."""
    return {
        "layer_head": _("Layer {layer} · head {head}"),
        "click": _("click to show it large"),
        "axes": _("query ↓  key →"),
        "query": _("query: {token}"),
        "key": _("key: {token}"),
        "weight": _("weight: {value}"),
        "lines_note": _("Showing the {kept} strongest of {total} lines (weight ≥ {min})."),
    }


@lru_cache(maxsize=1)
def _viewer_js() -> str:
    try:
        code = VIEWER_JS.read_text(encoding="utf-8")
    except OSError:
        raise RuntimeError(f"{VIEWER_JS} is missing: the attention viewer cannot be built.") from None
    if "</script" in code.lower():
        raise RuntimeError("attention_viewer.js contains '</script' and cannot be inlined.")
    return code


def _json_for_script(obj) -> str:
    """JSON that is safe inside <script>: no '<', '>' or '&' can end the element early."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _document(payload: dict, run: ModelRun, notes: list[str]) -> str:
    n_layers, n_heads, n_tok = payload["shape"][:3]
    caption = _("{model} · {layers} layers × {heads} heads · {n} tokens").format(
        model=_(run.model_name), layers=n_layers, heads=n_heads, n=n_tok)
    if notes:
        caption += " · " + " ".join(notes)
    t = {k: html_lib.escape(v) for k, v in {
        "title": _("Attention: every head"),
        "layer": _("Layer"), "head": _("Head"), "colour": _("Colour"), "colour_scale": _("colour scale"),
        "linear": _("linear"), "sqrt": _("square root (more contrast)"), "lines_view": _("lines view"),
        "legend": _("attention weight"), "grid": _("Every head (rows: layers, columns: heads; click one)"),
        "grid_label": _("attention maps of every head"), "selected": _("Selected head"),
        "map_label": _("attention map of the selected head"), "lines": _("Lines (hover a token on the left)"),
        "lines_label": _("attention lines of the selected head"),
    }.items()}
    lang = "zh-CN" if get_language() == "zh" else "en"
    return f"""<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{t["title"]}</title>
<style>
  html, body {{ margin: 0; padding: 0; background: transparent; }}
  .bl {{
    --fg: #1f2430; --muted: #8a8f98; --frame: #c4c8cf; --accent: #e8590c; --band: rgba(232, 89, 12, 0.18);
    --line: 8, 81, 156; --tip-bg: #ffffff; --tip-fg: #1f2430; --ctl-bg: #ffffff;
    position: relative; color: var(--fg); padding: 4px 2px 12px;
    font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  }}
  .bl.bl-dark {{
    --fg: #e6e8eb; --muted: #8e949c; --frame: #4a4f57; --accent: #ff922b; --band: rgba(255, 146, 43, 0.25);
    --line: 158, 202, 225; --tip-bg: #262a31; --tip-fg: #e6e8eb; --ctl-bg: #1b1e24;
  }}
  .bl-bar {{ display: flex; flex-wrap: wrap; gap: 6px 16px; align-items: center; margin-bottom: 4px; }}
  .bl-bar label {{ display: inline-flex; gap: 6px; align-items: center; }}
  .bl select {{ font: inherit; color: var(--fg); background: var(--ctl-bg); border: 1px solid var(--frame); border-radius: 4px; padding: 1px 4px; }}
  .bl-legend {{ display: inline-flex; gap: 6px; align-items: center; font-size: 12px; color: var(--muted); }}
  .bl-caption {{ font-size: 12px; color: var(--muted); margin: 0 0 8px; }}
  .bl h3 {{ font-size: 15px; font-weight: 600; margin: 14px 0 6px; }}
  .bl-views {{ display: flex; flex-wrap: wrap; gap: 8px 28px; align-items: flex-start; }}
  .bl-mapwrap {{ position: relative; line-height: 0; }}
  .bl-mapwrap canvas {{ display: block; }}
  #bl-map-over {{ position: absolute; left: 0; top: 0; cursor: crosshair; }}
  canvas {{ display: block; }}
  .bl-tip {{
    position: absolute; z-index: 10; pointer-events: none; max-width: 320px; padding: 6px 9px;
    background: var(--tip-bg); color: var(--tip-fg); border: 1px solid var(--frame); border-radius: 6px;
    box-shadow: 0 2px 8px rgba(0, 0, 0, 0.25); font-size: 13px; line-height: 1.35; white-space: nowrap;
  }}
  .bl-tip-head {{ font-weight: 600; }}
</style>
</head><body>
<div id="bl-root" class="bl">
  <div class="bl-bar">
    <label>{t["layer"]} <select id="bl-layer" aria-label="{t["layer"]}"></select></label>
    <label>{t["head"]} <select id="bl-head" aria-label="{t["head"]}"></select></label>
    <label>{t["colour"]} <select id="bl-scale" aria-label="{t["colour_scale"]}">
      <option value="linear">{t["linear"]}</option><option value="sqrt">{t["sqrt"]}</option></select></label>
    <label><input type="checkbox" id="bl-lines"> {t["lines_view"]}</label>
    <span class="bl-legend">0 <canvas id="bl-legend"></canvas> 1 {t["legend"]}</span>
  </div>
  <p class="bl-caption">{html_lib.escape(caption)}</p>
  <h3>{t["grid"]}</h3>
  <canvas id="bl-grid" role="img" aria-label="{t["grid_label"]}"></canvas>
  <div class="bl-views">
    <div>
      <h3 id="bl-title">{t["selected"]}</h3>
      <div class="bl-mapwrap"><canvas id="bl-map" role="img" aria-label="{t["map_label"]}"></canvas><canvas id="bl-map-over"></canvas></div>
    </div>
    <div id="bl-lines-box">
      <h3>{t["lines"]}</h3>
      <p class="bl-caption" id="bl-lines-note"></p>
      <canvas id="bl-linescv" role="img" aria-label="{t["lines_label"]}"></canvas>
    </div>
  </div>
  <div id="bl-tip" class="bl-tip" hidden></div>
</div>
<script type="application/json" id="bl-attn-data">{_json_for_script(payload)}</script>
<script>
{_viewer_js()}
</script>
</body></html>
"""
