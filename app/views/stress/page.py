"""Stress tests: behavioural test suites (CheckList: MFT, INV, DIR) run on the sidebar's classifier or tagger.

Choose a shipped suite (the model's own by default), upload one, or build a test on the page; the run is
a background job (texts done, time left, Cancel) cached per (model, suite digest) for every session. A
test's failed cases open side by side with their attributions, and link to the Attributions page.
"""

import streamlit as st

from bert_lens.common import load_or_stop, use_model
from bert_lens.views.stress import jobs as sj
from bert_lens.views.stress import results as sr
from bert_lens.views.stress import source as ss
from explain.behaviour.suite import suite_digest
from explain.i18n import _

choice = st.session_state["choice"]
sr.switch_if_asked()
st.title(_("Stress tests"))
st.caption(_("Behavioural tests (CheckList, Ribeiro et al. 2020): does the prediction hold when a name is swapped, "
             "a typo slips in, or “not” comes before the adjective? Run a suite, then open any failed case to see "
             "how the explanation changed."))
bundle = load_or_stop(choice.spec)
problem = ss.model_problem(bundle)
if problem:
    st.info(problem)
    for name in ss.suggested_models():
        st.button(_("Use {name}").format(name=_(name)), on_click=use_model, args=(name,), key=f"stress.use.{name}")
    st.stop()

suite, file, built = ss.choose_suite(bundle)
key = ("stress", choice.spec, suite_digest(suite))


def work(progress, cancel):
    from explain.behaviour.runner import run_suite

    return run_suite(bundle, suite, progress=progress, cancel=cancel)


result = sj.result_or_run(key, work, len(suite.tests), suite.n_texts)
if result is None:
    st.stop()
if st.session_state.get("stress.shown") != key:  # another model or suite: forget the test and case chosen before
    st.session_state["stress.shown"] = key
    for chosen in ("stress.test", "stress.tests"):  # the test chosen, and the table's row selection
        st.session_state.pop(chosen, None)

sr.summary(result)
test = sr.tests_view(result)
case = sr.cases_view(result, test)
if case is not None:
    sr.case_view(result, suite, test, case, choice.spec)
sr.downloads(result, file, built)
