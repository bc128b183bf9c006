"""The Data set page's heavier views (words and shortcuts, heads, projector), its figures and exports.

Each heavy view starts its background job only when it is opened; results are cached per (model, data,
options) in bert_lens.views.dataset.jobs.RESULTS. Figures come from explain.dataset.figures (shared with the CLI
report); the page only adds the click plumbing and the download format.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from bert_lens.common import figure_config
from bert_lens.views.dataset.jobs import cached_result
from bert_lens.views.dataset.parts import download_text, explain_row, run_job
from explain.i18n import N_, _, get_language, language
from explain.report import csv_text
from explain.settings import current_settings

COLOURS = {"gold": N_("gold label"), "predicted": N_("prediction"), "correct": N_("correct or not"),
           "confidence": N_("confidence")}
ATTR_METHODS = {"ig": N_("Integrated Gradients (adaptive steps)"), "input_x_gradient": N_("Input × gradient"),
                "saliency": N_("Saliency")}


PRUNING_ROWS, PRUNING_POINTS = 100, 13  # the curve costs rows x points x 2 forward passes


def config(name: str) -> dict:
    """The sidebar's figure download format (PNG or SVG) for the camera button."""
    return figure_config(f"dataset.{name}")


def figures():
    from explain.dataset import figures as module  # plotly: imported when a figure is drawn

    return module


def sample_index(n: int, limit: int) -> np.ndarray:
    """A seeded sample of at most `limit` of n rows, in row order (the heavy views' rows)."""
    if n <= limit:
        return np.arange(n)
    return np.sort(np.random.default_rng(0).choice(n, limit, replace=False))


# --- words and shortcuts ---------------------------------------------------------------------------
def words_key(key, method: str, target: str, limit: int):
    """Cache key of the aggregated attributions (the server's IG step limit included: adaptive IG stops there)."""
    return ("words", *key[1:], method, target, limit, current_settings().max_ig_steps)


def words_view(ev, bundle, key, limit: int) -> None:
    c1, c2 = st.columns(2)
    method = c1.selectbox(_("Method"), list(ATTR_METHODS), format_func=lambda m: _(ATTR_METHODS[m]), key="ds.method")
    target = c2.radio(_("Explain toward"), ["predicted", "gold"], horizontal=True, key="ds.target",
                      format_func={"predicted": _("the prediction"), "gold": _("the gold label")}.get)
    index = sample_index(len(ev), limit)
    if len(index) < len(ev):
        st.caption(_("A seeded sample of {k:,} of the {n:,} rows is explained.").format(k=len(index), n=len(ev)))

    def work(progress, cancel):
        from explain.dataset.attributions import dataset_attributions
        from explain.dataset.words import word_summary

        sub = _sub_evaluation(ev, index)
        da = dataset_attributions(bundle, sub.rows, method=method, target=target, evaluation=sub,
                                  match=ev.match, progress=progress, cancel=cancel)
        return da, word_summary(da, sub.y_true)

    wkey = words_key(key, method, target, len(index))
    found = run_job("ds.job.words", wkey, work, _("Explaining rows"))
    if found is None:
        return
    st.session_state["ds.done.words"] = wkey
    da, summary = found
    figs = figures().class_word_figures(summary)
    cols = st.columns(min(len(figs), 2) or 1)
    for n, fig in enumerate(figs):
        cols[n % len(cols)].plotly_chart(fig, key=f"ds.words.{n}", config=config(f"words-{n}"))
    if summary.shortcuts:
        st.markdown(_("**Possible shortcuts**: words with a high attribution whose frequency is skewed to one class "
                      "(log-odds ratio with an informative Dirichlet prior, Monroe et al. 2008). Judge each one: a "
                      "genuine cue, or a name, title or habit of one class?"))
        st.plotly_chart(figures().shortcut_figure(summary), key="ds.shortcuts", config=config("shortcuts"))
        shortcuts = pd.DataFrame(figures().shortcut_rows(summary), columns=figures().shortcut_header(summary))
        st.dataframe(shortcuts, hide_index=True, width="stretch")
        download_text(_("Shortcuts (CSV)"), export().shortcuts_csv(summary), "dataset-shortcuts.csv", "text/csv",
                      "ds.dl_short")
    else:
        st.caption(_("No word passes the shortcut test (z ≥ {z}).").format(z=summary.z_threshold))
    d = da.delta_summary()
    if d:
        st.caption(_("{method}: {rows:,} rows, {steps:.1f} steps on average (median completeness gap {median:.2%}, "
                     "90 percent under {p90:.2%}; {conv:.0%} of rows met the 1 percent condition) in {seconds:.1f} s.").format(
            method=da.method, rows=len(da), steps=d["mean_steps"], median=d["median"], p90=d["p90"],
            conv=d["converged"], seconds=da.seconds))
    st.dataframe(pd.DataFrame(summary.table()), hide_index=True, width="stretch")
    download_text(_("Words (CSV)"), export().words_csv(summary), "dataset-words.csv", "text/csv", "ds.dl_words")


