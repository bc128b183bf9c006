"""Attributions: why a fine-tuned head predicts what it does, by several Captum methods, with checks."""

import numpy as np
import pandas as pd
import streamlit as st

from bert_lens import charts
from bert_lens.common import figure_config, get_bundle, load_or_stop, run_or_stop
from bert_lens.fallback import SENTIMENT_MODEL, model_or_default
from bert_lens.render import colored_tokens, escape_markdown
from explain import BertLensError
from explain.attribution.faithfulness import compare_methods, completeness, faithfulness_curves
from explain.attribution.methods import METHODS, attribute, head_importance, layer_attributions
from explain.attribution.words import merge_words
from explain.i18n import N_, _, keep_language, ngettext
from explain.local_files import shown
from explain.models.catalog import builtin_models_for
from explain.settings import allowed_options, current_settings

CLASSIFIER_TASKS = ("sequence-classification", "token-classification")
CHEAP = ("ig", "saliency", "input_x_gradient", "occlusion")
VIEWS = (N_("Explain"), N_("Compare methods"), N_("Faithfulness"), N_("Inside the model"), N_("What would flip this?"))
BASELINE_NAMES = {"pad": "[PAD]", "mask": "[MASK]", "zero": N_("zero vector")}

choice = st.session_state["choice"]
st.title(_("Attributions"))
bundle = load_or_stop(choice.spec)
choice, bundle = model_or_default(choice, bundle, bundle.task in CLASSIFIER_TASKS, _("classification head"),
                                  SENTIMENT_MODEL, builtin_models_for(*CLASSIFIER_TASKS), "attr")
run = run_or_stop(choice)[1]
token_level = bundle.task == "token-classification"
settings = current_settings()


@st.cache_resource(show_spinner=_("Attributing…"), max_entries=64)
def cached_attribution(spec, text, pair, method, target, token_index, options: tuple, step_limit=None):
    """step_limit (the server's max_ig_steps) is part of the key: adaptive IG stops there."""
    return attribute(get_bundle(spec), text, pair, method=method, target=target, token_index=token_index, **dict(options))


@st.cache_resource(show_spinner=_("Running every method…"), max_entries=16)
def cached_comparison(spec, text, pair, methods: tuple, target, token_index):
    return compare_methods(get_bundle(spec), text, pair, methods=methods, target=target, token_index=token_index)


@st.cache_resource(show_spinner=_("Erasing tokens and re-scoring…"), max_entries=32)
def cached_curves(spec, text, pair, method, target, token_index):
    a = cached_attribution(spec, text, pair, method, target, token_index, (), settings.max_ig_steps)
    return a, faithfulness_curves(get_bundle(spec), a)


@st.cache_resource(show_spinner=_("Integrating through every layer…"), max_entries=16)
def cached_layers(spec, text, pair, target, token_index):
    return layer_attributions(get_bundle(spec), text, pair, target=target, token_index=token_index)


@st.cache_data(show_spinner=_("Gating every head…"), max_entries=16)
def cached_heads(spec, text, pair, target, token_index):
    return head_importance(get_bundle(spec), text, pair, target=target, token_index=token_index)


@st.cache_resource(show_spinner=False, max_entries=32)
def cached_flip(spec, text, k, mlm, step_limit=None):
    """The counterfactual search (explain.behaviour.counterfactual), with the shipped masked LM proposing words."""
    from explain.behaviour.counterfactual import counterfactual

    return counterfactual(get_bundle(spec), text, k=k, mlm=get_bundle(mlm) if mlm else None)


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def target_from_link(labels) -> None:
    """?target=<label> (e.g. a row's gold label, from the Data set page) selects that class. The URL follows
    the selection (see below), so the parameter only acts when a link or a page switch changes it (or the
    selection was dropped on leaving the page)."""
    wanted = st.query_params.get("target")
    if wanted is None:
        return
    if wanted in labels:
        current = st.session_state.get("attr.target")
        if current is None or current >= len(labels) or wanted != st.session_state.get("attr.target_written"):
            st.session_state["attr.target"] = list(labels).index(wanted)
    elif st.session_state.get("attr.bad_target") != wanted:
        st.session_state["attr.bad_target"] = wanted
        st.toast(_("Ignored target='{target}' from the link: {model} has no such label.").format(
            target=shown(wanted), model=_(bundle.name)))


