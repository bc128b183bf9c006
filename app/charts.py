"""Plotly figure builders for the pages: data in, figure out (no Streamlit here).

Styled for projectors: large fonts, white background, perceptually ordered colour scales.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextvars import ContextVar

import numpy as np
import plotly.graph_objects as go

from explain.figure_style import apply_layout, unique_labels
from explain.i18n import _

SEQUENTIAL = "Blues"
DIVERGING = "RdBu"

# Presenter mode (projectors), set per script run by app/main.py: every figure built through _layout
# gets larger fonts, thicker lines, the Okabe-Ito colour-blind-safe palette, and cividis for sequential maps.
PRESENTING: ContextVar[bool] = ContextVar("presenting", default=False)
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
PRESENTER_SEQUENTIAL = "cividis"


def presenting(on: bool) -> None:
    """Turn presenter styling on or off for the figures this thread builds next."""
    PRESENTING.set(bool(on))


def _sequential(colorscale: str) -> str:
    return PRESENTER_SEQUENTIAL if PRESENTING.get() and colorscale == SEQUENTIAL else colorscale


def _layout(fig: go.Figure, title: str | None, height: int, **extra) -> go.Figure:
    apply_layout(fig, title, height, **extra)
    if PRESENTING.get():
        fig.update_layout(font={"size": 19}, colorway=list(OKABE_ITO), legend_font_size=18,
                          title_font_size=22 if title else None)
        fig.update_traces(line_width=4, marker_size=9, selector={"type": "scatter", "mode": "lines+markers"})
        fig.update_xaxes(tickfont_size=17, title_font_size=19)
        fig.update_yaxes(tickfont_size=17, title_font_size=19)
    return fig


def presented(fig: go.Figure) -> go.Figure:
    """A figure built in explain/ (its own layout) with presenter mode's larger fonts and thicker lines."""
    if PRESENTING.get():
        fig.update_layout(font={"size": 19}, legend_font_size=18)
        fig.update_traces(line_width=4, marker_size=9, selector={"type": "scatter", "mode": "lines+markers"})
        fig.update_xaxes(tickfont_size=17, title_font_size=19)
        fig.update_yaxes(tickfont_size=17, title_font_size=19)
    return fig


def matrix_heatmap(
    z: np.ndarray,
    rows: Sequence[str],
    cols: Sequence[str],
    *,
    title: str | None = None,
    row_title: str | None = None,
    col_title: str | None = None,
    value_name: str | None = None,
    colorscale: str = SEQUENTIAL,
    zmin: float | None = 0.0,
    zmax: float | None = None,
    symmetric: bool = False,
    height: int | None = None,
    value_format: str = ".3f",
    square: bool = False,
) -> go.Figure:
    """A labelled heatmap; hover shows row token, column token and value. Rows run top to bottom.

    `square` keeps cells square (for token x token maps); `symmetric` centres the colours on 0 and
    clips them at the 99.5th percentile of |z| (hover still shows exact values). Axis and value names
    default to query / key / weight in the session's language.
    """
    row_title = _("query") if row_title is None else row_title
    col_title = _("key") if col_title is None else col_title
    value_name = _("weight") if value_name is None else value_name
    z = np.asarray(z, dtype=np.float32)
    if symmetric:  # centre on 0; a few outliers (e.g. position 0) must not wash out the rest
        bound = float(np.nanquantile(np.abs(z), 0.995)) or float(np.nanmax(np.abs(z))) or 1.0
        zmin, zmax = -bound, bound
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=unique_labels(cols),
            y=unique_labels(rows),
            colorscale=_sequential(colorscale),
            zmin=zmin,
            zmax=zmax,
            hovertemplate=f"{row_title}: %{{y}}<br>{col_title}: %{{x}}<br>{value_name}: %{{z:{value_format}}}<extra></extra>",
            colorbar=dict(thickness=14),
        )
    )
    size = height or int(min(900, max(360, 22 * len(rows) + 140)))
    fig.update_yaxes(autorange="reversed", title=row_title, tickfont=dict(size=14), type="category")
    fig.update_xaxes(title=col_title, tickangle=-60, tickfont=dict(size=14), side="bottom", type="category")
    if square:
        fig.update_yaxes(scaleanchor="x", constrain="domain")
        fig.update_xaxes(constrain="domain")
    return _layout(fig, title, size)


