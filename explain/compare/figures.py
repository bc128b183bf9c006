"""Plotly figures of a model comparison, shared by the Compare page and the CLI's HTML report.

Data in, figure out; plotly is imported inside the functions (this module is imported by the CLI
before any figure is needed). Styled like app/charts.py: large fonts, white background.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from explain.figure_style import apply_layout as _layout
from explain.figure_style import unique_labels
from explain.i18n import _

A_COLOUR, B_COLOUR = "#1f77b4", "#ff7f0e"


def hidden_state_labels(n: int) -> list[str]:
    """Tick labels of hidden states 0..n-1: the embeddings, then the output of each layer."""
    return [_("embeddings")] + [_("layer {k}").format(k=k) for k in range(n - 1)]


def js_grid(js: np.ndarray, *, title: str | None = None, selected: tuple[int, int] | None = None):
    """A clickable layer x head grid of Jensen-Shannon divergences (L, H), bits in [0, 1].

    Drawn as a scatter of squares (plotly heatmaps do not report clicks as selections): a clicked
    point's x is the head and y the layer (Streamlit hands customdata back as a dict {"0": layer,
    "1": head}, not a list). The colour scale starts at 0, so unchanged heads are white.
    """
    import plotly.graph_objects as go

    L, H = js.shape
    layers, heads = np.meshgrid(np.arange(L), np.arange(H), indexing="ij")
    size = max(14, min(40, int(560 / max(H, L))))
    top = float(np.nanmax(js)) if np.isfinite(js).any() else 0.0
    fig = go.Figure(
        go.Scatter(
            x=heads.ravel(),
            y=layers.ravel(),
            mode="markers",
            marker={
                "symbol": "square",
                "size": size,
                "color": np.asarray(js, dtype=np.float64).ravel(),
                "colorscale": "Blues",
                "cmin": 0.0,
                "cmax": max(top, 1e-6),
                "showscale": True,
                "colorbar": {"thickness": 14, "title": {"text": _("JS (bits)"), "side": "right"}},
                "line": {"width": 1, "color": "#d0d0d0"},
            },
            customdata=np.stack([layers.ravel(), heads.ravel()], axis=1),
            hovertemplate=_("layer %{y}, head %{x}<br>JS divergence: %{marker.color:.4f} bits") + "<extra></extra>",
        )
    )
    if selected is not None:
        fig.add_trace(go.Scatter(x=[selected[1]], y=[selected[0]], mode="markers", hoverinfo="skip",
                                 marker={"symbol": "square-open", "size": size + 6, "color": "#d62728", "line": {"width": 3}}))
    fig.update_xaxes(title=_("head"), dtick=1, range=[-0.6, H - 0.4], showgrid=False, zeroline=False)
    fig.update_yaxes(title=_("layer"), dtick=1, range=[L - 0.4, -0.6], showgrid=False, zeroline=False)
    return _layout(fig, title, int(size * 1.25 * L + 150), showlegend=False, clickmode="event+select", dragmode=False)


def _token_axes(fig, n: int, cols: int) -> None:
    size = 11 if n > 30 else 13
    for col in range(1, cols + 1):
        anchor = "x" if col == 1 else f"x{col}"
        fig.update_yaxes(autorange="reversed", type="category", tickfont={"size": size}, showticklabels=col == 1,
                         scaleanchor=anchor, constrain="domain", row=1, col=col)
        fig.update_xaxes(type="category", tickangle=-60, tickfont={"size": size}, constrain="domain", row=1, col=col)


def attention_maps(att_a: np.ndarray, att_b: np.ndarray, tokens: Sequence[str], *, name_a: str, name_b: str,
                   title: str | None = None):
    """One head in A and in B side by side, on one shared colour scale (0 to the larger maximum).

    att_a, att_b: (T, T) attention weights, rows = query tokens, columns = key tokens.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    labels = unique_labels(tokens)
    top = float(max(np.max(att_a), np.max(att_b))) or 1.0
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.06,
                        subplot_titles=(_("A: {name}").format(name=_short(name_a, 48)),
                                        _("B: {name}").format(name=_short(name_b, 48))))
    hover = _("query: %{y}<br>key: %{x}<br>weight: %{z:.3f}") + "<extra></extra>"
    for col, z in ((1, att_a), (2, att_b)):
        fig.add_trace(go.Heatmap(z=np.asarray(z, dtype=np.float32), x=labels, y=labels, coloraxis="coloraxis",
                                 hovertemplate=hover), row=1, col=col)
    fig.update_layout(coloraxis={"colorscale": "Blues", "cmin": 0.0, "cmax": top,
                                     "colorbar": {"thickness": 14, "title": {"text": _("weight"), "side": "right"}}})
    _token_axes(fig, len(tokens), 2)
    return _layout(fig, title, int(min(820, max(440, 16 * len(tokens) + 240))))


