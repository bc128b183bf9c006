"""Attention: one head, all heads, head statistics, rollout and flow, bertviz, and one head's arithmetic."""

import numpy as np
import streamlit as st

from bert_lens import charts
from bert_lens.common import figure_config, get_bundle, get_run, int_param, run_or_stop
from explain import InputError
from explain.attention.bertviz_offline import bertviz_html
from explain.attention.head_math import head_arithmetic, head_weights
from explain.attention.head_stats import STATISTICS, head_stats
from explain.attention.maps import attention_flow, flow_seconds_estimate, head_map, restrict, rollout
from explain.attention.viewer import attention_viewer_html
from explain.i18n import N_, _, keep_language
from explain.settings import check_flow_tokens

choice = st.session_state["choice"]
bundle, run = run_or_stop(choice)
L, H = run.num_layers, run.num_heads
VIEWS = [N_("One head"), N_("All heads"), N_("Head statistics"), N_("Rollout & flow"), "bertviz", N_("The math")]
FLOW_AUTO_SECONDS = 2.0


@st.cache_data(show_spinner=False, max_entries=32)
def cached_stats(spec: str, text: str, pair: str | None):
    return head_stats(get_run(spec, text, pair))


@st.cache_data(show_spinner=False, max_entries=32)
def cached_rollout(spec: str, text: str, pair: str | None) -> np.ndarray:
    return rollout(get_run(spec, text, pair).attentions)


@st.cache_data(show_spinner=False, max_entries=16)
def cached_flow(spec: str, text: str, pair: str | None) -> np.ndarray:
    return attention_flow(get_run(spec, text, pair).attentions)


@st.cache_data(show_spinner=False, max_entries=32)
def cached_math(spec: str, text: str, pair: str | None, layer: int, head: int):
    return head_arithmetic(get_run(spec, text, pair), head_weights(get_bundle(spec), layer, head))


def _init_controls() -> None:
    """Layer/head from the URL on first visit; clamp stale values when the model changed."""
    if "attn.layer" not in st.session_state:
        st.session_state["attn.layer"] = int_param("layer", L - 1 if L < 4 else 2, L)
        st.session_state["attn.head"] = int_param("head", 0, H)
    st.session_state["attn.layer"] = min(st.session_state["attn.layer"], L - 1)
    st.session_state["attn.head"] = min(st.session_state["attn.head"], H - 1)
    st.session_state.setdefault("attn.view", VIEWS[0])


def _open_head(chart_key: str) -> None:
    """Chart click callback: open the clicked head in the one-head view."""
    points = st.session_state.get(chart_key, {}).get("selection", {}).get("points", [])
    if points and "x" in points[0] and "y" in points[0]:  # x = head, y = layer (customdata comes back as a dict)
        st.session_state["attn.layer"], st.session_state["attn.head"] = int(points[0]["y"]), int(points[0]["x"])
        st.session_state["attn.view"] = VIEWS[0]


_init_controls()
st.title(_("Attention"))
view = st.segmented_control(_("View"), VIEWS, key="attn.view", format_func=keep_language(_), label_visibility="collapsed") or VIEWS[0]
c1, c2, c3, c4 = st.columns([2, 2, 1.3, 1.3])
layer = c1.slider(_("Layer"), 0, L - 1, key="attn.layer")
head = c2.slider(_("Head"), 0, H - 1, key="attn.head")
hide_special = c3.toggle(_("Hide [CLS]/[SEP]"), key="attn.hide_special")
renormalize = c4.toggle(_("Renormalise rows"), key="attn.renorm", disabled=not hide_special,
                        help=_("After hiding special tokens, rescale each row to sum to 1 again."))
st.query_params.update({"layer": str(layer), "head": str(head)})
key = (choice.spec, choice.text, choice.pair)

