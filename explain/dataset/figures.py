"""Plotly figures of a data-set evaluation, shared by the "Data set" page and the CLI's HTML report.

Pure functions from the frozen results (`ClassificationMetrics`, `Reliability`, `WordSummary`,
`HeadImportance`, `PruningCurve`, `Projection`) to figures; plotly is imported inside each function.
Clickable figures are scatters of square markers (plotly heatmaps report no selection to Streamlit)
whose `customdata` says what a click means: (gold, predicted) in the confusion matrix, (layer, head)
in the head grid, the row index in the projector. Styled like explain/compare/figures.py.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from explain.dataset.heads import HeadImportance, PruningCurve
from explain.dataset.metrics import ClassificationMetrics, Reliability
from explain.dataset.words import WordStat, WordSummary
from explain.figure_style import apply_layout
from explain.i18n import N_, _

BLUE, ORANGE, GREEN, RED, GREY = "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#7f7f7f"
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf")
COLOUR_BY = {"gold": N_("gold label"), "predicted": N_("prediction"), "correct": N_("correct or not"),
             "confidence": N_("confidence")}


def _layout(fig, title: str | None, height: int, **extra):
    apply_layout(fig, title, height, margin={"l": 60, "r": 20, "t": 90 if title else 30, "b": 50}, **extra)
    fig.update_xaxes(automargin=True)  # tick labels and axis titles get the room they need (no clipping)
    fig.update_yaxes(automargin=True)
    return fig


def _short(text: str, limit: int = 90) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def confusion_matrix(metrics: ClassificationMetrics, *, title: str | None = None,
                     selected: tuple[int, int] | None = None):
    """Confusion matrix (C, C): rows gold, columns predicted; colour = share of the gold row, text = count.

    Each cell is a square marker with customdata (gold id, predicted id), so a click (Streamlit hands
    customdata back as {"0": gold, "1": predicted}) selects `Evaluation.in_cell(gold, predicted)`.
    """
    import plotly.graph_objects as go

    conf = np.asarray(metrics.confusion, dtype=np.int64)
    C = conf.shape[0]
    labels = list(metrics.labels)
    gold, pred = np.meshgrid(np.arange(C), np.arange(C), indexing="ij")
    support = conf.sum(1, keepdims=True)
    share = np.divide(conf, support, out=np.zeros(conf.shape), where=support > 0)
    size = max(28, min(110, int(640 / C)))
    fig = go.Figure(go.Scatter(
        x=pred.ravel(), y=gold.ravel(), mode="markers+text", text=[f"{n:,}" for n in conf.ravel()],
        textfont={"size": 14 if C <= 8 else 10, "color": ["white" if s > 0.55 else "#111" for s in share.ravel()]},
        marker={"symbol": "square", "size": size, "color": share.ravel(), "colorscale": "Blues", "cmin": 0.0,
                "cmax": 1.0, "showscale": True, "line": {"width": 1, "color": "#d0d0d0"},
                "colorbar": {"thickness": 14, "title": {"text": _("share of gold row"), "side": "right"}}},
        customdata=np.stack([gold.ravel(), pred.ravel(), share.ravel()], axis=1),
        hovertext=[_("gold {gold}, predicted {pred}").format(gold=labels[g], pred=labels[p])
                   for g, p in zip(gold.ravel(), pred.ravel())],
        hovertemplate="%{hovertext}<br>" + _("rows: %{text} (%{customdata[2]:.1%} of the gold class)")
                      + "<extra></extra>",
    ))
    if selected is not None:
        fig.add_trace(go.Scatter(x=[selected[1]], y=[selected[0]], mode="markers", hoverinfo="skip",
                                 marker={"symbol": "square-open", "size": size + 6, "color": RED, "line": {"width": 3}}))
    ticks = {"tickmode": "array", "tickvals": list(range(C)), "ticktext": [_short(c, 24) for c in labels],
             "showgrid": False, "zeroline": False}
    fig.update_xaxes(title=_("predicted"), range=[-0.6, C - 0.4], side="bottom", **ticks)
    fig.update_yaxes(title=_("gold"), range=[C - 0.4, -0.6], **ticks)
    return _layout(fig, title if title is not None else _("Confusion matrix ({n:,} rows)").format(n=metrics.n),
                   int(size * 1.2 * C + 190), showlegend=False, clickmode="event+select", dragmode=False)


def reliability_diagram(reliability: Reliability, ece: float, *, title: str | None = None):
    """Accuracy per confidence bin (bars) against the diagonal of perfect calibration; ECE in the title.

    reliability: edges (B + 1,), count, confidence, accuracy (B,), NaN in empty bins (Guo et al. 2017).
    """
    import plotly.graph_objects as go

    edges = np.asarray(reliability.edges, dtype=np.float64)
    centres, widths = (edges[:-1] + edges[1:]) / 2, np.diff(edges)
    acc = np.asarray(reliability.accuracy, dtype=np.float64)
    conf = np.asarray(reliability.confidence, dtype=np.float64)
    count = np.asarray(reliability.count, dtype=np.int64)
    filled = count > 0
    fig = go.Figure()
    fig.add_trace(go.Bar(
        x=centres[filled], y=acc[filled], width=widths[filled] * 0.95, name=_("accuracy in the bin"),
        marker_color=BLUE, customdata=np.stack([count[filled], conf[filled], edges[:-1][filled], edges[1:][filled]], 1),
        hovertemplate=_("confidence %{customdata[2]:.2f}-%{customdata[3]:.2f}: %{customdata[0]:,} rows<br>"
                        "accuracy %{y:.3f}, mean confidence %{customdata[1]:.3f}") + "<extra></extra>",
    ))
    fig.add_trace(go.Scatter(x=conf[filled], y=conf[filled], mode="markers", name=_("mean confidence in the bin"),
                             marker={"color": ORANGE, "size": 9, "symbol": "diamond"}, hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name=_("perfect calibration"),
                             line={"color": GREY, "dash": "dash"}, hoverinfo="skip"))
    fig.update_xaxes(title=_("confidence (probability of the predicted class)"), range=[0, 1])
    fig.update_yaxes(title=_("accuracy"), range=[0, 1.02])
    if title is None:
        title = _("Reliability diagram: expected calibration error {ece:.3f}").format(ece=ece)
    return _layout(fig, title, 420)


def word_bars(stats: Sequence[WordStat], labels: Sequence[str], *, title: str | None = None):
    """One class's top words: mean attribution toward it (bars) with its standard deviation (error bars).

    stats: `WordSummary.per_class[c]` (highest mean first); hover gives occurrences and frequency per class.
    """
    import plotly.graph_objects as go

    stats = list(stats)
    freq = [", ".join(f"{_short(c, 20)}: {f:,}" for c, f in zip(labels, s.frequency)) for s in stats]
    fig = go.Figure(go.Bar(
        y=[s.word for s in stats], x=[s.mean for s in stats], orientation="h", marker_color=BLUE,
        error_x={"type": "data", "array": [s.std for s in stats], "color": GREY, "thickness": 1},
        customdata=np.array([[s.count, s.std, s.z] for s in stats]).reshape(len(stats), 3), hovertext=freq,
        hovertemplate=_("%{y}: mean %{x:+.4f} ± %{customdata[1]:.4f} over %{customdata[0]:,} occurrences<br>"
                        "rows per gold class: %{hovertext}<br>log-odds z %{customdata[2]:.2f}") + "<extra></extra>",
    ))
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(title=_("mean attribution toward the class (± std)"), zeroline=True, zerolinecolor="#999")
    return _layout(fig, title, int(min(900, max(300, 24 * len(stats) + 140))), showlegend=False)


def class_word_figures(summary: WordSummary, top: int = 15) -> list:
    """`word_bars` for each class with words, titled "Words pushing toward <class>"."""
    return [
        word_bars(stats[:top], summary.labels, title=_("Words pushing toward {label}").format(label=label))
        for label, stats in zip(summary.labels, summary.per_class)
        if stats
    ]


def shortcut_rows(summary: WordSummary) -> list[tuple]:
    """Rows of the possible-shortcut table: word, toward class, mean, std, occurrences, z, then counts per class."""
    return [(s.word, s.label, s.mean, s.std, s.count, s.z, *s.frequency) for s in summary.shortcuts]


def shortcut_header(summary: WordSummary) -> tuple[str, ...]:
    """Header of `shortcut_rows`."""
    return (_("word"), _("toward"), _("mean attribution"), _("std"), _("occurrences"), _("log-odds z"),
            *(_("rows of {label}").format(label=c) for c in summary.labels))


def shortcut_figure(summary: WordSummary, *, title: str | None = None):
    """Possible shortcuts: mean attribution (x) against the log-odds z of their frequency skew (y), one colour
    per class; words high and to the right push toward a class and occur mostly in it (Monroe et al. 2008)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for c, label in enumerate(summary.labels):
        stats = [s for s in summary.shortcuts if s.target == c]
        if not stats:
            continue
        fig.add_trace(go.Scatter(
            x=[s.mean for s in stats], y=[s.z for s in stats], mode="markers+text", name=label,
            text=[s.word for s in stats], textposition="top center",
            marker={"size": [8 + 3 * np.log1p(s.count) for s in stats], "color": PALETTE[c % len(PALETTE)]},
            customdata=[s.count for s in stats],
            hovertemplate=_("%{text}: mean %{x:+.4f}, z %{y:.2f}, %{customdata:,} occurrences") + "<extra></extra>",
        ))
    fig.add_hline(y=summary.z_threshold, line={"color": GREY, "dash": "dot"})
    fig.update_xaxes(title=_("mean attribution toward the class"))
    fig.update_yaxes(title=_("frequency skew to the class (log-odds z)"))
    if title is None:
        title = _("Possible shortcuts ({n})").format(n=len(summary.shortcuts))
    return _layout(fig, title, 460)