def _sub_evaluation(ev, index: np.ndarray):
    """The evaluation restricted to `index` (for the sampled heavy views), predictions reused."""
    from explain.dataset.evaluate import concat_evaluations

    if len(index) == len(ev):
        return ev
    from dataclasses import replace

    from explain.run import _frozen

    sub = replace(ev, rows=ev.rows.subset(index), **{
        name: _frozen(np.asarray(getattr(ev, name))[index])
        for name in ("y_true", "y_pred", "logits", "probs", "loss", "correct", "n_tokens", "truncated")},
        features=None if ev.features is None or ev.feature_rows is not None else _frozen(ev.features[index]),
        feature_rows=None)
    return concat_evaluations([sub])  # recomputes the metrics of the sample


# --- heads -----------------------------------------------------------------------------------------------
def heads_view(ev, bundle, key, limit: int) -> None:
    index = sample_index(len(ev), limit)
    st.markdown(_("**Head importance** (Michel et al. 2019): the mean |∂ loss / ∂ gate| of a gate on each head's "
                  "output over the rows, normalised per layer; then the **pruning curve**: accuracy as the least "
                  "important heads are masked, next to a random order."))
    st.caption(_("Importance over {k:,} of the {n:,} rows (a seeded sample); the pruning curve re-runs the first "
                 "{p:,} of them at {points} points, for both orders.").format(
        k=len(index), n=len(ev), p=min(len(index), PRUNING_ROWS), points=PRUNING_POINTS))

    def work(progress, cancel):
        from explain.dataset.heads import dataset_head_importance, default_ks, pruning_curve

        rows = ev.rows.subset(index)
        imp = dataset_head_importance(bundle, rows, match=ev.match, cancel=cancel,
                                      progress=lambda d, t: progress(d, t, _("Head importance")))
        L, H = imp.normalized.shape  # the curve re-runs its rows once per point and order: fewer of both
        curve = pruning_curve(bundle, rows.subset(range(min(len(rows), PRUNING_ROWS))), imp,
                              ks=default_ks(L * H, PRUNING_POINTS), match=ev.match, cancel=cancel,
                              progress=lambda d, t: progress(d, t, _("Pruning curve")))
        return imp, curve

    hkey = ("heads", *key[1:], len(index), PRUNING_ROWS, PRUNING_POINTS)
    found = run_job("ds.job.heads", hkey, work, _("Head importance"))
    if found is None:
        return
    st.session_state["ds.done.heads"] = hkey
    imp, curve = found
    left, right = st.columns(2)
    left.plotly_chart(figures().head_importance_grid(imp, title=_("Head importance (per layer)")), key="ds.heads",
                      config=config("heads"))  # the shared title is too long for half a page
    right.plotly_chart(figures().pruning_figure(curve), key="ds.pruning", config=config("pruning"))
    c1, c2 = st.columns(2)
    download_text(_("Head importance (CSV)"), export().heads_csv(imp), "dataset-heads.csv", "text/csv", "ds.dl_heads", c1)
    download_text(_("Pruning curve (CSV)"), export().pruning_csv(curve), "dataset-pruning.csv", "text/csv",
                  "ds.dl_prune", c2)


# --- projector -------------------------------------------------------------------------------------------
def point_clicked() -> None:
    """Projector click: the point's row (customdata holds the row index; it comes back as a dict or list)."""
    points = st.session_state.get("ds.projector", {}).get("selection", {}).get("points", [])
    if points:
        data = points[0].get("customdata")
        row = data[0] if isinstance(data, (list, tuple)) else (data.get("0") if isinstance(data, dict) else data)
        if row is None:
            row = points[0].get("point_index")
        if row is not None:
            st.session_state["ds.point"] = int(row)


@st.cache_resource(show_spinner=False, max_entries=8)
def cached_pca(key, _ev):
    from explain.dataset.projector import pca

    return pca(_ev.features, 3)


