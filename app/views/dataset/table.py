"""The Data set page's row table: filters (confusion cell, errors only, search), a sort, and pages.

Filtering and sorting work on the evaluation's numpy arrays; only the rows of the page shown become a
DataFrame, so 50,000 rows never go to st.dataframe at once. The caption says which rows are shown of how
many; choosing a row explains it below the table.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pandas as pd
import streamlit as st

from bert_lens.views.dataset.parts import clear_cell, explain_row
from explain.i18n import N_, _

SORTS = {"loss": N_("loss, highest first"), "confidence": N_("confidence, highest first"),
         "unsure": N_("confidence, lowest first"), "file": N_("file order")}
PAGE_SIZES = (25, 100, 500)
DEFAULT_PAGE_SIZE = 100


def row_frame(ev, index: np.ndarray) -> pd.DataFrame:
    """The rows `index` as a table: the columns to sort and judge by first, the (long) text last."""
    r = ev.rows
    frame = pd.DataFrame({
        "row": index, "gold": [ev.labels[k] for k in ev.y_true[index]],
        "prediction": [ev.labels[k] for k in ev.y_pred[index]], "confidence": ev.confidence[index],
        "loss": ev.loss[index], "correct": ev.correct[index], "text": [r.texts[i] for i in index],
        "line": [r.lines[i] for i in index],
    })
    if r.has_pairs:
        frame.insert(7, "text_pair", [r.pairs[i] or "" for i in index])
    return frame


def filtered_rows(ev, cell, errors_only: bool, search: str, sort: str) -> np.ndarray:
    """Indices of the rows that pass the filters, in the chosen order, (K,)."""
    keep = np.ones(len(ev), dtype=bool)
    if cell is not None:
        keep &= (ev.y_true == cell[0]) & (ev.y_pred == cell[1])
    if errors_only:
        keep &= ~ev.correct
    if search:
        folded = search.casefold()
        keep &= np.fromiter((folded in t.casefold() or folded in (p or "").casefold()
                             for t, p in zip(ev.rows.texts, ev.rows.pairs)), dtype=bool, count=len(ev))
    index = np.flatnonzero(keep)
    if sort != "file":
        values = ev.loss[index] if sort == "loss" else ev.confidence[index]
        index = index[np.argsort(values if sort == "unsure" else -values, kind="stable")]
    return index


def row_columns() -> dict:
    return {
        "row": st.column_config.NumberColumn(_("row"), width="small"),
        "line": st.column_config.NumberColumn(_("line"), width="small"),
        "text": st.column_config.TextColumn(_("text"), width="large"),
        "gold": st.column_config.TextColumn(_("gold"), width="small"),
        "prediction": st.column_config.TextColumn(_("prediction"), width="small"),
        "confidence": st.column_config.ProgressColumn(_("confidence"), format="%.3f", min_value=0.0, max_value=1.0,
                                                     width="small"),
        "loss": st.column_config.NumberColumn(_("loss (nats)"), format="%.3f"),
        "correct": st.column_config.CheckboxColumn(_("correct"), width="small"),
    }


def rows_section(ev, spec: str) -> None:
    """Filters, one page of the filtered rows, and the chosen row's explanation."""
    st.subheader(_("Rows"))
    st.session_state["ds.labels"] = tuple(ev.labels)
    c1, c2, c3, c4 = st.columns([1.2, 1.6, 2.4, 1.6])
    errors_only = c1.toggle(_("Errors only"), key="ds.errors")
    sort = c2.selectbox(_("Sort by"), list(SORTS), format_func=lambda s: _(SORTS[s]), key="ds.sort")
    search = c3.text_input(_("Search the text"), key="ds.search", placeholder=_("a word or phrase…")).strip()
    cell = st.session_state.get("ds.cell")
    if cell is not None and max(cell) >= len(ev.labels):
        cell = None
    if cell is not None:
        c4.button(_("All cells ✕"), key="ds.cell.clear", on_click=clear_cell,
                  help=_("Showing gold {gold} predicted as {pred}; click to show every cell.").format(
                      gold=ev.labels[cell[0]], pred=ev.labels[cell[1]]))
        st.caption(_("Rows of gold label {gold} predicted as {pred}.").format(gold=ev.labels[cell[0]],
                                                                              pred=ev.labels[cell[1]]))
    index = filtered_rows(ev, cell, errors_only, search, sort)
    page_index = page_of(index, f"{cell}.{errors_only}.{search}.{sort}", len(ev))
    filter_key = f"{cell}.{errors_only}.{search}.{sort}.{st.session_state.get('ds.page')}.{len(page_index)}"
    selection = st.dataframe(
        row_frame(ev, page_index), key=f"ds.rows.{hashlib.sha1(filter_key.encode()).hexdigest()[:10]}",
        on_select="rerun", selection_mode="single-row", hide_index=True, width="stretch",
        column_config=row_columns(), height=min(420, 38 + 35 * max(len(page_index), 1)),
    )
    picked = selection.selection.rows if selection else []
    if picked and picked[0] < len(page_index):
        explain_row(ev, int(page_index[picked[0]]), spec)
    elif len(page_index):
        st.caption(_("Choose a row (the box at its left) to see its explanation here."))
    else:
        st.info(_("No row matches these filters."))


def page_of(index: np.ndarray, filters: str, total: int) -> np.ndarray:
    """A page size and page number (back to page 1 when the filters change) and the rows of that page."""
    pages_for = lambda size: max(1, math.ceil(len(index) / size))  # noqa: E731
    if st.session_state.get("ds.page_filters") != filters:
        st.session_state["ds.page_filters"], st.session_state["ds.page"] = filters, 1
    size = st.session_state.get("ds.page_size", DEFAULT_PAGE_SIZE)
    st.session_state["ds.page"] = min(max(1, int(st.session_state.get("ds.page", 1))), pages_for(size))
    c1, c2, c3 = st.columns([1, 1, 3])
    size = c1.selectbox(_("Rows per page"), PAGE_SIZES, index=PAGE_SIZES.index(DEFAULT_PAGE_SIZE), key="ds.page_size")
    pages = pages_for(size)
    if st.session_state["ds.page"] > pages:
        st.session_state["ds.page"] = pages
    page = int(c2.number_input(_("Page"), min_value=1, max_value=pages, step=1, key="ds.page"))
    first = (page - 1) * size
    shown = index[first:first + size]
    if len(shown):
        c3.caption(_("Rows {first:,} to {last:,} of {n:,} that match ({total:,} rows evaluated); page {page:,} of "
                     "{pages:,}.").format(first=first + 1, last=first + len(shown), n=len(index), total=total,
                                          page=page, pages=pages))
    else:
        c3.caption(_("No row of the {total:,} evaluated matches.").format(total=total))
    return shown
