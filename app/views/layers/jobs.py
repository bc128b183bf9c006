"""The shipped probes as a background job: started by a button, polled with the label sets done, time left
and Cancel; the result goes into the Data set page's bounded cache shared by every session
(app/views/dataset/jobs.py: DataJob, RESULTS), keyed by model spec, word-piece merge and sample size. The
page and the lessons' step 10 share the job and its result.
"""

from __future__ import annotations

import streamlit as st

from bert_lens.views.dataset.jobs import DataJob, cached_result
from bert_lens.views.layers import compute
from explain import ModelBundle
from explain.errors import Cancelled
from explain.i18n import _

JOB = "layers.job"


def probe_key(spec: str, merge: str, n: int) -> tuple:
    return ("layers.probes", spec, merge, n)


def probe_work(bundle: ModelBundle, merge: str, n: int):
    """work(progress, cancel) -> tuple of ProbeReports, one per shipped label set (compute.LABEL_SETS)."""

    def work(progress, cancel):
        from explain.probing.data import load_shipped
        from explain.probing.features import word_features
        from explain.probing.probes import probe_layers

        total = len(compute.LABEL_SETS) + 1
        progress(0, total)
        data = load_shipped().head(n)
        features = word_features(bundle, data.words, merge=merge)
        reports = []
        for i, label_set in enumerate(compute.LABEL_SETS, start=1):
            progress(i, total)
            if cancel.is_set():
                raise Cancelled(_("Cancelled."))
            reports.append(probe_layers(data, features, label_set))
        progress(total, total)
        return tuple(reports)

    return work


def _start(key, work) -> None:
    old: DataJob | None = st.session_state.get(JOB)
    if old is not None and old.running:
        old.cancel()
    st.session_state[JOB] = DataJob(key, work).start()


def probes_or_run(bundle: ModelBundle, spec: str, merge: str, n: int, button_key: str, wait: float = 1.0):
    """The shipped probe reports for (spec, merge, n), from the shared cache or this session's job; None while
    there are none yet (the page then shows the Probe button, the progress panel, or why the job stopped)."""
    key = probe_key(spec, merge, n)
    found = cached_result(key)
    if found is not None:
        return found
    job: DataJob | None = st.session_state.get(JOB)
    work = probe_work(bundle, merge, n)
    if job is None or job.key != key:
        if job is not None and job.running:
            job.cancel()
        st.button(_("Probe {layers} layers for {sets} label sets").format(layers=bundle.num_layers + 1,
                                                                         sets=len(compute.LABEL_SETS)),
                  type="primary", key=button_key, on_click=_start, args=(key, work),
                  help=_("About a minute on {n:,} sentences on a busy 2-core machine; the result is kept for this "
                         "model, for every visitor.").format(n=n))
        return None
    if job.running:
        job.wait(wait)
    if job.result is not None:
        return job.result
    if not job.running:
        (st.info if job.cancelled else st.error)(job.error or _("Stopped."))
        st.button(_("Run again"), key=f"{button_key}.again", on_click=_start, args=(key, work))
        return None
    st.fragment(_progress_panel, run_every=0.5)()
    return None


def _progress_panel() -> None:
    job: DataJob | None = st.session_state.get(JOB)
    if job is None:
        return
    if not job.running:
        st.rerun(scope="app")
    text = _("Probing: the hidden states, then {sets} label sets ({done} of {total} steps done)").format(
        sets=len(compute.LABEL_SETS), done=job.done, total=job.total or len(compute.LABEL_SETS) + 1)
    if job.eta is not None:
        text += " · " + _("about {seconds:.0f} s left").format(seconds=job.eta)
    st.progress(min(job.done / max(job.total, 1), 1.0), text=text)
    st.button(_("Cancel"), key="layers.cancel", on_click=job.cancel)