def projector_view(ev, spec: str, key) -> None:
    if ev.features is None:
        st.info(_("This evaluation kept no head inputs to project."))
        return

    c1, c2 = st.columns([3, 1])
    colour = c1.radio(_("Colour by"), list(COLOURS), horizontal=True, key="ds.colour", format_func=lambda c: _(COLOURS[c]))
    three = c2.toggle(_("3-D"), key="ds.3d")
    proj = cached_pca(key, ev)
    shown = ev.projected_rows
    fig = figures().projector(proj.coordinates, ev.labels, ev.y_true[shown], ev.y_pred[shown], ev.confidence[shown],
                              colour_by=colour, dims=3 if three else 2, texts=[ev.rows.texts[i] for i in shown],
                              index=shown, explained=proj.explained_variance_ratio)
    st.plotly_chart(fig, key="ds.projector", on_select=point_clicked, selection_mode="points",
                    config=config("projector"))
    st.caption(_("PCA of {what} (explained variance {var}). Click a point to see its row.").format(
        what=_(ev.feature_name), var=", ".join(f"{v:.1%}" for v in proj.explained_variance_ratio)))
    if ev.feature_rows is not None:
        st.caption(sample_caption(ev))
    row = st.session_state.get("ds.point")
    if row is not None and row < len(ev):
        explain_row(ev, row, spec)


def sample_caption(ev) -> str:
    """How many rows the projector shows and how they were drawn."""
    from explain.dataset.sampling import default_floor, strata_of

    groups = len(np.unique(strata_of(ev.y_true, ev.correct)))
    return _("Showing {k:,} of {n:,} rows: a fixed random sample (seed 0) stratified by gold label and correct or "
             "wrong, each group in proportion to its size with at least {floor:,} rows (or all of a smaller "
             "group).").format(k=len(ev.feature_rows), n=len(ev), floor=default_floor(len(ev.feature_rows), groups))


# --- exports ---------------------------------------------------------------------------------------------
def export():
    from explain.dataset import export as module

    return module


def downloads(ev, key, data_name: str) -> None:
    """Every table as CSV, predictions as JSONL, metrics.json and the standalone HTML report (with the
    heavy views this session has computed for this evaluation)."""
    st.subheader(_("Export"))
    x = export()
    if not hasattr(ev, "metrics"):  # a token classifier: entity table and per-row tags
        c = st.columns(3)
        table = ev.entities.table()
        header = tuple(table[0]) if table else ("type",)
        download_text(_("Entities (CSV)"), csv_text(header, ([r[h] for h in header] for r in table)),
                      "dataset-entities.csv", "text/csv", "ds.dl_entities", c[0])
        download_text(_("Predictions (JSONL)"), x.jsonl(ev.records()), "predictions.jsonl", "application/jsonl",
                      "ds.dl_jsonl", c[1])
        return
    c = [*st.columns(3), *st.columns(3)]
    rows_csv = lambda: x.rows_csv({"row": i, **r} for i, r in enumerate(ev.records()))  # noqa: E731 - built on click
    download_text(_("Per class (CSV)"), x.per_class_csv(ev.metrics), "dataset-per-class.csv", "text/csv",
                  "ds.dl_class", c[0])
    download_text(_("Confusion (CSV)"), x.confusion_csv(ev.metrics), "dataset-confusion.csv", "text/csv",
                  "ds.dl_confusion", c[1])
    download_text(_("Rows (CSV)"), rows_csv, "dataset-rows.csv", "text/csv", "ds.dl_rows", c[2])
    download_text(_("Predictions (JSONL)"), lambda: x.predictions_jsonl(ev), "predictions.jsonl", "application/jsonl",
                  "ds.dl_jsonl", c[3])
    download_text(_("Metrics (JSON)"), x.metrics_json(ev.metrics, model=ev.model_name, data=data_name),
                  "metrics.json", "application/json", "ds.dl_metrics", c[4])
    words = cached_result(st.session_state.get("ds.done.words"))
    heads = cached_result(st.session_state.get("ds.done.heads"))
    projection = cached_pca(key, ev) if ev.features is not None else None
    lang = get_language()

    def report() -> str:  # built only when clicked (Streamlit calls it in another thread: keep the language)
        with language(lang):
            da, summary = words or (None, None)
            imp, curve = heads or (None, None)
            return x.evaluation_report_html(ev, data_name=data_name, attributions=da, summary=summary,
                                            importance=imp, curve=curve, projection=projection)

    c[5].download_button(_("Report (HTML)"), report, "bert-lens-dataset.html", "text/html", key="ds.dl_report",
                         on_click="ignore", type="primary")


def confusion_figure(ev):
    cell = st.session_state.get("ds.cell")
    return figures().confusion_matrix(ev.metrics, selected=cell if cell and max(cell) < len(ev.labels) else None)


def reliability_figure(ev):
    """The shared reliability diagram with a title that fits half a page and its legend inside the plot's
    empty upper-left corner (page-only layout; the report keeps the shared figure as it is)."""
    m = ev.metrics
    fig = figures().reliability_diagram(m.reliability, m.ece, title=_("Reliability (ECE {ece:.3f})").format(ece=m.ece))
    fig.update_layout(legend={"orientation": "v", "x": 0.02, "xanchor": "left", "y": 0.98, "yanchor": "top",
                              "bgcolor": "rgba(255,255,255,0.8)"})
    return fig