if view == VIEWS[0]:
    amap = head_map(run, layer, head, hide_special, renormalize)
    left, right = st.columns([3, 2])
    n = len(amap.query_tokens)
    left.plotly_chart(
        charts.matrix_heatmap(amap.weights, amap.query_tokens, amap.key_tokens, square=True,
                              height=int(min(950, max(520, 30 * n + 190))),
                              title=_("Layer {layer}, head {head}: where each token (row) looks").format(
                                  layer=layer, head=head)),
        key="attn.head_chart", config=figure_config("attn.head_chart"),
    )
    with right:
        q = st.selectbox(_("Query token"), range(n), format_func=lambda i: f"{amap.query_index[i]}: {amap.query_tokens[i]}",
                         index=min(1, n - 1), key="attn.query")
        st.session_state["attn.query_pos"] = int(amap.query_index[q])  # The math opens on the same token
        st.plotly_chart(
            charts.bars(amap.key_tokens, {_("weight"): amap.weights[q]}, horizontal=True, height=min(950, 60 + 24 * n),
                        title=_("Where '{token}' looks").format(token=amap.query_tokens[q])),
            key="attn.query_chart", config=figure_config("attn.query_chart"),
        )
    st.caption(_("Each row is a query token's attention over all key tokens; rows sum to 1 before hiding special "
                 "tokens.") if hide_special and not renormalize else
               _("Each row is a query token's attention over all key tokens; rows sum to 1."))

elif view == VIEWS[1]:
    page = attention_viewer_html(run, layer=layer, head=head, hide_special=hide_special, renormalize=renormalize)
    if page.notice:
        st.info(page.notice)
    st.caption(_("Every head at once (rows: layers, columns: heads). Click a thumbnail to enlarge it; hover for "
                 "weights. Sent to the browser: {kb:.0f} kB.").format(kb=page.bytes / 1e3))
    st.iframe(page.html, height="content")

elif view == VIEWS[2]:
    import pandas as pd  # here, not at the top: the first chart of a new server does not wait for pandas

    stats = cached_stats(*key)
    name = st.selectbox(_("Statistic"), list(STATISTICS), format_func=keep_language(lambda k: _(STATISTICS[k])), key="attn.stat")
    st.plotly_chart(
        charts.head_grid(stats[name], title=_("{statistic} of every head: click a head to open it").format(
                             statistic=_(STATISTICS[name])),
                         value_name=_(STATISTICS[name]), selected=(layer, head)),
        key="attn.stats_chart", config=figure_config("attn.stats_chart"),
        on_select=lambda: _open_head("attn.stats_chart"),
        selection_mode="points",
    )
    if name == "entropy":
        st.caption(_("0 bits: all attention on one token; {bits:.1f} bits: spread evenly over all {n}.").format(
            bits=stats.max_entropy, n=run.num_tokens))
    table = pd.DataFrame({_(STATISTICS[k]): stats[k][layer, head] for k in STATISTICS},
                         index=[_("layer {layer}, head {head}").format(layer=layer, head=head)])
    st.dataframe(table.style.format("{:.3f}"), width="stretch")

elif view == VIEWS[3]:
    st.markdown(_(
        "Raw attention shows one layer. **Rollout** multiplies the layers' head-averaged attention, with the "
        "residual connection added as 0.5·A + 0.5·I, to trace how much each output token draws on each input "
        "token. **Flow** treats the same graph as a network of pipes and computes the maximum flow between "
        "each pair (Abnar & Zuidema, 2020)."
    ))
    roll = cached_rollout(*key)
    upto = st.slider(_("Rollout up to layer"), 0, L - 1, L - 1, key="attn.rollout_layer")
    left, right = st.columns(2)
    m = restrict(run, roll[upto], hide_special, renormalize)
    left.plotly_chart(
        charts.matrix_heatmap(m.weights, m.query_tokens, m.key_tokens,
                              title=_("Rollout after layer {layer}").format(layer=upto),
                              row_title=_("output token"), col_title=_("input token"), value_name=_("rollout")),
        key="attn.rollout_chart", config=figure_config("attn.rollout_chart"),
    )
    estimate = flow_seconds_estimate(run.num_tokens, L)
    try:
        check_flow_tokens(run.num_tokens)
        flow_refused = None
    except InputError as err:
        flow_refused = str(err)
    with right:
        if flow_refused:
            st.info(flow_refused)
        elif estimate <= FLOW_AUTO_SECONDS or st.button(
                _("Compute attention flow (about {s:.0f} s)").format(s=estimate), key="attn.flow_go"):
            with st.spinner(_("Solving max-flow problems…")):
                flow = cached_flow(*key)
            share = flow / flow.sum(axis=1, keepdims=True)
            f = restrict(run, share, hide_special, renormalize)
            st.plotly_chart(
                charts.matrix_heatmap(f.weights, f.query_tokens, f.key_tokens, title=_("Attention flow (all layers)"),
                                      row_title=_("output token"), col_title=_("input token"),
                                      value_name=_("share of flow")),
                key="attn.flow_chart", config=figure_config("attn.flow_chart"),
            )
            st.caption(_("Each row shows an output token's max-flow from every input token, as a share of the row "
                         "total."))
        else:
            st.info(_("Attention flow for {n} tokens solves {problems:,} max-flow problems (about {s:.0f} s here). "
                      "Press the button to start it.").format(n=run.num_tokens, problems=run.num_tokens ** 2,
                                                               s=estimate))

