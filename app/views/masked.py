"""Masked-token predictions: fill-mask, layer by layer, surprisal (PLL), next-sentence prediction.

Only the open view is computed (st.tabs would run every tab, pseudo-log-likelihood included, on
every text edit).
"""

import numpy as np
import pandas as pd
import streamlit as st

from bert_lens import charts
from bert_lens.common import figure_config, get_bundle, get_run, load_or_stop, run_or_stop
from bert_lens.fallback import model_or_default
from bert_lens.render import colored_tokens, token_chips
from explain import BertLensError
from explain.i18n import N_, _, keep_language
from explain.mlm import fill_mask, layer_lens, mask_positions, next_sentence_probability, pseudo_log_likelihood
from explain.models.catalog import NSP_MODEL, builtin_models_for

choice = st.session_state["choice"]
st.title(_("Masked-token predictions"))
bundle = load_or_stop(choice.spec)
choice, bundle = model_or_default(choice, bundle, bundle.has_mlm, _("masked-language-model head"),
                                  builtin_models_for("masked-lm")[0], builtin_models_for("masked-lm"), "mlm")
plain = run_or_stop(choice)[1]


@st.cache_data(show_spinner=_("Scoring every token with it masked…"), max_entries=32)
def cached_pll(spec: str, text: str, pair: str | None):
    return pseudo_log_likelihood(get_bundle(spec), text, pair)


mask = bundle.mask_token
words = [i for i in range(plain.num_tokens) if not plain.special[i] and plain.tokens[i] != mask]
chosen = st.multiselect(
    _("Mask these tokens (or type {mask} in the text)").format(mask=mask),
    words,
    format_func=lambda i: f"{i}: {plain.tokens[i]}",
    key="mlm.mask",
    max_selections=8,
    placeholder=_("Choose tokens"),
)
run = get_run(choice.spec, choice.text, choice.pair, tuple(sorted(chosen))) if chosen else plain
top_k = st.slider(_("Predictions per mask"), 3, 20, 10, key="mlm.topk")

VIEWS = {"fill": N_("Fill the mask"), "layers": N_("Layer by layer"), "surprisal": N_("Surprisal (PLL)"),
         "nsp": N_("Next sentence")}
view = st.segmented_control(_("View"), list(VIEWS), format_func=keep_language(lambda v: _(VIEWS[v])), default="fill", key="mlm.view",
                            label_visibility="collapsed") or "fill"

if view == "fill":
    if len(mask_positions(bundle, run)) == 0:
        st.info(_("There is no {mask} yet. Type {mask} in the text where a word should go "
                  "(e.g. 'The capital of France is {mask}.') or choose tokens to mask above.").format(mask=mask))
    else:
        fm = fill_mask(bundle, run, top_k)
        st.markdown(_("**Filled in:** {text}").format(text=fm.filled_text))
        cols = st.columns(min(len(fm.positions), 3))
        for n, pos in enumerate(fm.positions):
            with cols[n % len(cols)]:
                title = _("{mask} at position {pos}").format(mask=mask, pos=pos)
                if pos in run.masked:
                    was = bundle.tokenizer.convert_ids_to_tokens(run.original_ids[run.masked.index(pos)])
                    title = _("{mask} at position {pos} (was '{token}')").format(mask=mask, pos=pos, token=was)
                st.plotly_chart(
                    charts.bars(fm.top_tokens[n], {_("probability"): fm.top_probs[n]}, horizontal=True,
                                title=title, height=60 + 28 * top_k),
                    key=f"mlm.fill.{n}", config=figure_config(f"mlm.fill.{n}"),
                )
        with st.expander(_("Where does {mask} look? (attention from the mask, every head)").format(mask=mask)):
            pos = st.selectbox(_("Mask"), list(fm.positions), format_func=keep_language(lambda p: _("position {i}").format(i=p)),
                               key="mlm.attn_pos")
            layer = st.slider(_("Layer"), 0, run.num_layers - 1, run.num_layers - 1, key="mlm.attn_layer")
            st.plotly_chart(
                charts.matrix_heatmap(run.attentions[layer, :, pos, :],
                                      [_("head {head}").format(head=h) for h in range(run.num_heads)], run.tokens,
                                      title=_("Attention from {mask} (position {pos}) in layer {layer}").format(
                                          mask=mask, pos=pos, layer=layer),
                                      row_title=_("head"), col_title=_("key")),
                key="mlm.attn", config=figure_config("mlm.attn"),
            )
            st.caption(_("These weights come from the very model that made the predictions above (with its adapted "
                         "layers).") if bundle.card.get("adapted_layers") else
                       _("These weights come from the very model that made the predictions above."))