def difference_map(att_a: np.ndarray, att_b: np.ndarray, tokens: Sequence[str], *, title: str | None = None):
    """A's attention minus B's for one head, (T, T), on a diverging scale centred on 0 (rows sum to 0)."""
    import plotly.graph_objects as go

    labels = unique_labels(tokens)
    diff = np.asarray(att_a, dtype=np.float32) - np.asarray(att_b, dtype=np.float32)
    bound = float(np.max(np.abs(diff))) or 1e-6
    fig = go.Figure(go.Heatmap(
        z=diff, x=labels, y=labels, colorscale="RdBu_r", zmin=-bound, zmid=0.0, zmax=bound,
        colorbar={"thickness": 14, "title": {"text": _("A − B"), "side": "right"}},
        hovertemplate=_("query: %{y}<br>key: %{x}<br>A − B: %{z:+.3f}") + "<extra></extra>",
    ))
    size = 11 if len(tokens) > 30 else 13
    fig.update_yaxes(autorange="reversed", type="category", tickfont={"size": size}, scaleanchor="x",
                     constrain="domain")
    fig.update_xaxes(type="category", tickangle=-60, tickfont={"size": size}, constrain="domain")
    return _layout(fig, title, int(min(760, max(420, 16 * len(tokens) + 200))))


def query_js_bars(tokens: Sequence[str], js: np.ndarray, *, title: str | None = None):
    """For one head, the JS divergence (bits) of each query token's attention row in A vs B, (T,)."""
    import plotly.graph_objects as go

    fig = go.Figure(go.Bar(y=unique_labels(tokens), x=np.asarray(js, dtype=np.float64), orientation="h",
                           marker_color=A_COLOUR, hovertemplate="%{y}: %{x:.4f}<extra></extra>"))
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(title=_("JS divergence of the row (bits)"), rangemode="tozero")
    return _layout(fig, title, int(min(760, max(420, 16 * len(tokens) + 200))))


def _short(name: str, limit: int = 34) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


def layer_curves(cka: np.ndarray | None, cosine: np.ndarray | None, *, title: str | None = None):
    """Per hidden state (embeddings, then each layer's output): linear CKA and mean cosine of A vs B.

    cka: (L + 1,), needs equal depths; cosine: (L + 1,) or None (different widths).
    """
    import plotly.graph_objects as go

    x = hidden_state_labels(len(cka))
    fig = go.Figure()
    for values, name, dash in ((cka, _("linear CKA"), "solid"), (cosine, _("mean cosine per token"), "dot")):
        if values is not None:
            fig.add_trace(go.Scatter(x=x, y=np.asarray(values, dtype=np.float64), name=name, mode="lines+markers",
                                     line={"dash": dash, "width": 3}, marker={"size": 9},
                                     hovertemplate="%{x}: %{y:.4f}<extra>" + name + "</extra>"))
    low = min(float(np.nanmin(v)) for v in (cka, cosine) if v is not None)
    fig.update_yaxes(title=_("similarity of A and B (1 = same)"), range=[min(0.0, low - 0.05), 1.05])
    fig.update_xaxes(title=_("hidden state: the output of"), type="category")
    return _layout(fig, title, 380)


