"""The Data set page's parts: data and label matching, background jobs with progress, the row table,
one row's explanation, and the lazily computed views. Figures come from explain.dataset.figures."""

from __future__ import annotations

from urllib.parse import urlencode

import numpy as np
import pandas as pd
import streamlit as st

from bert_lens.common import CUSTOM, get_bundle, keep_sidebar_state, model_options
from bert_lens.render import colored_tokens
from bert_lens.views.dataset.jobs import DataJob, cached_result
from explain import BertLensError
from explain.dataset.evaluate import check_classifier, evaluate
from explain.dataset.labels import LabelMismatch, match_labels
from explain.dataset.reader import Rows, read_rows
from explain.i18n import N_, _, get_language
from explain.models.catalog import builtin_models_for
from explain.settings import current_settings

CLASSIFIERS = ("sequence-classification", "token-classification")
MAX_ROWS = 10_000  # rows evaluated at most (the server's max_data_rows can lower it); a larger file is sampled
# rows explained / used for head importance and pruning (a seeded sample), on a laptop and on a shared server
ATTR_ROWS, HEAD_ROWS, HOSTED_ATTR_ROWS, HOSTED_HEAD_ROWS = 300, 200, 100, 100
SORTS = {"loss": N_("loss, highest first"), "confidence": N_("confidence, highest first"),
         "unsure": N_("confidence, lowest first"), "file": N_("file order")}


def max_rows() -> int:
    """Rows of a data set read per request: the server's `max_data_rows` (hosted: 2,000), at most MAX_ROWS."""
    limit = current_settings().max_data_rows
    return MAX_ROWS if limit is None else min(MAX_ROWS, limit)


def cap_message(rows: Rows) -> str | None:
    """The message shown when the file was sampled down to `max_rows()` by this server's setting."""
    limit = current_settings().max_data_rows
    if limit is None or limit >= MAX_ROWS or not rows.notices or len(rows) != limit:
        return None
    return _("This server reads at most {k:,} rows of a data set per request (its max_data_rows setting): the "
             "rows below are a seeded random sample of your file. Run `bert-lens evaluate` on your own machine for "
             "every row.").format(k=limit)


def heavy_rows() -> tuple[int, int]:
    """Rows for aggregated attributions and for head importance (BERT_LENS_HOSTED=1: fewer)."""
    return (HOSTED_ATTR_ROWS, HOSTED_HEAD_ROWS) if current_settings().hosted else (ATTR_ROWS, HEAD_ROWS)


def model_problem(bundle) -> str | None:
    """Why this model cannot be evaluated on labelled rows (None when it can)."""
    if bundle.task == "token-classification":
        return None
    try:
        check_classifier(bundle)
    except BertLensError as err:
        return _("{reason} Choose a classifier, e.g. the shipped sentiment head:").format(reason=err)
    return None


def suggested_models() -> list[str]:
    return builtin_models_for("sequence-classification")[:2]


@st.cache_data(show_spinner=False, max_entries=8)
def cached_rows(raw: bytes, name: str, limit: int) -> Rows:
    return read_rows(raw, name=name, max_rows=limit)


# --- labels ------------------------------------------------------------------------------------------
def data_labels(bundle, rows: Rows) -> list[str]:
    """Labels to match: one per row, or every tag of every row for a token classifier."""
    if bundle.task == "token-classification":
        return [t for label in rows.labels for t in label.split()]
    return list(rows.labels)


def label_map_from_state(data_hash: str) -> dict[str, str]:
    return st.session_state.get("ds.label_maps", {}).get(data_hash, {})


def label_match(bundle, rows: Rows, label_map: dict[str, str]):
    return match_labels(data_labels(bundle, rows), bundle.labels, label_map)


def label_map_editor(err: LabelMismatch, data_hash: str) -> None:
    """One chooser per unknown data label (-> a model label); Apply stores the map for this data."""
    cols = st.columns(min(len(err.unknown), 4) or 1)
    for i, label in enumerate(err.unknown[:40]):
        cols[i % len(cols)].selectbox(label, err.model_labels, index=None, key=f"ds.map.{data_hash}.{i}",
                                      placeholder=_("model label…"))
    chosen = {label: st.session_state.get(f"ds.map.{data_hash}.{i}") for i, label in enumerate(err.unknown[:40])}
    missing = [label for label, target in chosen.items() if not target]
    if st.button(_("Use this label map"), type="primary", disabled=bool(missing), key="ds.map.apply"):
        maps = st.session_state.setdefault("ds.label_maps", {})
        maps[data_hash] = {**maps.get(data_hash, {}), **chosen}
        st.rerun()
    if missing:
        st.caption(_("Still to map: {labels}").format(labels=", ".join(missing[:10])))


# --- background jobs ---------------------------------------------------------------------------------
def evaluate_rows(bundle, rows: Rows, label_map: dict, progress, cancel):
    return evaluate(bundle, rows, label_map=label_map, progress=progress, cancel=cancel)


