"""Plotly figures of probes and neurons (pure functions; plotly is imported inside each one).

- `probe_curves`: held-out accuracy per layer for one or more label sets, with the control task's accuracy
  (dashed), the majority baseline (dotted) and each set's centre of gravity (a marker on the x axis);
- `neuron_heatmap`: the activations of chosen neurons (rows) on every token (columns) of one layer;
- `nmf_text`: the tokens coloured by their strongest NMF factor, opacity by the factor's weight (Ecco's view);
- `class_neuron_bars`: over a data set, one class's top neurons (score bars, the class's mean activation in the hover).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from explain.figure_style import apply_layout, unique_labels
from explain.i18n import _
from explain.probing.neurons import ClassNeurons, FFNActivations, NMFFactors
from explain.probing.probes import ProbeReport

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")


def _layout(fig, title: str | None, height: int, **extra):
    apply_layout(fig, title, height, margin={"l": 60, "r": 20, "t": 90 if title else 40, "b": 50}, **extra)
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    return fig


def layer_names(n_layers: int) -> list[str]:
    """'embeddings', then '1' .. 'L' (hidden_states[l] is the output of layer l)."""
    return [_("embeddings")] + [str(i) for i in range(1, n_layers)]


def probe_curves(reports: Sequence[ProbeReport], *, metric: str = "accuracy", title: str | None = None,
                 names: dict[str, str] | None = None, height: int = 460):
    """One line per label set (accuracy or macro_f1 per layer), its control task (dashed, accuracy only),
    its majority baseline (dotted) and its centre of gravity (a diamond under the curve, on the x axis)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for i, r in enumerate(reports):
        colour = PALETTE[i % len(PALETTE)]
        name = (names or {}).get(r.label_set, r.label_set)
        x = np.arange(len(r.accuracy))
        y = getattr(r, metric)
        fig.add_scatter(x=x, y=y, mode="lines+markers", name=name, line={"color": colour, "width": 3},
                        hovertemplate=_("layer %{x}: %{y:.3f}") + "<extra>" + name + "</extra>")
        if metric == "accuracy":
            fig.add_scatter(x=x, y=r.control_accuracy, mode="lines", name=_("{name}: control task").format(name=name),
                            line={"color": colour, "dash": "dash", "width": 1.5},
                            hovertemplate=_("control, layer %{x}: %{y:.3f}") + "<extra></extra>")
            fig.add_scatter(x=[x[0], x[-1]], y=[r.majority_accuracy] * 2, mode="lines",
                            name=_("{name}: majority class").format(name=name),
                            line={"color": colour, "dash": "dot", "width": 1}, hoverinfo="skip")
        fig.add_scatter(x=[r.centre_of_gravity], y=[0.01], mode="markers", showlegend=False, cliponaxis=False,
                        marker={"symbol": "diamond", "size": 13, "color": colour},
                        hovertemplate=_("{name}: centre of gravity %{{x:.2f}}").format(name=name) + "<extra></extra>")
    n = len(reports[0].accuracy) if reports else 1
    fig.update_xaxes(title=_("layer"), tickmode="array", tickvals=list(range(n)), ticktext=layer_names(n))
    fig.update_yaxes(title=_("held-out accuracy") if metric == "accuracy" else _("held-out macro-F1"), range=[0, 1.02])
    _layout(fig, title, height)
    fig.update_layout(legend={"orientation": "h", "yanchor": "top", "y": -0.2, "xanchor": "left", "x": 0.0},
                      margin={"b": 40 + 22 * ((len(fig.data) + 1) // 2)})
    return fig


def neuron_heatmap(acts: FFNActivations, layer: int, neurons: Sequence[int], *, title: str | None = None,
                   height: int | None = None):
    """Activations of `neurons` (rows) on every token (columns) of `layer`; diverging around 0."""
    import plotly.graph_objects as go

    neurons = [int(n) for n in neurons]
    z = acts.of_layer(layer)[:, neurons].T
    bound = float(np.abs(z).max()) or 1.0
    fig = go.Figure(go.Heatmap(
        z=z, x=unique_labels(acts.tokens), y=[_("neuron {n}").format(n=n) for n in neurons],
        colorscale="RdBu", reversescale=True, zmin=-bound, zmax=bound, colorbar={"title": _("activation")},
        hovertemplate=_("%{y} on %{x}: %{z:.3f}") + "<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(tickangle=-45)
    return _layout(fig, title, height or 120 + 28 * len(neurons))


def nmf_text(factors: NMFFactors, *, title: str | None = None, per_line: int = 10, height: int | None = None):
    """The tokens as text, each coloured by its strongest factor, opacity by that factor's share of its
    largest weight; the legend names the factors."""
    import plotly.graph_objects as go

    W = factors.token_weights
    best = W.argmax(axis=1)
    strength = W.max(axis=1) / (W.max(axis=0)[best] + 1e-12)
    fig = go.Figure()
    rows = (len(factors.tokens) + per_line - 1) // per_line
    for k in range(factors.n_factors):
        idx = np.flatnonzero(best == k)
        colour = PALETTE[k % len(PALETTE)]
        fig.add_scatter(
            x=idx % per_line, y=idx // per_line, mode="markers+text", name=_("factor {k}").format(k=k + 1),
            text=[factors.tokens[i] for i in idx], textfont={"size": 13, "color": "#111"},
            marker={"symbol": "square", "size": 54, "line": {"width": 0},
                    "color": [_rgba(colour, 0.15 + 0.85 * float(s)) for s in strength[idx]]},
            customdata=W[idx, k], hovertemplate=_("factor {k}: %{{customdata:.3f}}").format(k=k + 1) + "<extra>%{text}</extra>")
    fig.update_xaxes(visible=False, range=[-0.6, per_line - 0.4])
    fig.update_yaxes(visible=False, range=[rows - 0.5, -0.5])
    return _layout(fig, title, height or (140 if title else 90) + 62 * rows)


def class_neuron_bars(cn: ClassNeurons, c: int, *, title: str | None = None, layer_name: str | None = None):
    """Class c's top neurons (rows, best first) with their score as bars: the class's mean activation, or
    with `cn.contrast` that mean minus the other classes' mean; the hover adds the class's mean activation.
    layer_name: how the layer is named on screen (default: the 0-based block index)."""
    import plotly.graph_objects as go

    neurons, score, mean = cn.neurons[c], cn.score[c], cn.mean_activation[c]
    fig = go.Figure(go.Bar(
        y=[_("neuron {n}").format(n=int(n)) for n in neurons], x=score, orientation="h",
        marker_color=PALETTE[c % len(PALETTE)], customdata=mean,
        hovertemplate=_("%{y}: score %{x:.3f}, mean activation in the class %{customdata:.3f}") + "<extra></extra>"))
    fig.update_yaxes(autorange="reversed", type="category")
    what = (_("mean activation in {label} minus in the other classes") if cn.contrast
            else _("mean activation in {label}")).format(label=cn.classes[c])
    fig.update_xaxes(title=what, zeroline=True, zerolinecolor="#999")
    if title is None:
        title = _("Layer {layer}: neurons of {label} ({n:,} rows)").format(
            layer=layer_name or cn.layer, label=cn.classes[c], n=int(cn.rows[c]))
    return _layout(fig, title, int(min(900, max(300, 26 * len(neurons) + 150))), showlegend=False)


def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha:.3f})"