def token_cosine(cosine: np.ndarray, tokens: Sequence[str], *, title: str | None = None):
    """Cosine of each token's hidden state in A and B, (L + 1, T): rows hidden states, columns tokens."""
    import plotly.graph_objects as go

    fig = go.Figure(go.Heatmap(
        z=np.asarray(cosine, dtype=np.float32), x=unique_labels(tokens), y=hidden_state_labels(cosine.shape[0]),
        colorscale="RdBu", zmin=-1.0, zmax=1.0, colorbar={"thickness": 12, "title": {"text": _("cosine"), "side": "right"}},
        hovertemplate=_("token: %{x}<br>output of: %{y}<br>cosine: %{z:.4f}") + "<extra></extra>",
    ))
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category", tickangle=-60)
    return _layout(fig, title, 360)


def cka_heatmap(matrix: np.ndarray, *, name_a: str, name_b: str, title: str | None = None):
    """Linear CKA between every hidden state of A (rows) and of B (columns)."""
    import plotly.graph_objects as go

    fig = go.Figure(go.Heatmap(
        z=np.asarray(matrix, dtype=np.float32), x=hidden_state_labels(matrix.shape[1]),
        y=hidden_state_labels(matrix.shape[0]), colorscale="Blues", zmin=0.0, zmax=1.0,
        colorbar={"thickness": 12, "title": {"text": "CKA", "side": "right"}},
        hovertemplate=_("A: %{y}<br>B: %{x}<br>CKA: %{z:.4f}") + "<extra></extra>",
    ))
    fig.update_yaxes(autorange="reversed", type="category", title=_("A: {name}").format(name=_short(name_a)))
    fig.update_xaxes(type="category", title=_("B: {name}").format(name=_short(name_b)))
    return _layout(fig, title, 420)


def prediction_bars(pred_a, pred_b, *, name_a: str, name_b: str, title: str | None = None):
    """Class probabilities of A and B (sequence classification); grouped when they share labels."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for pred, name, colour in ((pred_a, name_a, A_COLOUR), (pred_b, name_b, B_COLOUR)):
        if pred is None or pred.probs.ndim != 1:
            continue
        fig.add_trace(go.Bar(x=list(pred.labels), y=pred.probs, name=_short(name), marker_color=colour,
                             hovertemplate="%{x}: %{y:.3f}<extra>" + _short(name) + "</extra>"))
    fig.update_yaxes(title=_("probability"), range=[0, 1])
    fig.update_xaxes(type="category")
    return _layout(fig, title, 340, barmode="group")


def attribution_bars(tokens: Sequence[str], scores_a: np.ndarray, scores_b: np.ndarray, *, name_a: str, name_b: str,
                     title: str | None = None):
    """A's and B's token scores side by side, each scaled so its largest |score| is 1 (their sizes differ)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    labels = unique_labels(tokens)
    for scores, name, colour in ((scores_a, name_a, A_COLOUR), (scores_b, name_b, B_COLOUR)):
        s = np.asarray(scores, dtype=np.float64)
        scale = float(np.max(np.abs(s))) or 1.0
        fig.add_trace(go.Bar(x=labels, y=s / scale, name=_short(name), marker_color=colour, customdata=s,
                             hovertemplate=_("%{x}: %{customdata:+.4f} (scaled %{y:+.2f})") + "<extra></extra>"))
    fig.update_yaxes(title=_("score / max |score|"), range=[-1.05, 1.05])
    fig.update_xaxes(type="category", tickangle=-45)
    return _layout(fig, title, 380, barmode="group")


def head_rows_histogram(values: np.ndarray, *, layer: int, head: int, title: str | None = None):
    """Distribution over the rows of one head's JS divergence (data-set mode)."""
    import plotly.graph_objects as go

    fig = go.Figure(go.Histogram(x=np.asarray(values, dtype=np.float64), nbinsx=40, marker_color=A_COLOUR,
                                 hovertemplate=_("JS %{x}: %{y} rows") + "<extra></extra>"))
    fig.update_xaxes(title=_("JS divergence of layer {layer}, head {head} (bits)").format(layer=layer, head=head))
    fig.update_yaxes(title=_("rows"))
    return _layout(fig, title, 320)
