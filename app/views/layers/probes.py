"""Probe curves: the shipped label sets on a sample of sentences, a user's own labels from a CSV, and the
report's table and downloads (CSV, JSON; figures through the sidebar's PNG/SVG choice)."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from bert_lens.charts import presented
from bert_lens.common import figure_config
from bert_lens.views.layers import compute, jobs
from explain import BertLensError
from explain.i18n import _, keep_language


def merge_choice() -> str:
    """How word pieces become words, chosen on the page and said on screen (shared by both probe views)."""
    return st.radio(_("Word pieces → words"), list(compute.MERGES), key="layers.merge", horizontal=True,
                    format_func=keep_language(lambda m: _(compute.MERGES[m])),
                    help=_("A word split into several pieces gets one vector: its first piece (as BERT's NER "
                           "fine-tuning does) or the mean of its pieces."))


def set_name(label_set: str) -> str:
    return _(compute.LABEL_SETS[label_set]) if label_set in compute.LABEL_SETS else _("your labels")


def curves(reports, metric: str, key: str, title: str | None = None, height: int = 560) -> None:
    from explain.probing.figures import probe_curves

    fig = probe_curves(reports, metric=metric, title=title, height=height,
                       names={r.label_set: set_name(r.label_set) for r in reports})
    st.plotly_chart(presented(fig), key=key, config=figure_config(key))


def summary_lines(reports) -> list[str]:
    """One line per label set: its best layer, the controls at that layer and its centre of gravity."""
    lines = []
    for r in reports:
        best = r.best_layer
        lines.append(_(
            "**{name}**: best layer **{layer}** ({acc:.1%} held out; macro-F1 {f1:.3f}); majority class {maj:.1%} "
            "({label}); control task {ctrl:.1%}, selectivity **{sel:.2f}**; centre of gravity **{cog:.2f}**."
        ).format(name=set_name(r.label_set), layer=_("embeddings") if best == 0 else best, acc=r.accuracy[best],
                 f1=r.macro_f1[best], maj=r.majority_accuracy, label=r.majority_label, ctrl=r.control_accuracy[best],
                 sel=r.selectivity[best], cog=r.centre_of_gravity))
    return lines


def method_caption(merge: str) -> str:
    return _("Probe: a logistic regression per layer (layer 0 = the embeddings) on the standardised hidden state of "
             "each word; word pieces merged by **{merge}**. Dashed: the control task (Hewitt & Liang 2019: a random "
             "label per word type); selectivity = accuracy − control accuracy. Dotted: always the most frequent "
             "label. Diamonds on the axis: the centre of gravity (Tenney et al. 2019), the expected layer at which "
             "the label becomes readable.").format(merge=_(compute.MERGES[merge]))


def table_and_downloads(reports, model: str, data: str, key: str) -> None:
    from explain.probing.export import HEADER, probe_csv, probe_json, probe_rows

    frame = pd.DataFrame(probe_rows(reports), columns=list(HEADER))
    frame["label_set"] = [set_name(v) for v in frame["label_set"]]
    frame["layer"] = [_("embeddings") if v == 0 else str(v) for v in frame["layer"]]
    with st.expander(_("The numbers (per label set and layer)")):
        st.dataframe(frame, hide_index=True, width="stretch")
    c1, c2 = st.columns(2)
    c1.download_button(_("Probe table (CSV)"), probe_csv(reports).encode("utf-8"), f"bert-lens-{key}.csv", "text/csv",
                       key=f"layers.dl_csv.{key}", on_click="ignore")
    report = json.dumps(probe_json(reports, model, data), indent=1, ensure_ascii=False)
    c2.download_button(_("Probe report (JSON)"), report, f"bert-lens-{key}.json", "application/json",
                       key=f"layers.dl_json.{key}", on_click="ignore")


def shipped_view(bundle, spec: str) -> None:
    """Probe curves of the three shipped label sets (silver) on the sidebar's model."""
    from explain.probing.data import shipped_card
    from explain.probing.export import tenney_order

    c1, c2, c3 = st.columns([2, 3, 2])
    n = c1.selectbox(_("Training sentences"), compute.SAMPLES, key="layers.sample",
                     index=compute.SAMPLES.index(compute.DEFAULT_SAMPLE), format_func=lambda v: f"{v:,}",
                     help=_("Probes fit on this many shipped sentences and are scored on a quarter as many held-out "
                            "ones (other articles). More sentences: steadier curves, a longer first run (results are "
                            "kept for this model)."))
    with c2:
        merge = merge_choice()
    metric = c3.radio(_("Score"), ["accuracy", "macro_f1"], key="layers.metric", horizontal=True,
                      format_func=keep_language(lambda m: _("accuracy") if m == "accuracy" else _("macro-F1")))
    reports = jobs.probes_or_run(bundle, spec, merge, n, "layers.probe")
    if reports is None:
        return
    curves(reports, metric, "layers.curves", title=_("What each layer of {model} knows").format(model=_(bundle.name)))
    for line in summary_lines(reports):
        st.markdown("- " + line)
    for r in reports:
        if r.majority_accuracy > 0.8 and metric == "accuracy":
            st.caption(_("{share:.0%} of the held-out words of {name} are {label}: its accuracy says little; read "
                         "macro-F1 (Score, above).").format(share=r.majority_accuracy, name=set_name(r.label_set),
                                                            label=r.majority_label))
    order = tenney_order(reports)
    cog = {r.label_set: r.centre_of_gravity for r in reports}
    st.markdown((_("**Tenney et al.'s order holds here**: parts of speech ({pos:.2f}) before the dependency relation "
                   "({dep:.2f}) before entities ({ner:.2f}), by centre of gravity.") if order else
                 _("**Tenney et al.'s order does not hold here**: centres of gravity parts of speech {pos:.2f}, "
                   "dependency relation {dep:.2f}, entities {ner:.2f}.")).format(**cog))
    st.caption(method_caption(merge))
    card = shipped_card()
    r = reports[0]
    st.caption(_("Data: {train:,} training and {test:,} held-out words of English Wikipedia ({licence}), labelled by "
                 "spaCy's en_core_web_sm: **silver** labels, a tagger's output, not gold annotation (no registry "
                 "package ships a gold treebank). Held-out sentences come from other articles.").format(
        train=r.n_train, test=r.n_test, licence="CC BY-SA 3.0") + " " +
        _("Source: {source}").format(source=card["source"]["text"]))
    table_and_downloads(reports, bundle.name, _("silver labels: {name}").format(name=card["name"]), "probes")


