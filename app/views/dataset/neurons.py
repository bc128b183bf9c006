"""The Data set page's Neurons view: the feed-forward neurons most active per class over the rows
(explain.probing.neurons.class_neurons, Geva et al. 2021), the rows one neuron fires most on, and what it writes
through the MLM head where the model has one.

Computed only when the view is opened, as a background job cached per (model, data, layer, k, contrast, rows).
"""

from __future__ import annotations

from urllib.parse import urlencode

import numpy as np
import pandas as pd
import streamlit as st

from bert_lens.common import figure_config, get_run
from bert_lens.views.dataset.heavy import sample_index
from bert_lens.views.dataset.parts import download_text, run_job
from explain import BertLensError
from explain.i18n import _, get_language
from explain.settings import current_settings

NEURON_ROWS, HOSTED_NEURON_ROWS = 2000, 500  # rows averaged at most (a seeded sample of a larger file)
MAX_K = 50
TOP_ROWS = 8  # rows shown for the chosen neuron


def neuron_rows() -> int:
    return HOSTED_NEURON_ROWS if current_settings().hosted else NEURON_ROWS


def neurons_key(key, layer: int, k: int, contrast: bool, n_rows: int):
    """Cache key: the evaluation's (model, data hash, rows, label map), then the view's options."""
    return ("neurons", *key[1:], layer, k, contrast, n_rows)


def _controls(bundle) -> tuple[int, int, bool]:
    L = bundle.num_layers
    if not 1 <= st.session_state.get("ds.nlayer", L) <= L:  # a model with fewer layers than the last one
        st.session_state["ds.nlayer"] = L
    c1, c2, c3 = st.columns([2, 1, 2])
    layer = c1.slider(_("Layer"), 1, L, L, key="ds.nlayer",
                      help=_("Layer 1 is the first encoder layer, as on the What layers know page."))
    k = c2.number_input(_("Neurons per class"), 1, MAX_K, 10, key="ds.nk")
    contrast = c3.toggle(_("Contrast with the other classes"), value=True, key="ds.ncontrast")
    return int(layer), int(k), bool(contrast)


def neurons_view(ev, bundle, key, spec: str, data_name: str) -> None:
    from explain.probing.neurons import class_neurons

    layer, k, contrast = _controls(bundle)
    st.caption(_(
        "A neuron's activation on a row is its feed-forward activation averaged over the row's tokens ([CLS], [SEP] "
        "and padding left out). **Score**: with the contrast, its mean over the class's rows minus its mean over "
        "the other classes' rows (neurons that fire on every text drop out); without it, the class mean alone."))
    index = sample_index(len(ev), neuron_rows())
    if len(index) < len(ev):
        st.caption(_("A seeded sample of {k:,} of the {n:,} rows is averaged.").format(k=len(index), n=len(ev)))
    if ev.rows.has_pairs:
        st.caption(_("Rows with a second text (text_pair): only the first text is read here."))
    texts = [ev.rows.texts[i] for i in index]
    labels = [ev.labels[int(y)] for y in np.asarray(ev.y_true)[index]]

    def work(progress, cancel):
        return class_neurons(bundle, texts, labels, layer - 1, k, contrast, progress=progress, cancel=cancel)

    nkey = neurons_key(key, layer, k, contrast, len(index))
    cn = run_job("ds.job.neurons", nkey, work, _("Neuron activations"))
    if cn is None:
        return
    if contrast and not cn.contrast:
        st.caption(_("The rows hold one class: its score is its mean activation (no other class to contrast with)."))
    order = [c for label in ev.labels for c, name in enumerate(cn.classes) if name == label]  # the model's order
    from explain.probing.figures import class_neuron_bars

    cols = st.columns(min(len(order), 2) or 1)
    for n, c in enumerate(order):
        cols[n % len(cols)].plotly_chart(class_neuron_bars(cn, c, layer_name=str(layer)), key=f"ds.neurons.{n}",
                                         config=figure_config(f"dataset.neurons-{n}"))
    vocab, why = _vocabulary(bundle, spec, cn)
    # columns named in the reader's language (what the table shows and what an i18n scan reads)
    table = pd.DataFrame([{
        _("class"): cn.classes[c], _("rank"): rank + 1, _("neuron"): int(n), _("score"): float(cn.score[c, rank]),
        _("mean activation in the class"): float(cn.mean_activation[c, rank]),
        **({_("writes (top tokens through the MLM head)"): "  ".join(_writes(vocab, n)[:8])} if vocab else {}),
    } for c in order for rank, n in enumerate(cn.neurons[c])])
    st.dataframe(table, hide_index=True, width="stretch", column_config={
        _("score"): st.column_config.NumberColumn(format="%.4f"),
        _("mean activation in the class"): st.column_config.NumberColumn(format="%.4f")})
    _one_neuron(ev, bundle, spec, cn, order, index, layer, vocab, why)
    _downloads(cn, vocab, spec, data_name)


