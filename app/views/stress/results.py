"""The Stress tests page's results: tests grouped by capability with their failure rates, a test's failed
cases, one case's two texts side by side with their attributions, the links to the Attributions page,
and the exports. Figures and exports come from explain.behaviour (shared with `bert-lens stress`)."""

from __future__ import annotations

import math
from urllib.parse import urlencode

import numpy as np
import pandas as pd
import streamlit as st

from bert_lens.common import CUSTOM, figure_config, keep_sidebar_state, model_options
from bert_lens.render import escape_markdown
from bert_lens.views.stress.source import tr
from bert_lens.word_diff import comparison, comparison_chart, presented, side_html
from explain import BertLensError
from explain.behaviour.figures import failure_rate_figure, ordered_tests
from explain.behaviour.suite import label_index
from explain.i18n import N_, _, get_language, keep_language, language

VIEWS = {"table": N_("Table"), "chart": N_("Chart")}


# --- the tests -------------------------------------------------------------------------------------------
def summary(result) -> None:
    c = st.columns(4)
    failed = sum(t.n_failed for t in result.tests)
    c[0].metric(_("Tests"), f"{len(result.tests)}")
    c[1].metric(_("Cases"), f"{result.n_cases:,}", help=_("Scored cases; a text a perturbation could not change is "
                                                          "left out, as CheckList does."))
    c[2].metric(_("Failed cases"), f"{failed:,}", help=_("{rate:.1%} of the scored cases.").format(
        rate=failed / result.n_cases if result.n_cases else 0.0))
    c[3].metric(_("Distinct texts"), f"{result.n_texts:,}", help=_("Read by the model in {seconds:.1f} s.").format(
        seconds=result.seconds))
    for notice in result.notices:
        st.caption(tr(notice))


def labelled(frame: pd.DataFrame, columns: dict) -> tuple[pd.DataFrame, dict]:
    """The frame with its column ids replaced by their (translated) labels from the column configs, and the configs
    keyed by those labels: the headers a reader sees are the frame's own columns."""
    names = {k: cfg["label"] for k, cfg in columns.items() if k in frame.columns}
    return frame.rename(columns=names), {names[k]: cfg for k, cfg in columns.items() if k in names}


def _table_height(rows: int) -> int:
    """Pixels for a header and `rows` rows (presenter mode's larger font makes rows taller)."""
    row = 40 if st.session_state.get("present") else 35
    return row + 3 + row * rows


def _rate(test) -> float | None:
    return None if math.isnan(test.failure_rate) else 100 * test.failure_rate


def tests_frame(result) -> tuple[pd.DataFrame, list[int]]:
    order = [i for i, _t in ordered_tests(result)]
    tests = [result.tests[i] for i in order]
    frame = pd.DataFrame({
        "capability": [tr(t.capability) for t in tests], "test": [tr(t.name) for t in tests],
        "type": [t.type for t in tests], "failure_rate": [_rate(t) for t in tests],
        "failed": [t.n_failed for t in tests], "cases": [t.n_cases for t in tests],
        "unchanged": [t.n_skipped for t in tests],
    })
    return frame, order


def _bar_clicked() -> None:
    points = st.session_state.get("stress.chart", {}).get("selection", {}).get("points", [])
    if points:
        data = points[0].get("customdata")
        index = data[0] if isinstance(data, (list, tuple)) else data
        if index is not None:
            st.session_state["stress.test"] = int(index)


def test_columns() -> dict:
    """Widths in pixels: the table fits a laptop's page beside the sidebar (what each test expects is shown
    with its cases)."""
    return {
        "capability": st.column_config.TextColumn(_("capability"), width=100),
        "test": st.column_config.TextColumn(_("test"), width=300),
        "type": st.column_config.TextColumn(_("type"), width=55, help=_(
            "MFT: an expected label; INV: the prediction must not change; DIR: a class probability must move.")),
        "failure_rate": st.column_config.ProgressColumn(_("failure rate"), format="%.1f %%", min_value=0.0,
                                                        max_value=100.0, width=170),
        "failed": st.column_config.NumberColumn(_("failed"), width=65),
        "cases": st.column_config.NumberColumn(_("cases"), width=65),
        "unchanged": st.column_config.NumberColumn(_("unchanged"), width=90,
                                                   help=_("Texts the perturbation could not change: not scored.")),
    }


