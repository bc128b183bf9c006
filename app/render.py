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
    marked: Sequence[bool] | None = None,
) -> str:
    """Tokens as inline chips shaded by value (sequential: white->orange; diverging: red<-white->blue).

    Hover shows the value. Tokens are HTML-escaped, so text typed by a user can never become markup.
    `marked` outlines some chips (the words an edit changed).
    """
    values = np.asarray(values, dtype=float)
    bound = vmax or (float(np.nanmax(np.abs(values))) if values.size else 0.0) or 1.0
    chips = []
    for k, (tok, v) in enumerate(zip(tokens, values)):
        t = min(abs(v) / bound, 1.0)
        if diverging:
            color = _mix(WHITE, BLUE if v >= 0 else RED, t)
        else:
            color = _mix(WHITE, ORANGE, t)
        text_color = "white" if t > 0.6 else "#111"
        label = html.escape(tok)
        title = html.escape(f"{tok}: {fmt.format(v)}{unit}")
        outline = "outline:2px dashed #111;outline-offset:1px;" if marked is not None and marked[k] else ""
        chips.append(
            f'<span title="{title}" style="background:{color};color:{text_color};padding:3px 5px;margin:2px;'
            f'border-radius:4px;display:inline-block;font-size:1.15rem;line-height:1.9;{outline}">{label}</span>'
        )
    return '<div style="line-height:2.2">' + "".join(chips) + "</div>"


SEGMENT_COLORS = ("#dbe8f7", "#dcefd9")


def token_chips(tokens: Sequence[str], ids: Sequence[int], segment: Sequence[int], special: Sequence[bool]) -> str:
    """WordPiece tokens as chips: position above, id below; segment A blue, B green, specials grey.

    Continuation pieces (##...) sit flush against the piece before them, so words stay visible.
    """
    chips = []
    for i, (tok, tid, seg, spec) in enumerate(zip(tokens, ids, segment, special)):
        bg = "#e6e6e6" if spec else SEGMENT_COLORS[int(seg) % 2]
        left = "0" if tok.startswith("##") else "6px"
        chips.append(
            f'<span style="display:inline-flex;flex-direction:column;align-items:center;margin:4px 0 4px {left};">'
            f'<span style="font-size:0.7rem;color:#888">{i}</span>'
            f'<span style="background:{bg};padding:4px 7px;border-radius:5px;font-size:1.2rem;'
            f'font-family:ui-monospace,monospace">{html.escape(tok)}</span>'
            f'<span style="font-size:0.7rem;color:#888">{int(tid)}</span></span>'
        )
    return '<div style="display:flex;flex-wrap:wrap;align-items:flex-end">' + "".join(chips) + "</div>"


def escape_markdown(text: str) -> str:
    """User text inside Markdown (st.markdown, captions, alerts): Markdown and HTML characters escaped."""
    import re

    return re.sub(r"([\\`*_{}\[\]()#+\-.!|~<>$:])", r"\\\1", text)