# --- What the model predicts, and what to explain ---------------------------------------------
labels = bundle.labels
token_index = None
if token_level:
    probs_all = softmax(run.head_logits)
    predicted_all = probs_all.argmax(-1)
    content = [i for i in range(run.num_tokens) if not run.special[i]]
    default = next((i for i in content if labels[predicted_all[i]] != "O"), content[0])
    token_index = st.selectbox(_("Token to explain"), content, index=content.index(default), key="attr.token",
                               format_func=lambda i: f"{i}: {run.tokens[i]} → {labels[predicted_all[i]]}")
    probs = probs_all[token_index]
    label_col = _("predicted label")
    tagged = pd.DataFrame({_("token"): run.tokens, label_col: [labels[k] for k in predicted_all],
                           _("probability"): probs_all.max(-1)})
    with st.expander(_("Predicted label of every token")):
        st.dataframe(tagged[tagged[label_col] != "O"] if (tagged[label_col] != "O").any() else tagged,
                     width="stretch")
else:
    probs = softmax(run.head_logits)
predicted = int(np.argmax(probs))
top = np.argsort(-probs)[:8]
left, right = st.columns([2, 3])
with left:
    st.metric(_("Prediction"), labels[predicted], help=_("Probability {p:.1%}").format(p=probs[predicted]))
    predicted_mark = " · " + _("predicted")
    target_from_link(labels)
    target = st.selectbox(_("Explain the score of"), range(len(labels)), index=predicted, key="attr.target",
                          format_func=lambda k: f"{labels[k]} ({probs[k]:.1%})" + (predicted_mark if k == predicted else ""))
    st.query_params["target"] = st.session_state["attr.target_written"] = labels[target]
with right:
    st.plotly_chart(charts.bars([labels[k] for k in top], {_("probability"): probs[top]}, horizontal=True,
                                height=70 + 30 * len(top)), key="attr.probs", config=figure_config("attr.probs"))

view = st.segmented_control(_("View"), VIEWS, format_func=keep_language(_), default=VIEWS[0], key="attr.view",
                            label_visibility="collapsed") or VIEWS[0]
key = (choice.spec, choice.text, choice.pair)


def _or_nan(value):
    """None as NaN, so the table shows its na_rep ("–"), not "None"."""
    return np.nan if value is None else value


def show_scores(a, by_word: bool) -> None:
    """Coloured text and bars for one attribution (signed: blue for the target, red against)."""
    if by_word:
        w = merge_words(a)
        tokens, scores = list(w.words), w.scores
    else:
        tokens, scores = list(a.tokens), a.scores
    st.html(colored_tokens(tokens, scores, diverging=True, fmt="{:+.3f}"))
    st.plotly_chart(charts.bars(tokens, {_(a.method): scores},
                                y_title=_("contribution to {label}").format(label=a.target_label),
                                height=360, signed=True), key=f"attr.bars.{a.method_key}",
                    config=figure_config(f"attr.bars.{a.method_key}"))


def _ask_flip(asked) -> None:
    st.session_state["attr.flip_asked"] = asked


def _use_text(text: str) -> None:
    st.session_state["text"] = text


