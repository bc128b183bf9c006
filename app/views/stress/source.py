"""The Stress tests page's suite: a shipped one (the model's own by default), an uploaded file, or a test
built on the page (app/views/stress/build.py). Every suite goes through the library's checks
(explain.behaviour.suite), whose messages name the file, the test and the field; they are shown as they are.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import streamlit as st

from bert_lens.fallback import SENTIMENT_MODEL
from explain import BertLensError
from explain.behaviour.runner import check_model
from explain.behaviour.suite import Suite, load_suite, read_suite, shipped_suites
from explain.i18n import N_, _, keep_language
from explain.models.catalog import NER_MODEL
from explain.settings import current_settings

CLASSIFIERS = ("sequence-classification", "token-classification")
UPLOAD, BUILD = "upload", "build"
SOURCES = {UPLOAD: N_("Upload a suite file"), BUILD: N_("Build a test here")}
MAX_TEXTS, HOSTED_MAX_TEXTS = 30_000, 6_000  # source texts of a suite run here (a shared server: fewer)


def tr(text: str) -> str:
    """Stored text (a suite's names, a case's note: str or Deferred) in the reader's language; '' stays ''
    (gettext would return the catalogue's header for it)."""
    return _(text) if text else ""


def max_texts() -> int:
    return HOSTED_MAX_TEXTS if current_settings().hosted else MAX_TEXTS


def model_problem(bundle) -> str | None:
    """Why this model cannot be stress-tested (None when it can)."""
    if bundle.task not in CLASSIFIERS:
        return _("{model} has no classification head; behavioural tests need a text classifier or a tagger. Choose "
                 "one, e.g.:").format(model=_(bundle.name))
    if bundle.config.problem_type in ("regression", "multi_label_classification") or len(bundle.labels) < 2:
        return _("{model} is a regression or multi-label head; behavioural tests need one class per text (or per "
                 "word). Choose another model, e.g.:").format(model=_(bundle.name))
    return None


def suggested_models() -> list[str]:
    """Built-in models with a shipped suite: the sentiment head and the PII tagger."""
    return [SENTIMENT_MODEL, NER_MODEL]


@st.cache_resource(show_spinner=False, max_entries=8)
def shipped_suite(path: str, modified: float) -> Suite:
    """A shipped suite, read once per process (suites are frozen: safe to share)."""
    return load_suite(path)


def _shipped(name: str) -> Suite:
    path = shipped_suites()[name]
    return shipped_suite(str(path), path.stat().st_mtime)


@st.cache_resource(show_spinner=False, max_entries=16)
def uploaded_suite(digest: str, name: str, limit: int, _data: bytes) -> Suite:
    return read_suite(_data, name, max_texts=limit)


def fit_problem(bundle, suite: Suite) -> str | None:
    """The library's reason why `suite` does not fit the model (task, labels), or None."""
    try:
        check_model(bundle, suite)
    except BertLensError as err:
        return str(err)
    return None


def own_suite(bundle) -> str:
    """The first shipped suite that fits the model (sentiment for the sentiment head, pii for Rampart), else BUILD."""
    for name in shipped_suites():
        try:
            if fit_problem(bundle, _shipped(name)) is None:
                return name
        except BertLensError:
            continue
    return BUILD


def source_label(option: str) -> str:
    if option in SOURCES:
        return _(SOURCES[option])
    try:
        return tr(_shipped(option).name)
    except BertLensError:
        return option


def choose_suite(bundle) -> tuple[Suite, str, dict | None]:
    """The suite chosen on the page, its file name (for downloads) and, for a test built here, its data
    (to download as YAML). Stops the page with the library's message when the suite is wrong."""
    options = [*shipped_suites(), UPLOAD, BUILD]
    if st.session_state.get("stress.source") not in options or st.session_state.get("stress.source_for") != bundle.name:
        st.session_state["stress.source"] = own_suite(bundle)
    st.session_state["stress.source_for"] = bundle.name
    source = st.radio(_("Suite"), options, format_func=keep_language(source_label), key="stress.source",
                      horizontal=True)
    built = None
    if source == UPLOAD:
        suite, file = _uploaded(), None
    elif source == BUILD:
        from bert_lens.views.stress.build import built_suite

        suite, built = built_suite(bundle)
        file = "bert-lens-suite.yaml"
    else:
        try:
            suite = _shipped(source)
        except BertLensError as err:
            st.error(str(err))
            st.stop()
        file = Path(suite.path).name
        st.caption(tr(suite.description))
    problem = fit_problem(bundle, suite)
    if problem:
        st.error(problem)
        st.stop()
    return suite, file or Path(suite.path).name, built


def _uploaded() -> Suite:
    upload = st.file_uploader(_("A suite file (YAML or JSON)"), type=["yaml", "yml", "json"], key="stress.upload")
    if upload is None:
        st.info(_("A suite lists tests; each has a name, a type (MFT: an expected label; INV: a perturbation must not "
                  "change the prediction; DIR: it must move a class probability), a capability, its texts (template "
                  "with `{placeholders}`, or texts) and what it expects. Start from a shipped suite:"))
        example_downloads()
        st.stop()
    data = upload.getvalue()
    try:
        return uploaded_suite(hashlib.sha256(data).hexdigest(), upload.name, max_texts(), data)
    except BertLensError as err:
        st.error(str(err))
        st.stop()


def example_downloads() -> None:
    files = shipped_suites()
    cols = st.columns(len(files) or 1)
    for col, (name, path) in zip(cols, files.items()):
        col.download_button(_("{suite} ({file})").format(suite=source_label(name), file=path.name), path.read_bytes(),
                            path.name, "application/yaml", key=f"stress.example.{name}", on_click="ignore")