def head_importance_grid(importance: HeadImportance | np.ndarray, *, title: str | None = None,
                         selected: tuple[int, int] | None = None):
    """Layer x head grid of head importance (L, H), normalised per layer (Michel et al. 2019);
    customdata = (layer, head) per square."""
    import plotly.graph_objects as go

    values = importance.normalized if isinstance(importance, HeadImportance) else np.asarray(importance)
    values = np.asarray(values, dtype=np.float64)
    L, H = values.shape
    layers, heads = np.meshgrid(np.arange(L), np.arange(H), indexing="ij")
    size = max(14, min(40, int(560 / max(H, L))))
    fig = go.Figure(go.Scatter(
        x=heads.ravel(), y=layers.ravel(), mode="markers",
        marker={"symbol": "square", "size": size, "color": values.ravel(), "colorscale": "Viridis", "cmin": 0.0,
                "showscale": True, "line": {"width": 1, "color": "#d0d0d0"},
                "colorbar": {"thickness": 14, "title": {"text": _("importance"), "side": "right"}}},
        customdata=np.stack([layers.ravel(), heads.ravel()], axis=1),
        hovertemplate=_("layer %{y}, head %{x}<br>importance %{marker.color:.3f}") + "<extra></extra>",
    ))
    if selected is not None:
        fig.add_trace(go.Scatter(x=[selected[1]], y=[selected[0]], mode="markers", hoverinfo="skip",
                                 marker={"symbol": "square-open", "size": size + 6, "color": RED, "line": {"width": 3}}))
    fig.update_xaxes(title=_("head"), dtick=1, range=[-0.6, H - 0.4], showgrid=False, zeroline=False)
    fig.update_yaxes(title=_("layer"), dtick=1, range=[L - 0.4, -0.6], showgrid=False, zeroline=False)
    if title is None:
        title = _("Head importance (expected |dL/d gate|, normalised per layer)")
    return _layout(fig, title, int(size * 1.25 * L + 170), showlegend=False, clickmode="event+select",
                   dragmode=False)