def run_job(state_key: str, key, work, what: str, wait: float = 1.5):
    """The result of `work` for `key`: from the cache, or from this session's job (started if needed).

    While the job runs, a panel shows rows done, time left and a Cancel button, and polls twice a
    second; None is returned then (the caller stops or shows something else).
    """
    found = cached_result(key)
    if found is not None:
        return found
    job: DataJob | None = st.session_state.get(state_key)
    if job is None or job.key != key:
        if job is not None and job.running:
            job.cancel()
        job = st.session_state[state_key] = DataJob(key, work).start()
        job.wait(wait)  # small data sets finish here, without a progress bar flashing by
    if job.result is not None:
        return job.result
    if not job.running:
        (st.info if job.cancelled else st.error)(job.error or _("Stopped."))
        if st.button(_("Run again"), key=f"{state_key}.again"):
            del st.session_state[state_key]
            st.rerun()
        return None
    st.fragment(_progress_panel, run_every=0.5)(state_key, what)
    return None


def _progress_panel(state_key: str, what: str) -> None:
    job: DataJob | None = st.session_state.get(state_key)
    if job is None:
        return
    if not job.running:
        st.rerun(scope="app")
    total = max(job.total, 1)
    text = _("{what}: {done:,} of {total:,} rows").format(what=job.stage or what, done=job.done, total=job.total)
    if job.eta is not None:
        text += " · " + _("about {seconds:.0f} s left").format(seconds=job.eta)
    st.progress(min(job.done / total, 1.0), text=text)
    st.button(_("Cancel"), key=f"{state_key}.cancel", on_click=job.cancel)


# --- rows ----------------------------------------------------------------------------------------------
def cell_clicked() -> None:
    """Confusion-matrix click: keep the (gold, predicted) cell (points come back as dicts: read x and y)."""
    points = st.session_state.get("ds.confusion", {}).get("selection", {}).get("points", [])
    labels = st.session_state.get("ds.labels", ())
    if points and "x" in points[0] and "y" in points[0] and labels:
        x, y = points[0]["x"], points[0]["y"]
        gold = labels.index(y) if y in labels else int(y)
        pred = labels.index(x) if x in labels else int(x)
        st.session_state["ds.cell"] = (int(gold), int(pred))


def clear_cell() -> None:
    st.session_state.pop("ds.cell", None)


def row_frame(ev) -> pd.DataFrame:
    r = ev.rows
    frame = pd.DataFrame({  # the columns to sort and judge by first, the (long) text last
        "row": np.arange(len(ev)), "gold": [ev.labels[k] for k in ev.y_true],
        "prediction": [ev.labels[k] for k in ev.y_pred], "confidence": ev.confidence, "loss": ev.loss,
        "correct": ev.correct, "text": r.texts, "line": r.lines,
    })
    if r.has_pairs:
        frame.insert(7, "text_pair", [p or "" for p in r.pairs])
    return frame


def row_table(ev) -> tuple[pd.DataFrame, np.ndarray, str]:
    """Filter controls and the filtered, sorted row table; also the rows' indices and a key for the filter."""
    st.session_state["ds.labels"] = tuple(ev.labels)
    frame = row_frame(ev)
    c1, c2, c3, c4 = st.columns([1.2, 1.6, 2.4, 1.6])
    errors_only = c1.toggle(_("Errors only"), key="ds.errors")
    sort = c2.selectbox(_("Sort by"), list(SORTS), format_func=lambda s: _(SORTS[s]), key="ds.sort")
    search = c3.text_input(_("Search the text"), key="ds.search", placeholder=_("a word or phrase…")).strip()
    keep = np.ones(len(ev), dtype=bool)
    cell = st.session_state.get("ds.cell")
    if cell is not None and max(cell) < len(ev.labels):
        keep &= (ev.y_true == cell[0]) & (ev.y_pred == cell[1])
        c4.button(_("All cells ✕"), key="ds.cell.clear", on_click=clear_cell,
                  help=_("Showing gold {gold} predicted as {pred}; click to show every cell.").format(
                      gold=ev.labels[cell[0]], pred=ev.labels[cell[1]]))
        st.caption(_("Rows of gold label {gold} predicted as {pred}.").format(gold=ev.labels[cell[0]],
                                                                              pred=ev.labels[cell[1]]))
    if errors_only:
        keep &= ~ev.correct
    if search:
        folded = search.casefold()
        keep &= np.array([folded in t.casefold() or folded in (p or "").casefold()
                          for t, p in zip(ev.rows.texts, ev.rows.pairs)])
    shown = frame[keep]
    if sort != "file":
        column = "loss" if sort == "loss" else "confidence"
        shown = shown.sort_values(column, ascending=sort == "unsure", kind="stable")
    index = shown["row"].to_numpy()
    return shown, index, f"{cell}.{errors_only}.{search}.{sort}"


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


