"""Attributions: why a fine-tuned head predicts what it does, by several Captum methods, with checks."""

import numpy as np
import pandas as pd
import streamlit as st

from app import charts
from app.common import get_bundle, load_or_stop, run_or_stop
from app.fallback import SENTIMENT_MODEL, model_or_default
from app.render import colored_tokens
from explain import BertLensError
from explain.attribution.faithfulness import compare_methods, completeness, faithfulness_curves
from explain.attribution.methods import METHODS, attribute, head_importance, layer_attributions, merge_words
from explain.i18n import _
from explain.models.catalog import builtin_models_for
from explain.settings import allowed_options, current_settings

CLASSIFIER_TASKS = ("sequence-classification", "token-classification")
CHEAP = ("ig", "saliency", "input_x_gradient", "occlusion")

choice = st.session_state["choice"]
st.title("Attributions")
bundle = load_or_stop(choice.spec)
choice, bundle = model_or_default(choice, bundle, bundle.task in CLASSIFIER_TASKS, _("classification head"),
                                  SENTIMENT_MODEL, builtin_models_for(*CLASSIFIER_TASKS), "attr")
run = run_or_stop(choice)[1]
token_level = bundle.task == "token-classification"
settings = current_settings()


@st.cache_resource(show_spinner="Attributing…", max_entries=64)
def cached_attribution(spec, text, pair, method, target, token_index, options: tuple):
    return attribute(get_bundle(spec), text, pair, method=method, target=target, token_index=token_index, **dict(options))


@st.cache_resource(show_spinner="Running every method…", max_entries=16)
def cached_comparison(spec, text, pair, methods: tuple, target, token_index):
    return compare_methods(get_bundle(spec), text, pair, methods=methods, target=target, token_index=token_index)


@st.cache_resource(show_spinner="Erasing tokens and re-scoring…", max_entries=32)
def cached_curves(spec, text, pair, method, target, token_index):
    a = cached_attribution(spec, text, pair, method, target, token_index, ())
    return a, faithfulness_curves(get_bundle(spec), a)


@st.cache_resource(show_spinner="Integrating through every layer…", max_entries=16)
def cached_layers(spec, text, pair, target, token_index):
    return layer_attributions(get_bundle(spec), text, pair, target=target, token_index=token_index)


@st.cache_data(show_spinner="Gating every head…", max_entries=16)
def cached_heads(spec, text, pair, target, token_index):
    return head_importance(get_bundle(spec), text, pair, target=target, token_index=token_index)


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


# --- What the model predicts, and what to explain ---------------------------------------------
labels = bundle.labels
token_index = None
if token_level:
    probs_all = softmax(run.head_logits)
    predicted_all = probs_all.argmax(-1)
    content = [i for i in range(run.num_tokens) if not run.special[i]]
    default = next((i for i in content if labels[predicted_all[i]] != "O"), content[0])
    token_index = st.selectbox("Token to explain", content, index=content.index(default), key="attr.token",
                               format_func=lambda i: f"{i}: {run.tokens[i]} → {labels[predicted_all[i]]}")
    probs = probs_all[token_index]
    tagged = pd.DataFrame({"token": run.tokens, "predicted label": [labels[k] for k in predicted_all],
                           "probability": probs_all.max(-1)})
    with st.expander("Predicted label of every token"):
        st.dataframe(tagged[tagged["predicted label"] != "O"] if (tagged["predicted label"] != "O").any() else tagged,
                     width="stretch")
else:
    probs = softmax(run.head_logits)
predicted = int(np.argmax(probs))
top = np.argsort(-probs)[:8]
left, right = st.columns([2, 3])
with left:
    st.metric("Prediction", labels[predicted], help=f"Probability {probs[predicted]:.1%}")
    target = st.selectbox("Explain the score of", range(len(labels)), index=predicted, key="attr.target",
                          format_func=lambda k: f"{labels[k]} ({probs[k]:.1%})" + (" · predicted" if k == predicted else ""))
with right:
    st.plotly_chart(charts.bars([labels[k] for k in top], {"probability": probs[top]}, horizontal=True,
                                height=70 + 30 * len(top)), key="attr.probs")

view = st.segmented_control("View", ["Explain", "Compare methods", "Faithfulness", "Inside the model"],
                            default="Explain", key="attr.view", label_visibility="collapsed") or "Explain"
key = (choice.spec, choice.text, choice.pair)


def show_scores(a, by_word: bool) -> None:
    """Coloured text and bars for one attribution (signed: blue for the target, red against)."""
    if by_word:
        w = merge_words(a)
        tokens, scores = list(w.words), w.scores
    else:
        tokens, scores = list(a.tokens), a.scores
    st.html(colored_tokens(tokens, scores, diverging=True, fmt="{:+.3f}"))
    st.plotly_chart(charts.bars(tokens, {a.method: scores}, y_title=f"contribution to {a.target_label}",
                                height=360, signed=True), key=f"attr.bars.{a.method_key}")