def flip_view() -> None:
    """What would flip this? The smallest word substitution the model, rerun, confirms; computed when asked."""
    from bert_lens.word_diff import comparison_chart, side_html
    from explain.behaviour.counterfactual import proposal_model

    if token_level:
        st.info(_("The counterfactual search changes words until a text classifier changes its label; test a tagger's "
                  "behaviour on the Stress tests page."))
        return
    if choice.pair:
        st.info(_("The counterfactual search edits a single text: clear the second sentence in the sidebar to use it."))
        return
    mlm = proposal_model(bundle)
    st.markdown(_("**What would flip this?** The fewest word substitutions (at most k) that change the prediction. "
                  "Gradients toward the other class rank the words and their replacements (HotFlip, Ebrahimi et al. "
                  "2018); {proposals}; every edit is run through the model again and kept only if the label changes.")
                .format(proposals=_("the masked LM {name} proposes fluent replacements").format(name=_(mlm)) if mlm
                        else _("replacements come from the whole vocabulary")))
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    k = c1.select_slider(_("Words to change, at most (k)"), [1, 2, 3, 4, 5], value=3, key="attr.flip_k")
    asked = (choice.spec, choice.text, k)
    c2.button(_("Search"), type="primary", key="attr.flip_go", on_click=_ask_flip, args=(asked,))
    if st.session_state.get("attr.flip_asked") != asked:
        st.caption(_("Computed only when asked (a second or two)."))
        return
    with st.spinner(_("Searching for the smallest edit…")):
        cf = cached_flip(choice.spec, choice.text, k, mlm, settings.max_ig_steps)
    if not cf.found:
        st.info(ngettext("No edit of one word flips the prediction ({n:,} candidate texts were run through the model). "
                         "Try a larger k.",
                         "No edit of up to {k} words flips the prediction ({n:,} candidate texts were run through the "
                         "model). Try a larger k.", k).format(k=k, n=cf.reruns))
        return
    before = float(cf.probs_before[list(labels).index(cf.label_before)])
    after = float(cf.probs_after[list(labels).index(cf.label_after)])
    edits = ", ".join(f"“{escape_markdown(e.old)}” → “{escape_markdown(e.new)}”" for e in cf.edits)
    st.success(ngettext("**{before}** ({p:.1%}) becomes **{after}** ({q:.1%}) when one word changes: {edits}.",
                        "**{before}** ({p:.1%}) becomes **{after}** ({q:.1%}) when {n} words change: {edits}.",
                        len(cf.edits)).format(before=cf.label_before, p=before, after=cf.label_after, q=after,
                                              n=len(cf.edits), edits=edits))
    st.code(cf.edited_text, language=None, wrap_lines=True)
    cmp = cf.attributions
    left, right = st.columns(2)
    left.markdown(_("**Original**, predicted {label}").format(label=cf.label_before))
    left.html(side_html(cmp, False))
    right.markdown(_("**Edited**, predicted {label}").format(label=cf.label_after))
    right.html(side_html(cmp, True))
    comparison_chart(cmp, "attr.flip", _("original text"), _("edited text"))
    st.caption(_("{n:,} candidate texts run through the model; {s:.1f} s with both attributions.").format(
        n=cf.reruns, s=cf.seconds))
    st.button(_("Explain the edited text"), key="attr.flip_use", on_click=_use_text, args=(cf.edited_text,),
              help=_("Puts the edited text in the sidebar, to look at it with every view."))


