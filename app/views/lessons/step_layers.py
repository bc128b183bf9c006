"""Lesson step 10: different layers, different knowledge (linear probes per layer on the live model)."""

from __future__ import annotations

import streamlit as st

from bert_lens.charts import presented
from bert_lens.views.layers import compute, jobs
from bert_lens.views.lessons.context import StepContext
from explain.i18n import N_, _

TEXT_10 = N_(
    "A **linear probe** is a logistic regression that reads a word's label from one layer's hidden state. Fit one "
    "per layer and you get a curve: where is the label easiest to read? Tenney et al. (2019) found parts of speech "
    "low, syntax in the middle and entities higher: \"BERT rediscovers the classical NLP pipeline\". Two controls "
    "keep a probe honest: always guessing the most frequent label (dotted), and a **control task** with a random "
    "label per word type (dashed, Hewitt & Liang 2019)."
)
QUESTION_10 = N_("The embeddings alone already get most parts of speech right. Why? And why is the last layer worse "
                 "than the middle?")


def step_10(ctx: StepContext) -> None:
    from explain.probing.export import tenney_order
    from explain.probing.figures import probe_curves

    spec = ctx.lesson.choice.spec
    with ctx.side:
        metric = st.radio(_("Score"), ["accuracy", "macro_f1"], key="lesson.probe_metric", horizontal=True,
                          format_func=lambda m: _("accuracy") if m == "accuracy" else _("macro-F1"))
    with ctx.view:
        reports = jobs.probes_or_run(ctx.bundle, spec, "first", compute.DEFAULT_SAMPLE, "lesson.probe")
    if reports is None:
        return
    names = {r.label_set: _(compute.LABEL_SETS[r.label_set]) for r in reports}
    fig = probe_curves(reports, metric=metric, names=names, height=ctx.height - 40,
                       title=_("{model}: what each layer knows").format(model=_(ctx.bundle.name)))
    for trace in fig.data:  # dashed (control) and dotted (majority) lines are named in the text, not the legend
        if trace.line.dash in ("dash", "dot"):
            trace.showlegend = False
    fig.update_layout(legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "left", "x": 0.0},
                      margin={"t": 110, "b": 60})
    cog = {r.label_set: r.centre_of_gravity for r in reports}
    with ctx.view:
        st.plotly_chart(presented(fig), key="lesson.probes", config={"displayModeBar": False})
        st.markdown((_("Centre of gravity: parts of speech **{pos:.2f}**, dependency relation **{dep:.2f}**, entities "
                       "**{ner:.2f}**: Tenney et al.'s order holds.") if tenney_order(reports) else
                     _("Centre of gravity: parts of speech **{pos:.2f}**, dependency relation **{dep:.2f}**, entities "
                       "**{ner:.2f}**: not Tenney et al.'s order.")).format(**cog))
