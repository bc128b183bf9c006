"""Exports every view shares: a standalone HTML report that opens offline, and inert CSV tables.

User text is data, never code: in the report every string is HTML-escaped (plotly puts figure text
into JSON that it escapes itself), and a CSV cell that a spreadsheet would run as a formula
(=, +, -, @, tab, carriage return first) gets a leading apostrophe (OWASP "CSV injection").
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def inert_cell(value: Any) -> Any:
    """A CSV cell a spreadsheet shows as text: strings starting like a formula get a leading '."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """RFC 4180 CSV with every cell made inert (see `inert_cell`)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([inert_cell(h) for h in header])
    for row in rows:
        writer.writerow([inert_cell(v) for v in row])
    return out.getvalue()


@dataclass(frozen=True)
class Table:
    """A table for the report: column names and rows of plain values (formatted with `fmt` when floats)."""

    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    fmt: str = "{:.3f}"


@dataclass(frozen=True)
class Section:
    """One part of a report: a heading, a paragraph, plotly figures and tables, in that order."""

    title: str
    text: str = ""
    figures: tuple[Any, ...] = ()  # plotly.graph_objects.Figure
    tables: tuple[Table, ...] = field(default_factory=tuple)


def report_html(title: str, sections: Sequence[Section], subtitle: str = "") -> str:
    """One self-contained HTML page: plotly.js inlined once, no request leaves the file."""
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title>",
        f"<style>{_CSS}</style>",
        _plotly_js(),
        "</head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    if subtitle:
        parts.append(f"<p class='sub'>{html.escape(subtitle)}</p>")
    for section in sections:
        parts.append(f"<section><h2>{html.escape(section.title)}</h2>")
        if section.text:
            parts.append(f"<p>{html.escape(section.text)}</p>")
        for fig in section.figures:
            parts.append(fig.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False}))
        for table in section.tables:
            parts.append(_table_html(table))
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    return f"<script type='text/javascript'>{get_plotlyjs()}</script>"


def _cell(value: Any, fmt: str) -> str:
    if isinstance(value, float):
        return html.escape(fmt.format(value))
    return html.escape(str(value))


def _table_html(table: Table) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in table.header)
    body = "".join("<tr>" + "".join(f"<td>{_cell(v, table.fmt)}</td>" for v in row) + "</tr>" for row in table.rows)
    return f"<h3>{html.escape(table.title)}</h3><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC","WenQuanYi Micro Hei",sans-serif;
margin:2rem auto;max-width:1100px;color:#111;padding:0 1rem}
h1{font-size:1.8rem}h2{font-size:1.35rem;border-bottom:1px solid #ddd;padding-bottom:.3rem;margin-top:2rem}
h3{font-size:1.05rem}.sub{color:#555}
table{border-collapse:collapse;font-size:.9rem;margin:.5rem 0 1.5rem}
th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f5f9}
"""
