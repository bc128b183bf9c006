"""A suite run as a background job: started by the Run button, polled with texts done, time left and
Cancel. The job and the bounded results cache shared by every session (per model and suite digest) are
the Data set page's (app/views/dataset/jobs.py: DataJob, RESULTS); this module only adds the page's
start button and its progress panel, which counts texts (a suite's unit), not rows.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import streamlit as st

from bert_lens.views.dataset.jobs import DataJob, cached_result
from explain.i18n import _, ngettext

JOB = "stress.job"


def _start(key: Hashable, work: Callable) -> None:
    old: DataJob | None = st.session_state.get(JOB)
    if old is not None and old.running:
        old.cancel()
    st.session_state[JOB] = DataJob(key, work).start()


def result_or_run(key: Hashable, work: Callable, n_tests: int, n_texts: int, wait: float = 1.0) -> Any | None:
    """The run's result: from the shared cache, or from this session's job. None while there is none yet: the
    page then shows the Run button, the progress panel (polled twice a second), or why the job stopped."""
    found = cached_result(key)
    if found is not None:
        return found
    job: DataJob | None = st.session_state.get(JOB)
    if job is None or job.key != key:
        if job is not None and job.running:  # another model or suite was chosen: stop the old run
            job.cancel()
        label = ngettext("Run {n} test", "Run {n} tests", n_tests).format(n=n_tests)
        st.button(label, type="primary", key="stress.run", on_click=_start, args=(key, work),
                  help=_("{texts:,} source texts; the perturbed ones come on top. Results are kept for this model and "
                         "suite, for every visitor.").format(texts=n_texts))
        return None
    if job.running and job.done == 0:
        job.wait(wait)  # a small suite finishes here, without a progress bar flashing by
    if job.result is not None:
        return job.result
    if not job.running:
        (st.info if job.cancelled else st.error)(job.error or _("Stopped."))
        st.button(_("Run again"), key="stress.again", on_click=_start, args=(key, work))
        return None
    st.fragment(_progress_panel, run_every=0.5)()
    return None


def _progress_panel() -> None:
    job: DataJob | None = st.session_state.get(JOB)
    if job is None:
        return
    if not job.running:
        st.rerun(scope="app")
    text = _("Running the suite: {done:,} of {total:,} texts").format(done=job.done, total=job.total)
    if job.eta is not None:
        text += " · " + _("about {seconds:.0f} s left").format(seconds=job.eta)
    st.progress(min(job.done / max(job.total, 1), 1.0), text=text)
    st.button(_("Cancel"), key="stress.cancel", on_click=job.cancel)
