"""The feed-forward neurons of the text on screen: top neurons per token, the tokens each neuron fires on,
NMF factors as coloured text, and what a neuron writes through the MLM head (Geva et al. 2021)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from bert_lens.charts import presented
from bert_lens.common import figure_config, use_model
from bert_lens.views.layers import compute
from explain import BertLensError
from explain.i18n import _
from explain.models.catalog import MLM_MODEL


def neuron_section(bundle, run, spec: str, text: str, pair: str | None) -> None:
    from explain.probing.figures import neuron_heatmap, nmf_text
    from explain.probing.neurons import neuron_view

    words = int((~run.special).sum())
    if words == 0:
        st.info(_("The text has no word tokens: type a sentence in the sidebar."))
        return
    c1, c2, c3 = st.columns(3)
    layer = c1.slider(_("Layer"), 1, bundle.num_layers, min(3, bundle.num_layers), key="layers.layer",
                      help=_("Layer 1 is the first encoder layer, as on the probe curves (0 there is the embeddings, "
                             "which have no feed-forward block)."))
    n_neurons = c2.slider(_("Neurons shown"), 3, 20, 8, key="layers.neurons")
    top_k = c3.slider(_("Tokens per neuron"), 1, 10, 5, key="layers.topk")
    block = layer - 1
    try:
        acts = compute.activations(spec, text, pair, block)
    except BertLensError as err:
        st.info(str(err))
        return
    view = neuron_view(acts, block, k=top_k, n_neurons=n_neurons)
    st.markdown(_(
        "Each layer's feed-forward block has **{n:,} neurons**: neuron j reads the token's vector through row "
        "j of W_in (its key) and, when it fires, adds column j of W_out (its value) to it (Geva et al. 2021). "
        "The {shown} neurons of layer {layer} that fire most on this text:"
    ).format(n=acts.num_neurons, shown=len(view.neurons), layer=layer))
    title = _("Layer {layer}: activation of each neuron on each token").format(layer=layer)
    fig = neuron_heatmap(acts, block, view.neurons, title=title)
    st.plotly_chart(presented(fig), key="layers.heatmap", config=figure_config("layers.heatmap"))

    vocab = None
    if bundle.has_mlm:
        try:
            vocab = compute.vocabulary(spec, block, tuple(int(n) for n in view.neurons))
        except BertLensError as err:
            st.info(str(err))
    rows = {
        _("neuron"): [int(n) for n in view.neurons],
        _("fires most on"): ["  ·  ".join(f"{acts.tokens[p]} ({v:.2f})" for p, v in zip(pos, val))
                             for pos, val in zip(view.neuron_top_positions, view.neuron_top_values)],
    }
    if vocab is not None:
        rows[_("writes (top tokens through the MLM head)")] = ["  ".join(toks[:8]) for toks in vocab.top_tokens]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    if vocab is None:
        st.info(_("What a neuron writes is read through a masked-language-model head (its W_out column → the "
                  "vocabulary); {model} has none. The shipped MLM model has one.").format(model=_(bundle.name)))
        st.button(_("Use {model}").format(model=_(MLM_MODEL)), on_click=use_model, args=(MLM_MODEL,),
                  key="layers.use_mlm")
    with st.expander(_("The top neurons of each token")):
        shown = [t for t in range(len(acts.tokens)) if not run.special[t]]
        st.dataframe(pd.DataFrame({
            _("token"): [acts.tokens[t] for t in shown],
            _("neurons (activation)"): ["  ·  ".join(f"{int(n)} ({v:.2f})" for n, v in zip(view.top_neurons[t],
                                                                                     view.top_values[t]))
                                        for t in shown],
        }), hide_index=True, width="stretch")

    st.subheader(_("Factors of the activations (NMF)"))
    most = min(10, words)
    k = 1 if most == 1 else st.slider(  # one word token: one factor, no slider (its range would be empty)
        _("Number of factors"), 1, most, min(3, most), key="layers.factors",
        help=_("Non-negative matrix factorisation groups the tokens whose neurons fire alike (Ecco's view)."))
    try:
        f = compute.factors(spec, text, pair, block, int(k))
    except BertLensError as err:
        st.info(str(err))
        return
    st.plotly_chart(presented(nmf_text(f, title=_("Layer {layer}: {k} factors").format(layer=layer, k=k))),
                    key="layers.nmf", config=figure_config("layers.nmf"))
    st.caption(_("Each token takes the colour of its strongest factor; paler = weaker. Activations clipped at 0 first "
                 "(GELU's small negative outputs). Reconstruction error ‖A − WH‖ / ‖A‖ = {rel:.1%}.").format(
        rel=f.relative_error))
