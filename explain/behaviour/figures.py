"""Plotly figures of a behavioural suite run, shared by the Stress tests page and the offline report.

Pure functions from frozen results (`SuiteResult`, `WordComparison`) to figures; plotly is imported
inside each function. Test names and capabilities are shown with `_()`: the shipped suites' text is in
the catalogue (explain/i18n_extract.py), a user's own suite shows as written.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from explain.behaviour.results import SuiteResult, TestResult
from explain.figure_style import apply_layout, unique_labels
from explain.i18n import _

if TYPE_CHECKING:
    from explain.behaviour.compare import WordComparison

FAILED, PASSED, EMPTY = "#d55e00", "#9e9e9e", "#d9d9d9"  # Okabe-Ito vermillion, greys: colour-blind safe
BEFORE, AFTER, DIFFERENCE = "#0072b2", "#e69f00", "#000000"


def ordered_tests(result: SuiteResult) -> list[tuple[int, TestResult]]:
    """(index in the suite, test), grouped by capability in the order capabilities first appear."""
    order = {cap: k for k, cap in enumerate(result.capabilities())}
    return sorted(enumerate(result.tests), key=lambda it: (order[it[1].capability], it[0]))


def failure_rate_figure(result: SuiteResult, selected: int | None = None, title: str | None = None):
    """Horizontal bars of each test's failure rate (%), grouped by capability (a two-level axis).

    Each bar's customdata is the test's index in the suite (a click selects that test); `selected`
    outlines one bar. Tests with no scored case show an empty bar marked '-'.
    """
    import plotly.graph_objects as go

    tests = ordered_tests(result)[::-1]  # plotly draws the first category at the bottom
    rates = [None if math.isnan(t.failure_rate) else 100 * t.failure_rate for _i, t in tests]
    text = ["-" if r is None else f"{r:.1f} % ({t.n_failed}/{t.n_cases})" for r, (_i, t) in zip(rates, tests)]
    colours = [EMPTY if r is None else FAILED if r > 0 else PASSED for r in rates]
    fig = go.Figure(go.Bar(
        x=[0.0 if r is None else r for r in rates],
        y=[[_(t.capability) for _i, t in tests], [_(t.name) for _i, t in tests]],
        orientation="h", text=text, textposition="outside", cliponaxis=False, customdata=[i for i, _t in tests],
        marker={"color": colours, "line": {"width": 2.5, "color": [
            "#000000" if i == selected else "rgba(0,0,0,0)" for i, _t in tests]}},
        hovertemplate="%{y}: %{text}<extra></extra>",
    ))
    apply_layout(fig, _("Failure rate per test") if title is None else title, 110 + 28 * len(tests),
                 margin={"l": 10, "r": 30, "t": 60, "b": 50}, showlegend=False, bargap=0.25)
    fig.update_xaxes(title=_("failure rate (%)"), range=[0, 118], gridcolor="#eeeeee", zeroline=False)
    fig.update_yaxes(automargin=True)
    return fig


def _word_label(before: str, after: str) -> str:
    if before == after:
        return before
    if not before:
        return f"+{after}"
    if not after:
        return f"−{before}"
    return f"{before}→{after}"


def comparison_figure(cmp: WordComparison, title: str | None = None, before_name: str | None = None,
                      after_name: str | None = None):
    """Word attributions before (blue) and after (orange) the edit, aligned, with their difference (◆).

    x: one position per aligned word ('old→new' where it changed, '+word' where it was added).
    """
    import plotly.graph_objects as go

    labels = unique_labels([_word_label(b, a) for b, a in zip(cmp.words_before, cmp.words_after)])
    fig = go.Figure()
    fig.add_trace(go.Bar(x=labels, y=np.asarray(cmp.scores_before), name=before_name or _("original text"),
                         marker_color=BEFORE))
    fig.add_trace(go.Bar(x=labels, y=np.asarray(cmp.scores_after), name=after_name or _("perturbed text"),
                         marker_color=AFTER))
    fig.add_trace(go.Scatter(x=labels, y=np.asarray(cmp.difference), mode="markers",
                             name=_("difference (after − before)"),
                             marker={"symbol": "diamond", "size": 10, "color": DIFFERENCE}))
    for k, edited in enumerate(cmp.edited):
        if edited:
            fig.add_vrect(x0=k - 0.5, x1=k + 0.5, fillcolor="#fff3c4", opacity=0.6, line_width=0, layer="below")
    title = title if title is not None else _("Integrated Gradients toward {label}, word by word").format(
        label=cmp.target_label)
    apply_layout(fig, title, 380, margin={"l": 60, "r": 10, "t": 90, "b": 40}, barmode="group")
    fig.update_yaxes(title=_("contribution to P({label})").format(label=cmp.target_label), zeroline=True,
                     zerolinecolor="#888888", gridcolor="#eeeeee", automargin=True)
    fig.update_xaxes(automargin=True, tickangle=-40 if len(labels) > 12 else 0)
    return fig