def pruning_figure(curve: PruningCurve, *, title: str | None = None):
    """Accuracy as the k least important heads are masked, next to a random order (Michel et al. Fig. 3)."""
    import plotly.graph_objects as go

    ks = np.asarray(curve.ks)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=ks, y=np.asarray(curve.accuracy), mode="lines+markers",
                             name=_("least important first"), line={"color": BLUE, "width": 3},
                             hovertemplate=_("%{x} heads masked: accuracy %{y:.3f}") + "<extra></extra>"))
    if not np.isnan(np.asarray(curve.random_accuracy)).all():
        fig.add_trace(go.Scatter(x=ks, y=np.asarray(curve.random_accuracy), mode="lines+markers",
                                 name=_("random order"), line={"color": ORANGE, "width": 2, "dash": "dash"},
                                 hovertemplate=_("%{x} heads masked: accuracy %{y:.3f}") + "<extra></extra>"))
    fig.update_xaxes(title=_("heads masked"), rangemode="tozero")
    fig.update_yaxes(title=_("accuracy"), range=[0, 1.02])
    if title is None:
        title = _("Pruning curve ({n:,} rows)").format(n=curve.n_rows)
    return _layout(fig, title, 400)


def projector(coordinates: np.ndarray, labels: Sequence[str], y_true: np.ndarray, y_pred: np.ndarray,
              confidence: np.ndarray, *, colour_by: str = "gold", dims: int = 2, texts: Sequence[str] | None = None,
              index: np.ndarray | None = None, explained: Sequence[float] | None = None, title: str | None = None):
    """PCA projector of the head's input: coordinates (N, >= dims) from `pca`, one point per row.

    colour_by: "gold" | "predicted" | "correct" | "confidence". customdata = the row index (`index`,
    default 0..N-1), so a click selects that row; `texts` go in the hover (shortened).
    """
    import plotly.graph_objects as go

    if colour_by not in COLOUR_BY:
        raise ValueError(colour_by)
    xyz = np.asarray(coordinates, dtype=np.float64)[:, :dims]
    n = len(xyz)
    index = np.arange(n) if index is None else np.asarray(index)
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    confidence = np.asarray(confidence, dtype=np.float64)
    hover = [_("row {i}: gold {gold}, predicted {pred} ({conf:.2f})").format(
        i=int(index[k]), gold=labels[y_true[k]], pred=labels[y_pred[k]], conf=confidence[k])
        + ("<br>" + _short(texts[k]).replace("<", "&lt;") if texts is not None else "") for k in range(n)]
    scatter = go.Scatter3d if dims == 3 else go.Scatter
    size = 4 if dims == 3 else (7 if n <= 2000 else 4)

    def trace(mask, name, **marker):
        coords = {axis: xyz[mask, j] for j, axis in enumerate("xyz"[:dims])}
        return scatter(**coords, mode="markers", name=name, customdata=index[mask],
                       hovertext=[hover[k] for k in np.flatnonzero(mask)], hovertemplate="%{hovertext}<extra></extra>",
                       marker={"size": size, "opacity": 0.8, **marker})

    fig = go.Figure()
    if colour_by == "confidence":
        fig.add_trace(trace(np.ones(n, bool), _("rows"), color=confidence, colorscale="Viridis", cmin=0.0, cmax=1.0,
                            showscale=True, colorbar={"thickness": 14, "title": {"text": _("confidence"),
                                                                                   "side": "right"}}))
    elif colour_by == "correct":
        correct = y_true == y_pred
        fig.add_trace(trace(correct, _("correct"), color=GREEN))
        fig.add_trace(trace(~correct, _("error"), color=RED, symbol="x" if dims == 2 else "cross"))
    else:
        which = y_true if colour_by == "gold" else y_pred
        for c, label in enumerate(labels):
            mask = which == c
            if mask.any():
                fig.add_trace(trace(mask, label, color=PALETTE[c % len(PALETTE)]))
    axes = [_("PC{k}").format(k=k + 1) + (f" ({explained[k]:.1%})" if explained is not None else "")
            for k in range(dims)]
    if title is None:
        title = _("Projector: PCA of the head's input, coloured by {what}").format(what=_(COLOUR_BY[colour_by]))
    if dims == 3:
        fig.update_layout(scene={"xaxis_title": axes[0], "yaxis_title": axes[1], "zaxis_title": axes[2]})
        return _layout(fig, title, 620)
    fig.update_xaxes(title=axes[0], showgrid=True, gridcolor="#eee")
    fig.update_yaxes(title=axes[1], showgrid=True, gridcolor="#eee")
    return _layout(fig, title, 540, clickmode="event+select")