try:
    if view == VIEWS[0]:
        c1, c2, c3 = st.columns(3)
        method = c1.selectbox(_("Method"), list(METHODS), format_func=keep_language(lambda m: _(METHODS[m].name)), key="attr.method")
        spec = METHODS[method]
        options: dict = {}
        if spec.needs_baseline:
            options["baseline"] = c2.selectbox(_("Baseline"), list(BASELINE_NAMES), key="attr.baseline",
                                               format_func=keep_language(lambda b: _(BASELINE_NAMES[b])),
                                               help=_("What each word is compared with: [PAD], [MASK] or the zero "
                                                      "vector."))
        if method == "ig":
            steps = ["auto", *allowed_options((10, 20, 50, 100, 200), settings.max_ig_steps)]
            options["n_steps"] = c3.select_slider(
                _("Steps"), steps, value="auto", key="attr.steps",
                format_func=lambda n: _("adaptive") if n == "auto" else str(n),
                help=_("Adaptive: 4, 8, 16, ... Gauss-Legendre steps until the completeness gap is under 1 percent of "
                       "f(x) − f(baseline) (at most 256, or this server's limit); or a fixed number of steps."))
        if spec.kind == "perturbation" and method != "occlusion":
            samples = allowed_options((64, 128, 256, 512, 1024), settings.max_samples)
            options["n_samples"] = c3.select_slider(_("Samples"), samples, value=min(256, samples[-1]),
                                                    key="attr.samples")
        if spec.kind == "perturbation":
            options["features"] = c2.radio(_("Features"), ["token", "word"], horizontal=True, key="attr.features",
                                           format_func=keep_language(_))
        by_word = st.toggle(_("Merge WordPiece pieces into words"), key="attr.by_word")
        a = cached_attribution(*key, method, target, token_index, tuple(sorted(options.items())), settings.max_ig_steps)
        st.caption(_("{method}: blue tokens raise P({label}), red ones lower it. {reference}").format(
            method=_(a.method), label=a.target_label, reference=_(spec.reference)))
        show_scores(a, by_word)
        if a.delta is not None:
            comp = completeness(a)
            st.info(_(
                "Completeness: the scores add up to {total:+.4f}; f(x) − f(baseline) = {fx:.4f} − {fb:.4f} = "
                "{diff:+.4f}. Convergence delta {delta:+.2e} ({share:.1%} of the difference)."
            ).format(total=a.scores.sum(), fx=a.target_score, fb=a.baseline_score,
                     diff=a.target_score - a.baseline_score, delta=a.delta, share=comp.relative))
        if a.n_steps:
            st.caption(_("Integrated Gradients used {n} steps{how}.").format(
                n=a.n_steps, how=_(" (adaptive)") if options.get("n_steps") == "auto" else ""))

    elif view == VIEWS[1]:
        chosen = st.multiselect(_("Methods"), list(METHODS), default=list(CHEAP), key="attr.compare",
                                format_func=keep_language(lambda m: _(METHODS[m].name)), placeholder=_("Choose methods"))
        if chosen:
            cmp = cached_comparison(*key, tuple(chosen), target, token_index)
            table = cmp.table()
            table.columns = [_(c) for c in table.columns]
            table.index = [f"{i}: {t}" for i, t in enumerate(cmp.tokens)]
            st.dataframe(table.style.format("{:+.3f}").background_gradient(cmap="RdBu", axis=0), width="stretch")
            st.plotly_chart(
                charts.matrix_heatmap(cmp.rank_correlation, [_(n) for n in cmp.names], [_(n) for n in cmp.names],
                                      title=_("Rank agreement (Spearman ρ)"),
                                      row_title=_("method"), col_title=_("method"), value_name="ρ",
                                      colorscale=charts.DIVERGING, zmin=-1, zmax=1, height=420, value_format=".2f"),
                key="attr.rho", config=figure_config("attr.rho"),
            )
            st.caption(_("Methods that agree rank the tokens alike (ρ near 1). Disagreement is a reason to check "
                         "faithfulness before trusting any one of them."))

    elif view == VIEWS[2]:
        st.markdown(_(
            "**Deletion** (ERASER comprehensiveness): mask the top-ranked tokens first; a faithful explanation makes "
            "the score fall fast. **Insertion** (sufficiency): keep only the top-ranked tokens; a faithful explanation "
            "recovers the score fast. Dashed: the average of random orders."
        ))
        chosen = st.multiselect(_("Methods"), list(METHODS), default=["ig", "occlusion"], key="attr.faith",
                                format_func=keep_language(lambda m: _(METHODS[m].name)), placeholder=_("Choose methods"))
        rows = []
        cols = st.columns(2)
        for n, method in enumerate(chosen):
            a, curves = cached_curves(*key, method, target, token_index)
            x = curves.fractions * 100
            cols[n % 2].plotly_chart(
                charts.lines(x, {_("deletion"): curves.deletion, _("insertion"): curves.insertion,
                                 _("random deletion"): curves.random_deletion,
                                 _("random insertion"): curves.random_insertion},
                             title=_(a.method), x_title=_("tokens removed / kept (%)"), y_title=f"P({a.target_label})",
                             height=340),
                key=f"attr.curve.{method}", config=figure_config(f"attr.curve.{method}"),
            )
            rows.append({_("method"): _(a.method), _("AOPC comprehensiveness (↑)"): curves.aopc_comprehensiveness,
                         _("random"): curves.random_aopc_comprehensiveness,
                         _("AOPC sufficiency (↓)"): curves.aopc_sufficiency,
                         _("random") + " ": curves.random_aopc_sufficiency,
                         _("completeness error"): _or_nan(completeness(a).relative if a.delta is not None else None)})
        if rows:
            st.dataframe(pd.DataFrame(rows).set_index(_("method")).style.format("{:.3f}", na_rep="–"), width="stretch")

    elif view == VIEWS[4]:
        flip_view()

    else:
        st.markdown(_("**Layer Integrated Gradients**: how much each token's hidden state after each layer "
                      "contributes."))
        la = cached_layers(*key, target, token_index)
        st.plotly_chart(
            charts.matrix_heatmap(la.scores, [_("embeddings")] + [_("layer {layer}").format(layer=l + 1)
                                                                  for l in range(la.scores.shape[0] - 1)],
                                  la.tokens, title=_("{method} for {label}").format(method=_(la.method),
                                                                                    label=la.target_label),
                                  row_title=_("layer"), col_title=_("token"), value_name=_("attribution"),
                                  colorscale=charts.DIVERGING, symmetric=True, height=420),
            key="attr.layers", config=figure_config("attr.layers"),
        )
        st.markdown(_("**Head importance** (Michel et al., 2019): |∂ score / ∂ gate| for a gate on each head's "
                      "output."))
        imp = cached_heads(*key, target, token_index)
        st.plotly_chart(charts.head_grid(imp, title=_("Which heads matter for this prediction"),
                                         value_name=_("importance"), value_format=".4f"), key="attr.heads", config=figure_config("attr.heads"))
except BertLensError as err:
    st.info(str(err))