elif view == VIEWS[4]:
    kind = st.radio(_("bertviz view"), ["head", "model"], horizontal=True, key="attn.bertviz_kind",
                    format_func=keep_language(lambda k: {"head": _("Head view (one layer)"),
                                                          "model": _("Model view (all heads)")}[k]))
    page = bertviz_html(run, view=kind, include_special=not hide_special)
    if page.notice:
        st.info(page.notice)
    st.caption(_("bertviz (Vig, 2019), drawn offline with bundled scripts; {mb:.2f} MB of HTML. For long texts the "
                 "'All heads' view is lighter and faster.").format(mb=page.bytes / 1e6))
    st.iframe(page.html, height="content")

else:
    import pandas as pd

    calc = cached_math(*key, layer, head)
    st.latex(r"\mathrm{Attention}(Q, K, V) = \mathrm{softmax}\!\left(\frac{Q K^{\top}}{\sqrt{d_k}}\right) V")
    st.markdown(_(
        "Layer {layer}, head {head}: the layer's input **X** ({n} tokens x {d}) is projected to queries, keys and "
        "values of size d_k = {d_k}: {formulas}."
    ).format(layer=layer, head=head, n=run.num_tokens, d=calc.x.shape[1], d_k=calc.d_k,
             formulas=r"$Q = XW_Q + b_Q$, $K = XW_K + b_K$, $V = XW_V + b_V$"))
    labels = [f"{i}: {t}" for i, t in enumerate(run.tokens)]
    q = st.selectbox(_("Query token"), range(run.num_tokens), format_func=lambda i: labels[i],
                     index=min(st.session_state.get("attn.query_pos", 1), run.num_tokens - 1), key="attn.math_query")
    exp_scores = np.exp(calc.scores[q] - calc.scores[q].max())
    key_col, softmax_col = _("key token"), _("softmax = exp / Σ")
    steps = pd.DataFrame(
        {
            key_col: labels,
            "q·k": calc.q[q] @ calc.k.T,
            f"q·k / √{calc.d_k}": calc.scores[q],
            _("exp(score − max)"): exp_scores,
            softmax_col: calc.weights[q],
            _("model's weight"): calc.model_weights[q],
        }
    )
    st.markdown(_("**Scores of query '{token}' against every key, then softmax** (Σ exp = {total:.4f}):").format(
        token=run.tokens[q], total=exp_scores.sum()))
    st.dataframe(steps.style.format({c: "{:.4f}" for c in steps.columns if c != key_col})
                 .background_gradient(subset=[softmax_col], cmap="Blues"), width="stretch", hide_index=True)
    top = int(np.argmax(calc.weights[q]))
    st.latex(rf"z_{{{q}}} = \sum_j a_{{{q}j}}\, v_j")
    st.markdown(_("Largest term: {term} on '{token}'.").format(
        term=rf"$a_{{{q},{top}}} = {calc.weights[q, top]:.3f}$", token=run.tokens[top]))
    vectors = pd.DataFrame({_("q (query)"): calc.q[q], _("k of top key"): calc.k[top], _("v of top key"): calc.v[top],
                            _("z = output"): calc.output[q]}).T
    st.dataframe(vectors.style.format("{:.3f}"), width="stretch")
    ok = calc.max_abs_error < 1e-5
    (st.success if ok else st.error)(
        _("Recomputed from W_Q, W_K and the layer input, the weights match the model's own attention for every "
          "query: max |difference| = {error:.1e}").format(error=calc.max_abs_error) + (" ✓" if ok else " ✗")
    )
    left, right = st.columns(2)
    left.plotly_chart(charts.matrix_heatmap(calc.scores, run.tokens, run.tokens, title=_("Scores QKᵀ/√d_k"),
                                            value_name=_("score"), colorscale=charts.DIVERGING, symmetric=True),
                      key="attn.math_scores", config=figure_config("attn.math_scores"))
    right.plotly_chart(charts.matrix_heatmap(calc.weights, run.tokens, run.tokens, title=_("softmax(scores)")),
                       key="attn.math_weights", config=figure_config("attn.math_weights"))
