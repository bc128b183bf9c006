"""The Data set page's parts: the label map, background jobs with progress, one row's explanation, token
classifiers' results. The data and its evaluation: upload.py; the row table: table.py; the heavier views:
heavy.py. Figures come from explain.dataset.figures."""

from __future__ import annotations

from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from bert_lens.common import CUSTOM, get_bundle, keep_sidebar_state, model_options
from bert_lens.render import colored_tokens
from bert_lens.views.dataset.jobs import DataJob, cached_result
from explain import BertLensError
from explain.dataset.evaluate import check_classifier
from explain.dataset.labels import LabelMismatch
from explain.i18n import _, get_language, keep_language
from explain.models.catalog import builtin_models_for
from explain.settings import current_settings

CLASSIFIERS = ("sequence-classification", "token-classification")
JOB_PREFIX = "ds.job."  # session-state keys of this page's jobs
# rows explained / used for head importance and pruning (a seeded sample), on a laptop and on a shared server
ATTR_ROWS, HEAD_ROWS, HOSTED_ATTR_ROWS, HOSTED_HEAD_ROWS = 300, 200, 100, 100


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


# --- labels ------------------------------------------------------------------------------------------
def label_map_from_state(data_hash: str) -> dict[str, str]:
    return st.session_state.get("ds.label_maps", {}).get(data_hash, {})


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
def run_job(state_key: str, key, work, what: str, wait: float = 1.5):
    """The result of `work` for `key`: from the cache, or from this session's job (started if needed).

    A session runs one data-set job at a time: starting one cancels any other running job of this page
    (another data set, other options, another view's computation), with a message. While the job runs,
    a panel shows rows done, time left and a Cancel button, and polls twice a second; None is returned
    then (the caller stops or shows something else).
    """
    found = cached_result(key)
    if found is not None:
        return found
    job: DataJob | None = st.session_state.get(state_key)
    if job is None or job.key != key:
        stopped = stop_running_jobs()
        job = st.session_state[state_key] = DataJob(key, work, label=what).start()
        if stopped:
            job.note = _("One data-set job runs at a time per session: {old} was cancelled to start this one.").format(
                old=", ".join(stopped))
            st.info(job.note)
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


def stop_running_jobs(timeout: float = 30.0) -> list[str]:
    """Cancel this session's running data-set jobs and wait for them to stop (they stop before their next
    batch); their labels."""
    running = [job for k, job in st.session_state.items()
               if str(k).startswith(JOB_PREFIX) and isinstance(job, DataJob) and job.running]
    for job in running:
        job.cancel()
    for job in running:
        job.wait(timeout)
    return [job.label or _("a computation") for job in running]


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
    if job.note:
        st.caption(job.note)
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


def download_text(label: str, data, file: str, mime: str, key: str, column=None) -> None:
    """A download of text; `data` may be a function returning it, then built only when clicked (large files),
    in the session's language."""
    if callable(data):
        made = keep_language(data)
        payload = lambda: made().encode("utf-8")  # noqa: E731
    else:
        payload = data.encode("utf-8")
    (column or st).download_button(label, payload, file, mime, key=key, on_click="ignore")


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