elif view == "layers":
    candidates = list(mask_positions(bundle, run)) or words
    pos = st.selectbox(_("Position"), candidates, format_func=lambda i: f"{i}: {run.tokens[i]}", key="mlm.lens_pos")
    lens = layer_lens(bundle, run, int(pos), top_k=5)
    st.markdown(_("The MLM head is meant for the last layer; applied to earlier layers it shows when the "
                  "answer becomes readable (the 'logit lens')."))
    table = pd.DataFrame(
        {f"#{k + 1}": [f"{lens.top_tokens[l][k]} ({lens.top_probs[l, k]:.2f})" for l in range(run.num_layers + 1)]
         for k in range(5)},
        index=[_("embeddings")] + [_("layer {layer}").format(layer=l) for l in range(run.num_layers)],
    )
    if lens.target_rank is not None:
        table[_("rank of original")] = lens.target_rank + 1
    st.dataframe(table, width="stretch")
    if lens.target_prob is not None:
        st.plotly_chart(charts.lines(np.arange(run.num_layers + 1), {_("P(original token)"): lens.target_prob},
                                     title=_("Probability of the original token by layer"),
                                     x_title=_("layer (0 = embeddings)"), y_title=_("probability")),
                        key="mlm.lens_chart", config=figure_config("mlm.lens_chart"))

elif view == "surprisal":
    try:
        pll = cached_pll(choice.spec, choice.text, choice.pair)
    except BertLensError as err:
        st.info(str(err))
    else:
        c1, c2, c3 = st.columns(3)
        c1.metric(_("Pseudo-log-likelihood"), _("{value:.1f} nats").format(value=pll.pll))
        c2.metric(_("Pseudo-perplexity"), f"{pll.pseudo_perplexity:.1f}")
        c3.metric(_("Tokens scored"), len(pll.positions))
        st.markdown(_("Each token masked in turn (one batched pass): how surprised is the model by the real token? "
                      "Darker = more surprising (bits)."))
        shown = [pll.tokens[i] for i in pll.positions]
        st.html(colored_tokens(shown, pll.surprisal, unit=" " + _("bits")))
        st.plotly_chart(charts.bars(shown, {_("surprisal (bits)"): pll.surprisal}, y_title=_("bits")),
                        key="mlm.surprisal", config=figure_config("mlm.surprisal"))
        st.caption(_("Salazar et al., 'Masked Language Model Scoring', ACL 2020."))

else:
    from bert_lens.sentence_pair import nsp_accuracy, use_pair

    nsp_spec, note = (choice.spec, None) if bundle.has_nsp else (NSP_MODEL, _(
        "{model} has no next-sentence head, so this view uses **{nsp}**: BERT's next-sentence head trained by BERT "
        "Lens on the offline default encoder ({acc:.1%} on held-out Wikipedia pairs).").format(
        model=_(bundle.name), nsp=_(NSP_MODEL), acc=nsp_accuracy()))
    if note:
        st.caption(note)
    if not choice.pair:
        st.info(_("Give a second sentence in the sidebar: the NSP head judges whether it follows the first."))
        c1, c2 = st.columns(2)
        c1.button(_("Try a sentence pair"), on_click=use_pair, args=(False,), key="mlm.nsp_pair")
        c2.button(_("Try a random second sentence"), on_click=use_pair, args=(True,), key="mlm.nsp_random")
    else:
        nsp_run = get_run(nsp_spec, choice.text, choice.pair)
        p = next_sentence_probability(nsp_run)
        st.html(token_chips(nsp_run.tokens, nsp_run.input_ids, nsp_run.segment, nsp_run.special))
        st.caption(_("BERT reads [CLS] A [SEP] B [SEP]; blue tokens get segment 0 (text A), green ones segment 1 "
                     "(text B). The head reads the pooled [CLS] vector."))
        st.metric(_("P(text B follows text A)"), f"{p:.1%}")
        st.plotly_chart(charts.bars([_("IsNext"), _("NotNext")], {_("probability"): np.array([p, 1 - p])},
                                    horizontal=True, height=170, title=_("Next-sentence prediction ({model})").format(
                                        model=_(nsp_spec))),
                        key="mlm.nsp", config=figure_config("mlm.nsp"))
        st.button(_("Try a random second sentence"), on_click=use_pair, args=(True,), key="mlm.nsp_random")
