"""Exports: CSV cells that a spreadsheet would run are inert; the HTML report escapes text and needs no network."""

from __future__ import annotations

import csv
import io
import re

import plotly.graph_objects as go

from explain.report import Section, Table, csv_text, inert_cell, report_html

HOSTILE = ['=HYPERLINK("http://x","y")', "+1+2", "-3", "@SUM(A1)", "\tx", "<script>alert(1)</script>"]


def test_formula_cells_get_an_apostrophe_and_others_stay():
    assert [inert_cell(v) for v in HOSTILE] == [
        '\'=HYPERLINK("http://x","y")', "'+1+2", "'-3", "'@SUM(A1)", "'\tx", "<script>alert(1)</script>"
    ]
    assert inert_cell(-3.5) == -3.5 and inert_cell("fine") == "fine"


def test_csv_round_trips_to_the_inert_strings():
    text = csv_text(["text", "n"], [(v, i) for i, v in enumerate(HOSTILE)])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["text", "n"]
    assert all(not r[0].startswith(("=", "+", "-", "@", "\t")) for r in rows[1:])


def test_report_escapes_user_text_and_loads_nothing_from_outside():
    fig = go.Figure(go.Bar(x=["<script>alert(1)</script>"], y=[1]))
    page = report_html(
        "Report <b>",
        [Section("Rows", text="<img src=x onerror=alert(1)>", figures=(fig,),
                 tables=(Table("t", ("text",), (("<script>alert(1)</script>",),)),))],
    )
    assert "<script>alert(1)</script>" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "Report &lt;b&gt;" in page
    assert not re.search(r"<script[^>]+src=", page)  # plotly.js is inlined, not fetched
    assert page.count("Plotly.newPlot") == 1