def head_grid(
    values: np.ndarray,
    *,
    title: str,
    value_name: str,
    selected: tuple[int, int] | None = None,
    colorscale: str = SEQUENTIAL,
    value_format: str = ".2f",
) -> go.Figure:
    """A clickable layer x head grid of squares coloured by `values` (L, H).

    Drawn as a scatter (one point per head) because plotly heatmaps do not report clicks as selections.
    """
    L, H = values.shape
    layers, heads = np.meshgrid(np.arange(L), np.arange(H), indexing="ij")
    size = max(14, min(44, int(640 / max(H, L))))
    fig = go.Figure(
        go.Scatter(
            x=heads.ravel(),
            y=layers.ravel(),
            mode="markers",
            marker=dict(
                symbol="square",
                size=size,
                color=values.ravel(),
                colorscale=_sequential(colorscale),
                showscale=True,
                colorbar=dict(thickness=14, title=dict(text=value_name, side="right")),
                line=dict(width=0),
            ),
            customdata=np.stack([layers.ravel(), heads.ravel()], axis=1),
            hovertemplate=_("layer {layer}, head {head}").format(layer="%{y}", head="%{x}")
            + f"<br>{value_name}: %{{marker.color:{value_format}}}<extra></extra>",
        )
    )
    if selected is not None:
        fig.add_trace(
            go.Scatter(
                x=[selected[1]],
                y=[selected[0]],
                mode="markers",
                marker=dict(symbol="square-open", size=size + 6, color="#d62728", line=dict(width=3)),
                hoverinfo="skip",
                showlegend=False,
            )
        )
    fig.update_xaxes(title=_("head"), dtick=1, range=[-0.6, H - 0.4], showgrid=False, zeroline=False)
    fig.update_yaxes(title=_("layer"), dtick=1, range=[L - 0.4, -0.6], showgrid=False, zeroline=False)
    return _layout(fig, title, int(size * 1.25 * L + 150), showlegend=False, clickmode="event+select", dragmode=False)


def bars(
    labels: Sequence[str],
    series: dict[str, np.ndarray],
    *,
    title: str | None = None,
    y_title: str = "",
    barmode: str = "group",
    horizontal: bool = False,
    height: int = 380,
    value_format: str = ".3f",
    signed: bool = False,
) -> go.Figure:
    """Grouped (or stacked) bars, one trace per series, x = labels (repeats kept apart).

    `signed` colours each bar by its sign (blue for, red against), as in the coloured text.
    """
    fig = go.Figure()
    cats = unique_labels(labels)
    for name, values in series.items():
        values = np.asarray(values, dtype=float)
        marker = dict(color=np.where(values >= 0, "#2166ac", "#b2182b")) if signed else None
        if horizontal:
            fig.add_trace(go.Bar(y=cats, x=values, name=name, orientation="h", marker=marker,
                                 hovertemplate=f"%{{y}}: %{{x:{value_format}}}<extra>{name}</extra>"))
        else:
            fig.add_trace(go.Bar(x=cats, y=values, name=name, marker=marker,
                                 hovertemplate=f"%{{x}}: %{{y:{value_format}}}<extra>{name}</extra>"))
    if horizontal:
        fig.update_yaxes(autorange="reversed", type="category")
        fig.update_xaxes(title=y_title)
    else:
        fig.update_xaxes(tickangle=-45, type="category")
        fig.update_yaxes(title=y_title)
    return _layout(fig, title, height, barmode=barmode)


def lines(
    x: np.ndarray,
    series: dict[str, np.ndarray],
    *,
    title: str | None = None,
    x_title: str = "",
    y_title: str = "",
    height: int = 360,
) -> go.Figure:
    fig = go.Figure()
    for name, y in series.items():
        fig.add_trace(go.Scatter(x=x, y=y, mode="lines+markers", name=name, marker=dict(size=5)))
    fig.update_xaxes(title=x_title)
    fig.update_yaxes(title=y_title)
    return _layout(fig, title, height)


def trajectory(
    coords: np.ndarray,
    labels: Sequence[str],
    *,
    title: str | None = None,
    color: np.ndarray | None = None,
    color_name: str | None = None,
    height: int = 460,
) -> go.Figure:
    """Points joined in order (2-D or 3-D), coloured by `color` (default: their index)."""
    color = np.arange(len(coords)) if color is None else color
    color_name = _("position") if color_name is None else color_name
    marker = dict(size=5 if coords.shape[1] == 3 else 7, color=color, colorscale="Viridis", showscale=True,
                  colorbar=dict(thickness=14, title=dict(text=color_name, side="right")))
    common = dict(mode="lines+markers", marker=marker, line=dict(color="rgba(120,120,120,0.35)"),
                  text=list(labels), hovertemplate="%{text}<extra></extra>")
    if coords.shape[1] == 3:
        fig = go.Figure(go.Scatter3d(x=coords[:, 0], y=coords[:, 1], z=coords[:, 2], **common))
        fig.update_layout(scene=dict(xaxis_title="PC1", yaxis_title="PC2", zaxis_title="PC3"))
    else:
        fig = go.Figure(go.Scatter(x=coords[:, 0], y=coords[:, 1], **common))
        fig.update_xaxes(title="PC1")
        fig.update_yaxes(title="PC2", scaleanchor="x")
    return _layout(fig, title, height)


def token_paths(coords: np.ndarray, tokens: Sequence[str], *, title: str | None = None, height: int = 520) -> go.Figure:
    """Each token's path through the layers in a shared 2-D space; coords (L + 1, T, 2)."""
    fig = go.Figure()
    L1, T = coords.shape[:2]
    for t in range(T):
        fig.add_trace(go.Scatter(
            x=coords[:, t, 0], y=coords[:, t, 1], mode="lines+markers+text", name=tokens[t],
            text=[tokens[t] if l == L1 - 1 else "" for l in range(L1)], textposition="top center",
            marker=dict(size=[6] * (L1 - 1) + [11]),
            hovertemplate=tokens[t] + "<br>" + _("layer {layer}").format(layer="%{customdata}")
            + "<extra></extra>", customdata=np.arange(L1),
        ))
    fig.update_xaxes(title="PC1")
    fig.update_yaxes(title="PC2")
    return _layout(fig, title, height, showlegend=False)