# --- one row ------------------------------------------------------------------------------------------
@st.cache_resource(show_spinner=False, max_entries=64)
def cached_row_attribution(spec: str, text: str, pair: str | None, target: int, step_limit, _bundle):
    """Adaptive IG toward `target`; step_limit (the server's max_ig_steps, where adaptive IG stops) is in the key."""
    from explain.attribution.methods import attribute

    return attribute(_bundle, text, pair, method="ig", target=target, n_steps="auto")


def attributions_query(spec: str, text: str, pair: str | None, target: str) -> dict:
    query = {"model": spec, "text": text, "target": target, "lang": get_language()}
    if pair:
        query["pair"] = pair
    return query


def _open_attributions(spec: str, text: str, pair: str | None, target: str) -> None:
    """Button callback: the sidebar takes the row's model, text and pair; the next run switches page."""
    if spec in model_options() and spec != CUSTOM:
        st.session_state["model.choice"] = spec
    else:
        st.session_state["model.choice"], st.session_state["model.custom"] = CUSTOM, spec
    st.session_state["text"], st.session_state["pair"] = text, pair or ""
    keep_sidebar_state()
    st.session_state["ds.go"] = attributions_query(spec, text, pair, target)


def switch_if_asked() -> None:
    """Top of the page: follow an 'Open on the Attributions page' click."""
    query = st.session_state.pop("ds.go", None)
    if query:
        st.switch_page("views/attributions.py", query_params=query)


def explain_row(ev, i: int, spec: str) -> None:
    """Row i: its text coloured by adaptive Integrated Gradients toward its gold label, and the links."""
    text, pair = ev.rows.texts[i], ev.rows.pairs[i]
    gold, pred = int(ev.y_true[i]), int(ev.y_pred[i])
    verdict = _("correct") if gold == pred else _("wrong")
    st.markdown(_("**Row {row}** (line {line}): gold **{gold}**, predicted **{pred}** with {conf:.1%} ({verdict}).")
                .format(row=i, line=ev.rows.lines[i], gold=plain(ev.labels[gold]), pred=plain(ev.labels[pred]),
                        conf=float(ev.probs[i, pred]), verdict=verdict))
    try:
        with st.spinner(_("Attributing…")):
            a = cached_row_attribution(spec, text, pair, gold, current_settings().max_ig_steps, get_bundle(spec))
    except BertLensError as err:
        st.info(str(err))
        return
    from explain.attribution.words import merge_words

    w = merge_words(a)
    st.html(colored_tokens(list(w.words), w.scores, diverging=True, fmt="{:+.3f}"))
    st.caption(_("Integrated Gradients toward the gold label {gold}: blue words raise its score, red ones lower it "
                 "({steps} steps, chosen so that the completeness gap is under 1 %).").format(
        gold=ev.labels[gold], steps=a.n_steps))
    c1, c2 = st.columns(2)
    target = ev.labels[gold]
    c1.button(_("Open on the Attributions page"), type="primary", key="ds.open_attr",
              on_click=_open_attributions, args=(spec, text, pair, target))
    c2.link_button(_("Link to share (new tab)"), "attributions?" + urlencode(attributions_query(spec, text, pair, target)))


def plain(text: str) -> str:
    """User text inside Markdown: Markdown characters escaped."""
    import re

    return re.sub(r"([\\`*_{}\[\]()#+\-.!|~<>$:])", r"\\\1", text)


def download_text(label: str, data: str, file: str, mime: str, key: str, column=None) -> None:
    (column or st).download_button(label, data.encode("utf-8"), file, mime, key=key, on_click="ignore")


# --- token classifiers ---------------------------------------------------------------------------------
def is_tagging(ev) -> bool:
    return hasattr(ev, "entities")


def tagging_results(ev) -> None:
    """A token classifier: entity-level scores (seqeval-style, BIO), the per-type table and the rows."""
    e = ev.entities
    c = st.columns(4)
    c[0].metric(_("Entity F1 (micro)"), f"{e.micro_f1:.3f}")
    c[1].metric(_("Entity F1 (macro)"), f"{e.macro_f1:.3f}")
    c[2].metric(_("Word accuracy"), f"{ev.word_accuracy:.1%}")
    c[3].metric(_("Rows"), f"{len(ev.loss):,}")
    for notice in ev.notices:
        st.caption(notice)
    st.dataframe(pd.DataFrame(e.table()), hide_index=True, width="stretch")
    frame = pd.DataFrame({"line": ev.rows.lines, "text": ev.rows.texts, "loss": ev.loss, "all words right": ev.correct})
    st.dataframe(frame.sort_values("loss", ascending=False), hide_index=True, width="stretch")
    st.caption(_("Aggregated attributions, heads and the projector are for sequence classifiers."))