def user_view(bundle, spec: str) -> None:
    """The same report for a user's own word labels, from a CSV."""
    from explain.probing.data import load_shipped
    from explain.probing.export import example_csv

    st.markdown(_("Probe a label of your own: a CSV with one sentence a row, columns `text` (words separated by "
                  "spaces), `labels` (one label per word, separated by spaces) and optionally `split` (`train` or "
                  "`test`; without it a fifth of the sentences are held out). At least 10 sentences."))
    c1, c2 = st.columns([3, 2])
    with c2:
        merge = merge_choice()
        st.download_button(_("Example CSV (parts of speech)"), example_csv(load_shipped(), "pos").encode("utf-8"),
                           "bert-lens-probe-example.csv", "text/csv", key="layers.example", on_click="ignore")
    upload = c1.file_uploader(_("Your labels (CSV)"), type=["csv"], key="layers.upload")
    if upload is None:
        return
    try:
        with st.spinner(_("Probing every layer on your labels…")):
            data, report = compute.user_report(spec, merge, upload.getvalue())
    except BertLensError as err:
        st.error(_("{file}: {reason}").format(file=upload.name, reason=err))
        return
    metric = st.radio(_("Score"), ["accuracy", "macro_f1"], key="layers.user_metric", horizontal=True,
                      format_func=keep_language(lambda m: _("accuracy") if m == "accuracy" else _("macro-F1")))
    curves([report], metric, "layers.user_curves", title=_("{file} on {model}").format(file=upload.name,
                                                                                      model=_(bundle.name)))
    for line in summary_lines([report]):
        st.markdown("- " + line)
    st.caption(method_caption(merge) + " " + _("{n} sentences, {classes} labels.").format(
        n=len(data.words), classes=len(report.classes)))
    table_and_downloads([report], bundle.name, upload.name, "user-probes")
