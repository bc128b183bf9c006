"""Data set: evaluate the sidebar's classifier on labelled rows, find its errors and explain them.

Evaluation runs in a background job (rows done, time left, Cancel); the heavier views (words and
shortcuts, heads, neurons, projector) are computed only when opened. Results are cached per (model, data, options).
"""

import hashlib

import pandas as pd
import streamlit as st

from bert_lens.common import load_or_stop, use_model
from bert_lens.views.dataset import heavy as dv
from bert_lens.views.dataset import neurons as dn
from bert_lens.views.dataset import parts as dp
from bert_lens.views.dataset import upload as du
from bert_lens.views.dataset.table import rows_section
from explain import BertLensError
from explain.compare.data import shipped_samples
from explain.dataset.labels import LabelMismatch
from explain.i18n import N_, _

UPLOAD = N_("Upload a file")
VIEWS = {"errors": N_("Errors"), "words": N_("Words and shortcuts"), "heads": N_("Heads"),
         "neurons": N_("Neurons"), "projector": N_("Projector")}

choice = st.session_state["choice"]
dp.switch_if_asked()
st.title(_("Data set"))
st.caption(_("Evaluate the sidebar's classifier on labelled rows: where it fails, how sure it is when it fails, "
             "and which words and heads it leans on across the whole set."))
bundle = load_or_stop(choice.spec)
problem = dp.model_problem(bundle)
if problem:
    st.info(problem)
    for name in dp.suggested_models():
        st.button(_("Use {name}").format(name=_(name)), on_click=use_model, args=(name,), key=f"ds.use.{name}")
    st.stop()

# --- Data ------------------------------------------------------------------------------------------
samples = shipped_samples()
own = next((k for k in samples if bundle.name in k), None)  # the model's own held-out sample (any language)
if st.session_state.get("ds.source") not in [*samples, UPLOAD] or (
        own and st.session_state.get("ds.source_for") != bundle.name and st.session_state["ds.source"] != UPLOAD):
    st.session_state["ds.source"] = own or UPLOAD
st.session_state["ds.source_for"] = bundle.name
source = st.radio(_("Data"), [*samples, UPLOAD], key="ds.source", format_func=_, horizontal=True)
if source == UPLOAD:
    upload = st.file_uploader(_("CSV, TSV or JSON Lines with text, label and optional text_pair"),
                              type=["csv", "tsv", "txt", "jsonl", "ndjson", "json"], key="ds.upload")
    if upload is None:
        st.info(_("Upload a file with a `text` column and a `label` column (optionally `text_pair`), or choose a "
                  "held-out sample above."))
        st.stop()
    raw, name = upload.getvalue(), upload.name
else:
    raw, name = samples[source].read_bytes(), samples[source].name
data_hash = hashlib.sha256(raw).hexdigest()[:20]
try:
    data = du.scanned(data_hash, name, du.max_rows(), raw)  # every row checked in one streaming pass
except BertLensError as err:
    st.error(str(err))
    st.stop()
for notice in data.notices:
    st.warning(_(notice))
if (capped := du.cap_message(data)) is not None:
    st.info(capped)

try:
    match = du.label_match(bundle, data, dp.label_map_from_state(data_hash))
except LabelMismatch as err:
    st.warning(_("The data's labels do not all match the model's ({labels}). Map each unknown label to one of the "
                 "model's labels:").format(labels=", ".join(err.model_labels)))
    dp.label_map_editor(err, data_hash)
    st.stop()
except BertLensError as err:
    st.error(str(err))
    st.stop()
if match.describe():
    st.caption(_("Labels matched: {lines}").format(lines="; ".join(match.describe())))

# --- Evaluation (background job) -------------------------------------------------------------------
label_map = tuple(sorted((k, bundle.labels[v]) for k, v in match.index.items()))
key = ("evaluate", choice.spec, data_hash, len(data), label_map)
ev = dp.run_job("ds.job.evaluate", key, lambda progress, cancel: du.evaluate_data(
    bundle, raw, name, data, match, progress, cancel), _("Evaluating"))
if ev is None:
    st.stop()
if st.session_state.get("ds.shown") != key:  # another model or data: forget the cell and point chosen before
    st.session_state["ds.shown"] = key
    for chosen in ("ds.cell", "ds.point"):
        st.session_state.pop(chosen, None)
if dp.is_tagging(ev):
    dp.tagging_results(ev)
    dv.downloads(ev, key, name)
    st.stop()

m = ev.metrics
c = st.columns(4)
c[0].metric(_("Accuracy"), f"{m.accuracy:.1%}")
c[1].metric(_("Macro-F1"), f"{m.macro_f1:.3f}")
c[2].metric(_("ECE"), f"{m.ece:.3f}", help=_("Expected calibration error over 15 confidence bins (Guo et al. 2017): "
                                            "the gap between confidence and accuracy, weighted by rows."))
c[3].metric(_("Rows"), f"{len(ev):,}", help=_("{errors:,} misclassified; evaluated in {seconds:.1f} s.").format(
    errors=len(ev.errors), seconds=ev.seconds))
for notice in ev.notices:
    st.caption(notice)

view = st.segmented_control(_("View"), list(VIEWS), format_func=lambda v: _(VIEWS[v]), default="errors",
                            key="ds.view", label_visibility="collapsed") or "errors"
if view == "errors":
    left, right = st.columns(2)
    left.plotly_chart(dv.confusion_figure(ev), key="ds.confusion", on_select=dp.cell_clicked,
                      selection_mode="points", config=dv.config("confusion"))
    right.plotly_chart(dv.reliability_figure(ev), key="ds.reliability", config=dv.config("reliability"))
    st.caption(_("Click a cell of the confusion matrix to list its rows; choose a row to see why the model "
                 "predicted what it did."))
    per_class = pd.DataFrame(m.table()).set_index("label")
    st.dataframe(per_class.style.format({"precision": "{:.3f}", "recall": "{:.3f}", "f1": "{:.3f}"}), width="stretch")
    rows_section(ev, choice.spec)
elif view == "words":
    dv.words_view(ev, bundle, key, dp.heavy_rows()[0])
elif view == "heads":
    dv.heads_view(ev, bundle, key, dp.heavy_rows()[1])
elif view == "neurons":
    dn.neurons_view(ev, bundle, key, choice.spec, name)
else:
    dv.projector_view(ev, choice.spec, key)

dv.downloads(ev, key, name)