def _vocabulary(bundle, spec: str, cn):
    """(NeuronVocabulary of the shown neurons, None) or (None, why it is not shown)."""
    if not bundle.has_mlm:
        return None, _(
            "What a neuron writes is read through a masked-language-model head: its column of W_out projected to "
            "the vocabulary (Geva et al. 2021). {model} is a classifier without one, and another model's MLM head "
            "was trained on other weights, so it is not shown; the tokens the neuron fires on are shown instead."
        ).format(model=_(bundle.name))
    from bert_lens.views.layers import compute

    try:
        return compute.vocabulary(spec, cn.layer, tuple(int(n) for n in cn.shown)), None
    except BertLensError as err:
        return None, str(err)


def _writes(vocab, neuron) -> tuple[str, ...]:
    return vocab.top_tokens[int(np.flatnonzero(vocab.neurons == int(neuron))[0])]


def _peak_token(bundle, spec: str, text: str, block: int, neuron: int) -> str:
    """The token of `text` (alone, unpadded) where the neuron fires most, with its activation."""
    from explain.probing.neurons import ffn_activations

    run = get_run(spec, text, None)
    a = ffn_activations(bundle, run, [block]).of_layer(block)[:, neuron]
    a = np.where(run.special, -np.inf, a)
    if not np.isfinite(a).any():
        return ""
    t = int(a.argmax())
    return f"{run.tokens[t]} ({a[t]:.2f})"


def _one_neuron(ev, bundle, spec: str, cn, order, index, layer: int, vocab, why) -> None:
    st.subheader(_("One neuron over the rows"))
    choices = list(dict.fromkeys(int(n) for c in order for n in cn.neurons[c]))
    owner = {}
    for c in order:
        for n in cn.neurons[c]:
            owner.setdefault(int(n), cn.classes[c])
    if st.session_state.get("ds.neuron") not in choices:
        st.session_state["ds.neuron"] = choices[0]
    neuron = st.selectbox(_("Neuron"), choices, key="ds.neuron",
                          format_func=lambda n: _("neuron {n} (top of {label})").format(n=n, label=owner[n]))
    acts = cn.of_row(neuron)
    top = np.argsort(-acts, kind="stable")[:TOP_ROWS]
    rows = [int(index[t]) for t in top]
    with st.spinner(_("Finding the tokens it fires on…")):
        peaks = [_peak_token(bundle, spec, ev.rows.texts[i], cn.layer, neuron) for i in rows]
    shown = pd.DataFrame({
        _("row"): rows, _("line"): [ev.rows.lines[i] for i in rows],
        _("gold"): [ev.labels[int(ev.y_true[i])] for i in rows],
        _("prediction"): [ev.labels[int(ev.y_pred[i])] for i in rows],
        _("mean activation"): [float(acts[t]) for t in top], _("fires most on (token)"): peaks,
        _("text"): [ev.rows.texts[i] for i in rows],
    })
    st.markdown(_("The {n} rows where neuron **{neuron}** of layer {layer} fires most (mean over each row's tokens; "
                  "the mean over all rows is {mean:.3f}):").format(n=len(rows), neuron=neuron, layer=layer,
                                                                    mean=float(acts.mean())))
    st.dataframe(shown, hide_index=True, width="stretch", column_config={
        _("mean activation"): st.column_config.NumberColumn(format="%.4f"),
        _("text"): st.column_config.TextColumn(width="large")})
    if vocab is not None:
        st.markdown(_("**What it writes** (its W_out column through the MLM head, top tokens): {tokens}").format(
            tokens="  ".join(f"`{t}`" for t in _writes(vocab, neuron))))
    else:
        st.info(why)
    st.caption(_("The What layers know page shows this neuron on one text: open the top row there, choose "
                 "\"Neurons of this text\" and layer {layer}, and find neuron {neuron} in the heatmap or the table of "
                 "each token's top neurons.").format(layer=layer, neuron=neuron))
    query = {"model": spec, "text": ev.rows.texts[rows[0]], "lang": get_language()}
    st.link_button(_("Open the top row on the What layers know page (new tab)"), "layers?" + urlencode(query))


def _downloads(cn, vocab, spec: str, data_name: str) -> None:
    import json

    from explain.probing.export import class_neurons_csv, class_neurons_json

    c1, c2 = st.columns(2)
    download_text(_("Neurons per class (CSV)"), class_neurons_csv(cn, vocab), "dataset-neurons.csv", "text/csv",
                  "ds.dl_neurons", c1)
    download_text(_("Neurons per class (JSON)"),
                  json.dumps(class_neurons_json(cn, spec, data_name, vocab), ensure_ascii=False, indent=1),
                  "dataset-neurons.json", "application/json", "ds.dl_neurons_json", c2)
