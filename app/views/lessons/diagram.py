"""The lessons' overview: BERT's data flow for the current sentence, with live shapes on its arrows.

A plotly figure (no Streamlit): boxes are shapes, their labels annotations, and one invisible square
marker per box carries the step number, so a click on a box opens its step (as on the Attention page).
"""

from __future__ import annotations

from dataclasses import dataclass

import plotly.graph_objects as go

from explain.i18n import _

CURRENT, OTHER, FRAME, EXPLAIN = "#E69F00", "#E8EEF6", "#6b7a8f", "#EDE7F3"  # Okabe-Ito orange for "you are here"


@dataclass(frozen=True)
class Shapes:
    """The live sizes drawn on the arrows."""

    tokens: int  # T
    hidden: int  # D
    heads: int  # H
    d_k: int
    layers: int  # N
    vocab: int  # V
    classes: int | None  # C of the lesson's classifier


# step -> (x0, x1, y0, y1) in a 10 x 3 box
BOXES = {
    1: (0.0, 1.1, 1.1, 2.3),
    2: (1.55, 3.05, 1.1, 2.3),
    3: (3.7, 4.95, 1.05, 2.25),
    4: (5.05, 6.3, 1.05, 2.25),
    6: (7.85, 9.9, 1.75, 2.75),
    7: (7.85, 9.9, 0.6, 1.6),
    8: (3.5, 6.55, -0.05, 0.45),
    9: (6.65, 9.9, -0.05, 0.45),
    10: (0.0, 3.3, -0.05, 0.45),
}
ENCODER = (3.5, 7.45, 0.8, 2.95)  # step 5: the N layers around steps 3 and 4 and the feed-forward
FFN = (6.4, 7.3, 1.05, 2.25)


def overview_figure(shapes: Shapes, current: int, *, height: int = 150, font_size: int = 13) -> go.Figure:
    """The data-flow diagram; `current` (1-10) is highlighted."""
    labels = {
        1: _("1 Tokens<br>[CLS] … [SEP]"),
        2: _("2 Embedding<br>word + position<br>+ segment, LayerNorm"),
        3: _("3 One head<br>softmax(QKᵀ/√d<sub>k</sub>)V"),
        4: _("4 Multi-head<br>Concat(heads) W<sup>O</sup>"),
        6: _("6 Pre-training: MLM head<br>{t}×{v:,} → P(token)").format(t=shapes.tokens, v=shapes.vocab),
        7: _("7 Fine-tuning: classifier<br>[CLS] → P(y|X), {c} classes").format(c=shapes.classes or "C"),
        8: _("8 Explaining a prediction (IG)"),
        9: _("9 Attention ≠ explanation"),
        10: _("10 What layers know (probes)"),
    }
    s = shapes
    fig = go.Figure()

    def box(rect, fill, line, width=1.5, dash=None):
        x0, x1, y0, y1 = rect
        fig.add_shape(type="rect", x0=x0, x1=x1, y0=y0, y1=y1, fillcolor=fill, line={"color": line, "width": width, "dash": dash},
                      layer="below")

    box(ENCODER, "#FFF8E6" if current == 5 else "white", CURRENT if current == 5 else FRAME, 3 if current == 5 else 1.5,
        None if current == 5 else "dot")
    fig.add_annotation(x=(ENCODER[0] + ENCODER[1]) / 2, y=ENCODER[3] - 0.02, yanchor="top", showarrow=False,
                       text=_("5 Encoder: N = {n} layers, each attention + feed-forward").format(n=s.layers),
                       font={"size": font_size, "color": "#333"})
    box(FFN, OTHER, FRAME)
    fig.add_annotation(x=(FFN[0] + FFN[1]) / 2, y=(FFN[2] + FFN[3]) / 2, showarrow=False,
                       text=_("feed-<br>forward"), font={"size": font_size - 1})
    for step, rect in BOXES.items():
        here = step == current
        fill = CURRENT if here else (EXPLAIN if step in (8, 9, 10) else OTHER)
        box(rect, fill, "#333" if here else FRAME, 3 if here else 1.2)
        fig.add_annotation(x=(rect[0] + rect[1]) / 2, y=(rect[2] + rect[3]) / 2, showarrow=False, text=labels[step],
                           font={"size": font_size, "color": "#000"})

    def arrow(x0, y0, x1, y1, text, above=True):
        fig.add_annotation(x=x1, y=y1, ax=x0, ay=y0, xref="x", yref="y", axref="x", ayref="y", showarrow=True,
                           arrowhead=3, arrowsize=1.2, arrowwidth=2, arrowcolor="#444", text="")
        fig.add_annotation(x=(x0 + x1) / 2, y=(y0 + y1) / 2 + (0.12 if above else -0.12), showarrow=False, text=text,
                           yanchor="bottom" if above else "top", font={"size": font_size - 1, "color": "#0072B2"})

    mid = 1.7
    arrow(1.1, mid, 1.55, mid, _("T={t}").format(t=s.tokens))
    arrow(3.05, mid, 3.7, mid, f"{s.tokens}×{s.hidden}")
    arrow(4.95, mid, 5.05, mid, "")
    fig.add_annotation(x=4.4, y=1.05, yanchor="top", showarrow=False, font={"size": font_size - 1, "color": "#0072B2"},
                       text=_("H={h} heads × d<sub>k</sub>={d}").format(h=s.heads, d=s.d_k))
    arrow(6.3, mid, 6.4, mid, "")
    fig.add_annotation(x=5.7, y=1.05, yanchor="top", showarrow=False, font={"size": font_size - 1, "color": "#0072B2"},
                       text=f"{s.tokens}×{s.heads * s.d_k} → {s.tokens}×{s.hidden}")
    arrow(7.45, mid, 7.85, 2.25, f"{s.tokens}×{s.hidden}")
    arrow(7.45, mid, 7.85, 1.1, _("[CLS]: {d}").format(d=s.hidden), above=False)

    steps = [*BOXES, 5]
    xs = [(BOXES[k][0] + BOXES[k][1]) / 2 if k != 5 else 7.1 for k in steps]
    ys = [(BOXES[k][2] + BOXES[k][3]) / 2 if k != 5 else 2.6 for k in steps]
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="markers", customdata=steps,
                             marker={"symbol": "square", "size": 46, "color": "rgba(255,255,255,0.01)"},
                             hovertemplate=_("Open step %{customdata}") + "<extra></extra>", showlegend=False))
    fig.update_xaxes(visible=False, range=[-0.05, 9.95], fixedrange=True)
    fig.update_yaxes(visible=False, range=[-0.45, 3.0], fixedrange=True)
    fig.update_layout(height=height, margin={"l": 0, "r": 0, "t": 0, "b": 0}, plot_bgcolor="white", paper_bgcolor="white",
                      clickmode="event+select", dragmode=False, showlegend=False)
    return fig