def tests_view(result) -> int:
    """The tests as a table (failure-rate bars, grouped by capability) or a chart; returns the chosen test."""
    worst = max(range(len(result.tests)), key=lambda i: (np.nan_to_num(result.tests[i].failure_rate, nan=-1), -i))
    chosen = st.session_state.get("stress.test")
    if chosen is None or chosen >= len(result.tests):
        chosen = st.session_state["stress.test"] = worst
    first = "chart" if st.session_state.get("present") else "table"  # a projector: the chart's fonts grow, a table's not
    view = st.segmented_control(_("Show the tests as"), list(VIEWS), format_func=keep_language(lambda v: _(VIEWS[v])),
                                default=first, key="stress.view", label_visibility="collapsed") or first
    if view == "chart":
        st.plotly_chart(presented(failure_rate_figure(result, selected=chosen)), key="stress.chart",
                        on_select=_bar_clicked, selection_mode="points", config=figure_config("stress.failure_rates"))
    else:
        frame, order = tests_frame(result)
        frame, config = labelled(frame, test_columns())
        picked = st.dataframe(frame, key="stress.tests", on_select="rerun", selection_mode="single-row",
                              hide_index=True, width="stretch", height=min(_table_height(len(frame)), 880),
                              column_config=config)
        rows = picked.selection.rows if picked else []
        if rows and rows[0] < len(order):
            st.session_state["stress.test"] = order[rows[0]]
    st.caption(_("Choose a test (a row's box, or a bar of the chart) to list its failed cases. Shown: the test with "
                 "the highest failure rate until you choose."))
    return int(st.session_state["stress.test"])


# --- a test's cases -------------------------------------------------------------------------------------
def cases_frame(test, labels, every: bool) -> tuple[pd.DataFrame, list[int]]:
    index = [k for k, c in enumerate(test.cases) if every or c.passed is False]
    cases = [test.cases[k] for k in index]
    status = {True: _("passed"), False: _("failed"), None: _("unchanged")}
    frame = pd.DataFrame({"result": [status[c.passed] for c in cases], "text": [c.text for c in cases]})
    if test.type == "MFT":
        frame["expected"] = [tr(c.expected) for c in cases]
        frame["prediction"] = [c.before.describe(labels) for c in cases]
    else:
        frame["perturbed"] = [c.perturbed or "" for c in cases]
        frame["before"] = [c.before.describe(labels) for c in cases]
        frame["after"] = [c.after.describe(labels) if c.after else "" for c in cases]
        if test.type == "DIR":
            frame["change"] = [np.nan if c.change is None else c.change for c in cases]
    frame["note"] = [tr(c.note) for c in cases]
    if not every:
        frame = frame.drop(columns="result")
    return frame, index


def case_columns() -> dict:
    return {
        "result": st.column_config.TextColumn(_("result"), width="small"),
        "text": st.column_config.TextColumn(_("text"), width="medium"),
        "perturbed": st.column_config.TextColumn(_("perturbed"), width="medium"),
        "expected": st.column_config.TextColumn(_("expected")),
        "prediction": st.column_config.TextColumn(_("prediction")),
        "before": st.column_config.TextColumn(_("before")),
        "after": st.column_config.TextColumn(_("after")),
        "change": st.column_config.NumberColumn(_("change"), format="%+.3f"),
        "note": st.column_config.TextColumn(_("note")),
    }


def cases_view(result, t: int) -> int | None:
    """The chosen test's failed (or all) cases; returns the chosen case's index in test.cases."""
    test = result.tests[t]
    st.subheader(_("{test}: {failed} of {cases} failed").format(test=escape_markdown(tr(test.name)),
                                                               failed=test.n_failed, cases=test.n_cases))
    parts = [tr(test.capability), test.type, _("expected: {expected}").format(expected=tr(test.expected)),
             tr(test.description)]
    st.caption(escape_markdown(" · ".join(x for x in parts if x)))
    every = st.toggle(_("Passed and unchanged cases too"), key="stress.every")
    frame, index = cases_frame(test, result.labels, every)
    if not len(frame):
        st.info(_("No case of this test failed."))
        return None
    frame, config = labelled(frame, case_columns())
    picked = st.dataframe(frame, key=f"stress.cases.{t}.{every}", on_select="rerun", selection_mode="single-row",
                          hide_index=True, width="stretch", column_config=config,
                          height=min(_table_height(len(frame)), 390))
    rows = picked.selection.rows if picked else []
    if rows and rows[0] < len(index):
        return index[rows[0]]
    st.caption(_("Choose a case (the box at its left) to see its texts side by side with their attributions."))
    return None


