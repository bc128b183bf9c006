"""Small HTML renderings (coloured tokens). Every user-derived string is escaped here."""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np


def _mix(c1: tuple[int, int, int], c2: tuple[int, int, int], t: float) -> str:
    r, g, b = (int(round(a + (b_ - a) * t)) for a, b_ in zip(c1, c2))
    return f"rgb({r},{g},{b})"


WHITE, BLUE, RED, ORANGE = (255, 255, 255), (33, 102, 172), (178, 24, 43), (230, 97, 1)


def colored_tokens(
    tokens: Sequence[str],
    values: np.ndarray,
    *,
    diverging: bool = False,
    vmax: float | None = None,
    fmt: str = "{:.2f}",
    unit: str = "",
) -> str:
    """Tokens as inline chips shaded by value (sequential: white->orange; diverging: red<-white->blue).

    Hover shows the value. Tokens are HTML-escaped, so text typed by a user can never become markup.
    """
    values = np.asarray(values, dtype=float)
    bound = vmax or float(np.nanmax(np.abs(values))) or 1.0
    chips = []
    for tok, v in zip(tokens, values):
        t = min(abs(v) / bound, 1.0)
        if diverging:
            color = _mix(WHITE, BLUE if v >= 0 else RED, t)
        else:
            color = _mix(WHITE, ORANGE, t)
        text_color = "white" if t > 0.6 else "#111"
        label = html.escape(tok)
        title = html.escape(f"{tok}: {fmt.format(v)}{unit}")
        chips.append(
            f'<span title="{title}" style="background:{color};color:{text_color};padding:3px 5px;margin:2px;'
            f'border-radius:4px;display:inline-block;font-size:1.15rem;line-height:1.9">{label}</span>'
        )
    return '<div style="line-height:2.2">' + "".join(chips) + "</div>"
