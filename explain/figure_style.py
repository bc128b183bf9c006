"""What every BERT Lens figure shares, in the app and in the offline reports: font, layout, labels, export.

No plotly import here: the functions take a figure built elsewhere (explain/compare/figures.py,
explain/dataset/figures.py, app/charts.py).
"""

from __future__ import annotations

from collections.abc import Sequence

FONT = {"size": 15}


def apply_layout(fig, title: str | None, height: int, margin: dict | None = None, **extra):
    """Title, font, height, white background and a horizontal legend above the plot; returns `fig`."""
    fig.update_layout(
        title={"text": title, "font": {"size": 18}, "y": 0.98, "yanchor": "top"} if title else None,
        font=FONT,
        height=height,
        margin=margin or {"l": 10, "r": 10, "t": 80 if title else 30, "b": 10},
        plot_bgcolor="white",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1.0},
        **extra,
    )
    return fig


def unique_labels(tokens: Sequence[str]) -> list[str]:
    """Tokens made unique with zero-width spaces, so repeated tokens keep their own row/column."""
    seen: dict[str, int] = {}
    out = []
    for tok in tokens:
        n = seen.get(tok, 0)
        seen[tok] = n + 1
        out.append(tok + "\u200b" * n)
    return out


def download_config(fmt: str = "png", filename: str = "bert-lens") -> dict:
    """plotly config whose camera button saves the figure as `fmt` ("png" at 2x, or "svg").

    plotly's modebar offers one format per button, so pages that offer both put a PNG/SVG choice
    next to their figures and pass it here.
    """
    options = {"format": fmt, "filename": filename}
    if fmt == "png":
        options["scale"] = 2
    return {"displaylogo": False, "toImageButtonOptions": options}