try:
    if view == "Explain":
        c1, c2, c3 = st.columns(3)
        method = c1.selectbox("Method", list(METHODS), format_func=lambda m: METHODS[m].name, key="attr.method")
        spec = METHODS[method]
        options: dict = {}
        if spec.needs_baseline:
            options["baseline"] = c2.selectbox("Baseline", ["pad", "mask", "zero"], key="attr.baseline",
                                               help="What each word is compared with: [PAD], [MASK] or the zero vector.")
        if method == "ig":
            steps = allowed_options((10, 20, 50, 100, 200), settings.max_ig_steps)
            options["n_steps"] = c3.select_slider("Steps", steps, value=min(50, steps[-1]), key="attr.steps")
        if spec.kind == "perturbation" and method != "occlusion":
            samples = allowed_options((64, 128, 256, 512, 1024), settings.max_samples)
            options["n_samples"] = c3.select_slider("Samples", samples, value=min(256, samples[-1]), key="attr.samples")
        if spec.kind == "perturbation":
            options["features"] = c2.radio("Features", ["token", "word"], horizontal=True, key="attr.features")
        by_word = st.toggle("Merge WordPiece pieces into words", key="attr.by_word")
        a = cached_attribution(*key, method, target, token_index, tuple(sorted(options.items())))
        st.caption(f"{a.method}: blue tokens raise P({a.target_label}), red ones lower it. {spec.reference}")
        show_scores(a, by_word)
        if a.delta is not None:
            comp = completeness(a)
            st.info(
                f"Completeness: the scores add up to {a.scores.sum():+.4f}; f(x) − f(baseline) = "
                f"{a.target_score:.4f} − {a.baseline_score:.4f} = {a.target_score - a.baseline_score:+.4f}. "
                f"Convergence delta {a.delta:+.2e} ({comp.relative:.1%} of the difference)."
            )

    elif view == "Compare methods":
        chosen = st.multiselect("Methods", list(METHODS), default=list(CHEAP), key="attr.compare",
                                format_func=lambda m: METHODS[m].name)
        if chosen:
            cmp = cached_comparison(*key, tuple(chosen), target, token_index)
            table = cmp.table()
            table.index = [f"{i}: {t}" for i, t in enumerate(cmp.tokens)]
            st.dataframe(table.style.format("{:+.3f}").background_gradient(cmap="RdBu", axis=0), width="stretch")
            st.plotly_chart(
                charts.matrix_heatmap(cmp.rank_correlation, cmp.names, cmp.names, title="Rank agreement (Spearman ρ)",
                                      row_title="method", col_title="method", value_name="ρ",
                                      colorscale=charts.DIVERGING, zmin=-1, zmax=1, height=420, value_format=".2f"),
                key="attr.rho",
            )
            st.caption("Methods that agree rank the tokens alike (ρ near 1). Disagreement is a reason to check "
                       "faithfulness before trusting any one of them.")

    elif view == "Faithfulness":
        st.markdown(
            "**Deletion** (ERASER comprehensiveness): mask the top-ranked tokens first; a faithful explanation makes "
            "the score fall fast. **Insertion** (sufficiency): keep only the top-ranked tokens; a faithful explanation "
            "recovers the score fast. Dashed: the average of random orders."
        )
        chosen = st.multiselect("Methods", list(METHODS), default=["ig", "occlusion"], key="attr.faith",
                                format_func=lambda m: METHODS[m].name)
        rows = []
        cols = st.columns(2)
        for n, method in enumerate(chosen):
            a, curves = cached_curves(*key, method, target, token_index)
            x = curves.fractions * 100
            cols[n % 2].plotly_chart(
                charts.lines(x, {"deletion": curves.deletion, "insertion": curves.insertion,
                                 "random deletion": curves.random_deletion, "random insertion": curves.random_insertion},
                             title=a.method, x_title="% of tokens removed / kept", y_title=f"P({a.target_label})",
                             height=340),
                key=f"attr.curve.{method}",
            )
            rows.append({"method": a.method, "AOPC comprehensiveness (↑)": curves.aopc_comprehensiveness,
                         "random": curves.random_aopc_comprehensiveness,
                         "AOPC sufficiency (↓)": curves.aopc_sufficiency, "random ": curves.random_aopc_sufficiency,
                         "completeness error": completeness(a).relative if a.delta is not None else np.nan})
        if rows:
            st.dataframe(pd.DataFrame(rows).set_index("method").style.format("{:.3f}", na_rep="–"), width="stretch")

    else:
        st.markdown("**Layer Integrated Gradients**: how much each token's hidden state after each layer contributes.")
        la = cached_layers(*key, target, token_index)
        st.plotly_chart(
            charts.matrix_heatmap(la.scores, ["embeddings"] + [f"layer {l + 1}" for l in range(la.scores.shape[0] - 1)],
                                  la.tokens, title=f"{la.method} for {la.target_label}", row_title="layer",
                                  col_title="token", value_name="attribution", colorscale=charts.DIVERGING,
                                  symmetric=True, height=420),
            key="attr.layers",
        )
        st.markdown("**Head importance** (Michel et al., 2019): |∂ score / ∂ gate| for a gate on each head's output.")
        imp = cached_heads(*key, target, token_index)
        st.plotly_chart(charts.head_grid(imp, title="Which heads matter for this prediction", value_name="importance",
                                         value_format=".4f"), key="attr.heads")
except BertLensError as err:
    st.info(str(err))