# --- one case -------------------------------------------------------------------------------------------
def _target(result, suite, t: int, case) -> int:
    """The class both texts are explained toward: the expected label (MFT), the test's class (DIR), or the class
    predicted on the original (INV, and DIR's 'predicted')."""
    labels = result.labels
    spec, test = suite.tests[t], result.tests[t]
    if test.type == "MFT":
        return label_index(spec.expected, labels)
    if test.type == "DIR" and spec.expected["class"] != "predicted":
        return label_index(spec.expected["class"], labels)
    return labels.index(case.before.label)


def case_view(result, suite, t: int, k: int, spec: str) -> None:
    test, case = result.tests[t], result.tests[t].cases[k]
    labels = result.labels
    if result.task == "token-classification":
        return _tagger_case(test, case, spec)
    target = _target(result, suite, t, case)
    label = labels[target]
    if case.perturbed is None or case.after is None:  # MFT (or a case the perturbation left as it was)
        st.markdown(_("**The text**, predicted {pred} (expected {expected})").format(
            pred=escape_markdown(case.before.describe(labels)), expected=escape_markdown(tr(case.expected))))
        _single(spec, case.text, target)
        _links(spec, case.text, label, "orig")
        return
    try:
        cmp = comparison(spec, case.text, case.perturbed, target)
    except BertLensError as err:
        st.info(str(err))
        return
    left, right = st.columns(2)
    for column, name, text, pred, after in ((left, _("Original"), case.text, case.before, False),
                                            (right, _("Perturbed"), case.perturbed, case.after, True)):
        with column:
            described = escape_markdown(pred.describe(labels))
            st.markdown(_("**{side}**, predicted {pred}").format(side=name, pred=described))
            st.html(side_html(cmp, after))
            _links(spec, text, label, "after" if after else "orig")
    if case.note:
        st.caption(_("What changed: {note}").format(note=escape_markdown(tr(case.note))))
    comparison_chart(cmp, "stress.diff", _("original text"), _("perturbed text"))


def _single(spec: str, text: str, target: int) -> None:
    from bert_lens.common import get_bundle
    from bert_lens.render import colored_tokens
    from explain.attribution.words import merge_words
    from explain.settings import current_settings

    try:
        with st.spinner(_("Attributing…")):
            a = cached_attribution(spec, text, target, current_settings().max_ig_steps, get_bundle(spec))
    except BertLensError as err:
        st.info(str(err))
        return
    w = merge_words(a)
    keep = [i for i in range(len(w.words)) if not w.special[i]]
    st.html(colored_tokens([w.words[i] for i in keep], np.asarray(w.scores)[keep], diverging=True, fmt="{:+.3f}"))
    st.caption(_("Integrated Gradients toward {label} ({steps} steps, adaptive): blue words raise P({label}), red ones "
                 "lower it.").format(label=a.target_label, steps=a.n_steps))


@st.cache_resource(show_spinner=False, max_entries=64)
def cached_attribution(spec: str, text: str, target: int, step_limit, _bundle):
    from explain.attribution.methods import attribute

    return attribute(_bundle, text, method="ig", target=target, n_steps="auto")


def entity_html(text: str, entities) -> str:
    """The text with each entity a tagger found marked and labelled with its type (every character escaped)."""
    import html

    parts, pos = [], 0
    for e in sorted(entities, key=lambda e: e.start):
        if e.start < pos:
            continue
        parts.append(html.escape(text[pos:e.start]))
        parts.append(f'<span style="background:#fde7c8;border-radius:4px;padding:2px 4px">{html.escape(text[e.start:e.end])}'
                     f'<sub style="color:#8a4b00;margin-left:3px">{html.escape(e.type)}</sub></span>')
        pos = e.end
    parts.append(html.escape(text[pos:]))
    return f'<div style="font-size:1.15rem;line-height:2.1">{"".join(parts)}</div>'


