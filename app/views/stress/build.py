"""A one-test suite built on the Stress tests page: a template filled from lexicons, or the user's texts
perturbed, written as the same data a suite file holds and checked by the library (suite_from_data), so
it runs, caches and exports like any suite, and downloads as YAML for the command line."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from explain import BertLensError
from bert_lens.views.stress.source import tr
from explain.behaviour.lexicons import known_lexicons
from explain.behaviour.perturb import PERTURBATIONS
from explain.behaviour.sources import PLACEHOLDER, lexicons_from_lines
from explain.behaviour.suite import Suite, suite_from_data
from explain.i18n import N_, _, keep_language
from explain.local_files import shown

TEXT_SOURCES = {"template": N_("A template filled from lexicons"), "texts": N_("Your texts, perturbed")}
TYPES = {"MFT": N_("MFT: every text gets the expected label"),
         "INV": N_("INV: a perturbation must not change the prediction"),
         "DIR": N_("DIR: a perturbation must move a class probability")}
NOT_EXPECTED = "-"
MAX_TEXTS = 2_000
DEFAULTS = {  # a test that suits any classifier / tagger: the prediction must not depend on a name or a city
    "sequence-classification": ("{first_name} thought the {thing} was {adj}.", "thing: film, plot, ending, acting\n"
                                "adj: wonderful, fine, dull, awful", "swap_name",
                                "The film was a delight from start to finish.\nI did not like the ending.\n"
                                "Anna said the acting was superb.\nThe plot is thin, but the jokes land."),
    "token-classification": ("My name is {first_name} {last_name} and I live in {city}.", "", "swap_city",
                             "Please call Maria Garcia in London.\nWrite to Ben Jones at his office in Paris."),
}


def _uploaded_texts(upload) -> list[str]:
    from explain.dataset.reader import read_rows

    rows = read_rows(upload.getvalue(), name=upload.name, max_rows=MAX_TEXTS, require_label=False)
    for notice in rows.notices:
        st.caption(tr(notice))
    return list(rows.texts)


def _texts(task: str) -> list[str]:
    upload = st.file_uploader(_("Texts to perturb: CSV, TSV or JSON Lines with a `text` column, or type them below"),
                              type=["csv", "tsv", "txt", "jsonl", "ndjson", "json"], key="stress.b.upload")
    if upload is not None:
        return _uploaded_texts(upload)
    typed = st.text_area(_("Texts (one per line)"), DEFAULTS[task][3], key="stress.b.texts", height=120)
    return [line.strip() for line in typed.splitlines() if line.strip()]


def _perturbation(column) -> dict:
    names = list(PERTURBATIONS)
    default = DEFAULTS[st.session_state["stress.b.task"]][2]
    name = column.selectbox(_("Perturbation"), names, index=names.index(default), key="stress.b.perturbation",
                            format_func=keep_language(lambda n: _("{name}: {description}").format(
                                name=n, description=_(PERTURBATIONS[n].description))))
    defaults = PERTURBATIONS[name].defaults
    if not defaults:
        return {"name": name}
    written = column.text_input(_("Parameters (optional)"), key=f"stress.b.params.{name}",
                                placeholder=", ".join(f"{k}: {v}" for k, v in defaults.items()),
                                help=_("Written as in a suite file, e.g. count: 2 or lexicon: first_name; empty "
                                       "keeps the defaults shown."))
    if not written.strip():
        return {"name": name}
    import yaml

    try:
        params = yaml.safe_load("{" + written + "}")
    except yaml.YAMLError:
        params = None
    if not isinstance(params, dict):
        st.error(_("Parameters are written as name: value, separated by commas (e.g. count: 2); got {value}.").format(
            value=shown(written)))
        st.stop()
    return {"name": name, **params}


def _expected(kind: str, labels: tuple[str, ...], tagger: bool, templates: list[str], column):
    if kind == "INV":
        return None
    if kind == "DIR":
        c1, c2, c3 = column.columns(3)
        cls = c1.selectbox(_("Class"), ["predicted", *labels], key="stress.b.class",
                           format_func=keep_language(lambda c: _("the predicted class") if c == "predicted" else c))
        direction = c2.radio(_("Direction"), ["up", "down"], key="stress.b.direction", horizontal=True,
                             format_func=keep_language(lambda d: _("up") if d == "up" else _("down")))
        margin = c3.number_input(_("by at least"), -1.0, 1.0, 0.1, 0.05, key="stress.b.margin",
                                 help=_("A change of probability; a negative margin tolerates a small move the "
                                        "other way (CheckList's tolerance)."))
        return {"class": cls, "direction": direction, "margin": float(margin)}
    if not tagger:
        return column.selectbox(_("Expected label"), labels, key="stress.b.label")
    types = sorted({l.split("-", 1)[1] for l in labels if "-" in l})
    placeholders = list(dict.fromkeys(p for t in templates for p in PLACEHOLDER.findall(t)))
    chosen = {}
    for p in placeholders:
        kind_of = column.selectbox(_("Entity type of {{{name}}}").format(name=p), [NOT_EXPECTED, *types],
                                   key=f"stress.b.entity.{p}",
                                   format_func=keep_language(lambda t: t if t != NOT_EXPECTED else _("(not an entity)")))
        if kind_of != NOT_EXPECTED:
            chosen[p] = kind_of
    return chosen


def built_suite(bundle) -> tuple[Suite, dict]:
    """The test the form describes, checked by the library (its message shown as it is), and its data."""
    tagger = bundle.task == "token-classification"
    st.session_state["stress.b.task"] = bundle.task
    left, right = st.columns(2)
    source = left.radio(_("Texts"), list(TEXT_SOURCES), format_func=keep_language(lambda s: _(TEXT_SOURCES[s])),
                        key="stress.b.source", horizontal=True)
    kinds = [k for k in TYPES if not (tagger and k == "DIR") and not (tagger and source == "texts" and k == "MFT")]
    if st.session_state.get("stress.b.type") not in kinds:
        st.session_state["stress.b.type"] = "INV"
    kind = right.radio(_("Test type"), kinds, key="stress.b.type", format_func=keep_language(lambda k: _(TYPES[k])))
    c1, c2 = left.columns(2)
    name = c1.text_input(_("Test name"), _("My test"), key="stress.b.name")
    capability = c2.text_input(_("Capability"), _("Fairness"), key="stress.b.capability")
    max_cases = left.number_input(_("At most this many cases"), 1, MAX_TEXTS, 200, 50, key="stress.b.max")
    test = {"name": name, "type": kind, "capability": capability, "max_cases": int(max_cases)}
    lexicons, templates = {}, []
    if source == "template":
        template, lexicon_text = DEFAULTS[bundle.task][:2]
        written = left.text_area(_("Templates (one per line)"), template, key="stress.b.template", height=90,
                                 help=_("Each `{{placeholder}}` is filled from a lexicon: yours below, or a shipped one "
                                        "({names}). `{{first_name2}}` is a second, independent name.").format(
                                     names=", ".join(f"`{n}`" for n in known_lexicons())))
        templates = [t.strip() for t in written.splitlines() if t.strip()]
        lexicon_lines = left.text_area(_("Your lexicons (one per line: name: word, word, …)"), lexicon_text,
                                       key="stress.b.lexicons", height=90)
        try:
            lexicons = lexicons_from_lines(lexicon_lines)
        except BertLensError as err:
            st.error(str(err))
            st.stop()
        test["template"] = templates
    else:
        with left:
            test["texts"] = _texts(bundle.task)
    if kind != "MFT":
        test["perturbation"] = _perturbation(right)
    expected = _expected(kind, tuple(bundle.labels), tagger, templates, right)
    if expected is not None:
        test["expected"] = expected
    data = {"name": _("Test built on the Stress tests page"), "task": bundle.task, "seed": 0, "tests": [test]}
    if lexicons:
        data["lexicons"] = lexicons
    try:
        suite = suite_from_data(data, _("the test built here"))
    except BertLensError as err:
        st.error(str(err))
        st.stop()
    preview(suite)
    return suite, data


def preview(suite: Suite, n: int = 5) -> None:
    """The first cases as the run will build them (templates filled, perturbations applied)."""
    from bert_lens.views.stress.results import labelled
    from explain.behaviour.runner import build_cases

    cases = build_cases(suite)[0][:n]
    frame = pd.DataFrame({"text": [c.text for c in cases]})
    if any(c.perturbed is not None for c in cases):
        frame["perturbed"] = [c.perturbed.text if c.perturbed.changed else "" for c in cases]
        frame["note"] = [tr(c.perturbed.note) for c in cases]
    st.caption(_("The first {n} of {total:,} cases:").format(n=len(cases), total=len(suite.tests[0].texts)))
    frame, config = labelled(frame, {"text": st.column_config.TextColumn(_("text")),
                                     "perturbed": st.column_config.TextColumn(_("perturbed")),
                                     "note": st.column_config.TextColumn(_("note"))})
    st.dataframe(frame, hide_index=True, width="stretch", column_config=config)