def _tagger_case(test, case, spec: str) -> None:
    left, right = st.columns(2)
    sides = [(left, _("Original"), case.text, case.before, "orig")]
    if case.perturbed and case.after is not None:
        sides.append((right, _("Perturbed"), case.perturbed, case.after, "after"))
    for column, name, text, pred, which in sides:
        with column:
            st.markdown(f"**{name}**")
            st.html(entity_html(text, pred.entities))
            st.caption(_("Entities found: {entities}").format(entities=escape_markdown(pred.describe())))
            _links(spec, text, None, which)
    if case.note:
        st.caption(_("What went wrong: {note}").format(note=escape_markdown(tr(case.note))))
    st.caption(_("A tagger's attributions are per word: open a text on the Attributions page and choose the word."))


# --- links to the Attributions page -----------------------------------------------------------------------
def attributions_query(spec: str, text: str, target: str | None) -> dict:
    query = {"model": spec, "text": text, "lang": get_language()}
    if target is not None:
        query["target"] = target
    return query


def _open_attributions(spec: str, text: str, target: str | None) -> None:
    """Button callback: the sidebar takes the case's model and text; the next run switches page."""
    if spec in model_options() and spec != CUSTOM:
        st.session_state["model.choice"] = spec
    else:
        st.session_state["model.choice"], st.session_state["model.custom"] = CUSTOM, spec
    st.session_state["text"], st.session_state["pair"] = text, ""
    keep_sidebar_state()
    st.session_state["stress.go"] = attributions_query(spec, text, target)


def switch_if_asked() -> None:
    """Top of the page: follow an 'Open on the Attributions page' click."""
    query = st.session_state.pop("stress.go", None)
    if query:
        st.switch_page("views/attributions.py", query_params=query)


def _links(spec: str, text: str, target: str | None, which: str) -> None:
    c1, c2 = st.columns(2)
    c1.button(_("Open on the Attributions page"), key=f"stress.open.{which}", on_click=_open_attributions,
              args=(spec, text, target), type="primary" if which == "orig" else "secondary")
    c2.link_button(_("Link (new tab)"), "attributions?" + urlencode(attributions_query(spec, text, target)))


# --- exports --------------------------------------------------------------------------------------------
def downloads(result, file: str, built: dict | None) -> None:
    """Results as JSON, the tests and the failed cases as CSV, the offline HTML report (text escaped), and a test
    built on the page as a suite file for `bert-lens stress`."""
    from explain.behaviour import export

    st.subheader(_("Export"))
    lang = get_language()

    def in_language(make):
        def build() -> str:  # Streamlit calls it in another thread when clicked: keep the reader's language
            with language(lang):
                return make(result)
        return build

    stem = file.rsplit(".", 1)[0]
    c = st.columns(5 if built else 4)
    c[0].download_button(_("Results (JSON)"), in_language(export.results_json), f"stress-{stem}.json",
                         "application/json", key="stress.dl_json", on_click="ignore")
    c[1].download_button(_("Tests (CSV)"), in_language(export.summary_csv), f"stress-{stem}-tests.csv", "text/csv",
                         key="stress.dl_tests", on_click="ignore")
    c[2].download_button(_("Failed cases (CSV)"), in_language(export.failures_csv), f"stress-{stem}-failures.csv",
                         "text/csv", key="stress.dl_failures", on_click="ignore")
    c[3].download_button(_("Report (HTML)"), in_language(export.behaviour_report_html), f"stress-{stem}.html",
                         "text/html", key="stress.dl_report", on_click="ignore", type="primary")
    if built:
        import yaml

        c[4].download_button(_("Suite (YAML)"), yaml.safe_dump(built, allow_unicode=True, sort_keys=False), file,
                             "application/yaml", key="stress.dl_suite", on_click="ignore",
                             help=_("This test as a suite file: bert-lens stress --suite {file} ...").format(file=file))
