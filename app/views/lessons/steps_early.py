"""Lesson steps 1-5 on the sidebar's model: tokens, input embedding, one head, multi-head, layers."""

from __future__ import annotations

import html

import numpy as np
import streamlit as st

from bert_lens import charts
from bert_lens.common import get_bundle, get_run
from bert_lens.render import token_chips
from bert_lens.views.lessons import state
from bert_lens.views.lessons.context import StepContext
from explain.attention.head_math import head_arithmetic, head_weights
from explain.attention.head_stats import STATISTICS, head_stats
from explain.attention.maps import rollout
from explain.attention.multihead_math import multihead_arithmetic
from explain.embeddings import embedding_parts
from explain.i18n import N_, _
from explain.positions import diagnose_primer, learned_positions, similarity_by_offset, sinusoidal_encoding


@st.cache_data(show_spinner=False, max_entries=32)
def cached_head_math(spec: str, text: str, pair: str | None, layer: int, head: int):
    return head_arithmetic(get_run(spec, text, pair), head_weights(get_bundle(spec), layer, head))


@st.cache_data(show_spinner=False, max_entries=32)
def cached_multihead(spec: str, text: str, pair: str | None, layer: int):
    return multihead_arithmetic(get_bundle(spec), get_run(spec, text, pair), layer)


@st.cache_data(show_spinner=False, max_entries=32)
def cached_stats(spec: str, text: str, pair: str | None):
    return head_stats(get_run(spec, text, pair))


@st.cache_data(show_spinner=False, max_entries=32)
def cached_rollout(spec: str, text: str, pair: str | None) -> np.ndarray:
    return rollout(get_run(spec, text, pair).attentions)


def every_label(fig, rows: int, cols: int):
    """Label every row and column of a token map (plotly would skip every other one when they crowd)."""
    for axis, n in ((fig.update_xaxes, cols), (fig.update_yaxes, rows)):
        if n <= 40:
            axis(dtick=1, tickfont_size=15 if n <= 18 else 12)
    return fig.update_layout(margin={"t": 50, "b": 10}).update_xaxes(tickangle=-50)


def layer_head_controls(ctx: StepContext, head: bool = True) -> None:
    run = ctx.run
    with ctx.side:
        c1, c2 = st.columns(2) if head else (st.container(), None)
        c1.slider(_("Layer"), 0, run.num_layers - 1, key="lesson.layer")
        if head:
            c2.slider(_("Head"), 0, run.num_heads - 1, key="lesson.head")


def default_query(run) -> int:
    """'it' when the sentence has it (the coreference example), else the first word token."""
    for i, tok in enumerate(run.tokens):
        if tok.lower() == "it":
            return i
    return 1 if run.num_tokens > 2 else 0


# --- 1 -------------------------------------------------------------------------------------------
TEXT_1 = N_(
    "BERT never sees letters. A **WordPiece** tokenizer cuts the text into pieces from a fixed vocabulary "
    "(continuations start with ##), looks up each piece's **id**, adds **[CLS]** at the start and **[SEP]** "
    "after each sentence. With a sentence pair, every token also gets a **segment** (0 for text A, 1 for "
    "text B): that is how BERT tells the two sentences apart."
)
QUESTION_1 = N_("Which words were split into several pieces, and why would a rare word be split more than a common one?")


def step_1(ctx: StepContext) -> None:
    run, bundle = ctx.run, ctx.bundle
    with ctx.side:
        if not ctx.lesson.choice.pair:
            st.button(_("Show a sentence pair"), on_click=state.use_example, args=(1,), key="lesson.pair_example")
    with ctx.view:
        pieces = sum(1 for t in run.tokens if t.startswith("##"))
        st.markdown(_("**T = {t} tokens** ({p} continuation pieces) from a vocabulary of **{v:,}**; segments: "
                      "{segs}.").format(t=run.num_tokens, p=pieces, v=bundle.config.vocab_size,
                                        segs=", ".join(str(s) for s in sorted(set(run.segment.tolist())))))
        st.html(token_chips(run.tokens, run.input_ids, run.segment, run.special))
        st.caption(_("Above each token its position, below it its id. Blue: text A (segment 0), green: text B "
                     "(segment 1), grey: special tokens."))
        if state.is_chinese(ctx.lesson.choice.text):
            unk = sum(1 for t in run.tokens if t == bundle.tokenizer.unk_token)
            st.info(_(
                "Chinese has no spaces, and BERT's tokenizer splits every Chinese character into its own token "
                "(bert-base-chinese does the same: most of its 21,128 vocabulary entries are single characters). "
                "This model's English vocabulary knows only some characters: {unk} of {n} became {unk_token}. "
                "For Chinese, use bert-base-chinese: prepare it once with a network "
                "(`python -m explain prefetch bert-base-chinese`), then choose it in the sidebar's model list."
            ).format(unk=unk, n=run.num_tokens - int(run.special.sum()), unk_token=bundle.tokenizer.unk_token))


# --- 2 -------------------------------------------------------------------------------------------
TEXT_2 = N_(
    "Each token's input vector is the sum of three learned vectors, **word + position + segment**, then "
    "LayerNorm. The Transformer paper used a fixed **sinusoidal** position code; BERT **learns** one row per "
    "position instead. Some primers print the one-liner PE(pos) = sin(pos/10000) + cos(pos/10000): its "
    "numbers on the right show why it cannot work."
)
QUESTION_2 = N_("Why must the position be added at all? What would attention compute for a shuffled sentence without it?")


def step_2(ctx: StepContext) -> None:
    run, bundle = ctx.run, ctx.bundle
    parts = embedding_parts(run)
    with ctx.view:
        left, right = st.columns(2)
        left.plotly_chart(
            charts.bars(run.tokens, {_("word"): parts.word, _("position"): parts.position, _("segment"): parts.segment,
                                     _("sum"): parts.total}, y_title=_("L2 norm"), height=ctx.height - 100,
                        title=_("Size of each part ({t} × {d})").format(t=run.num_tokens, d=run.hidden_states.shape[-1])),
            key="lesson.parts")
        learned = learned_positions(bundle)[: min(128, bundle.max_tokens)]
        sinus = sinusoidal_encoding(len(learned), learned.shape[1])
        offsets = np.arange(min(48, len(learned)))
        right.plotly_chart(
            charts.lines(offsets, {_("learned (BERT)"): similarity_by_offset(learned, len(offsets) - 1),
                                   _("sinusoidal"): similarity_by_offset(sinus, len(offsets) - 1)},
                         title=_("Similarity of positions p and p + k"), x_title=_("offset k"),
                         y_title=_("mean cosine"), height=ctx.height - 100),
            key="lesson.offsets")
        d = diagnose_primer(len(learned), learned.shape[1])
        st.markdown(_(
            "**The one-liner sin(pos/10000) + cos(pos/10000)**, diagnosed on {n} positions × {dim}: rank "
            "**{rank}** (sinusoidal: {srank}); smallest cosine between two positions **{cos:.6f}** (sinusoidal: "
            "{scos:.2f}); neighbours differ by **{gap:.1e}** (sinusoidal: {sgap:.3f}); after LayerNorm it is "
            "**{ln:.0e}**: the position vanishes."
        ).format(n=len(learned), dim=learned.shape[1], rank=d.rank, srank=d.sinusoid_rank, cos=d.min_cosine,
                 scos=d.sinusoid_min_cosine, gap=d.neighbour_gap, sgap=d.sinusoid_neighbour_gap, ln=d.layer_norm_collapse))


# --- 3 -------------------------------------------------------------------------------------------
TEXT_3 = N_(
    "One head turns each token's vector into a **query**, a **key** and a **value** (Q = XW_Q, K = XW_K, "
    "V = XW_V, each of size d_k). A token's query is compared with every key; the scores, divided by √d_k, "
    "go through a softmax so that each row sums to 1; the output is the weighted sum of the values. The "
    "numbers are recomputed from the weights and checked against the model."
)
QUESTION_3 = N_("Find a head where 'it' looks at the noun it refers to. Is the same head right for the other sentences?")


def step_3(ctx: StepContext) -> None:
    run, lesson = ctx.run, ctx.lesson
    layer_head_controls(ctx)
    calc = cached_head_math(*ctx.key, lesson.layer, lesson.head)
    labels = [f"{i}: {t}" for i, t in enumerate(run.tokens)]
    with ctx.side:
        st.latex(r"\mathrm{softmax}\!\left(\frac{QK^{\top}}{\sqrt{d_k}}\right)V")
        q = st.selectbox(_("Query token"), range(run.num_tokens), format_func=lambda i: labels[i],
                         index=default_query(run), key="lesson.query")
    top = int(np.argmax(calc.weights[q]))
    with ctx.view:
        left, right = st.columns([3, 2])
        left.plotly_chart(
            every_label(charts.matrix_heatmap(
                calc.weights, run.tokens, run.tokens, height=ctx.height,
                title=_("Layer {l}, head {h}: softmax(QKᵀ/√{d})").format(l=lesson.layer, h=lesson.head, d=calc.d_k)),
                run.num_tokens, run.num_tokens),
            key="lesson.head_map")
        order = np.argsort(-calc.weights[q])[:5]
        rows = {_("key"): [run.tokens[j] for j in order], "q·k/√d_k": [f"{calc.scores[q, j]:.2f}" for j in order],
                _("weight"): [f"{calc.weights[q, j]:.3f}" for j in order]}
        right.markdown(_("**'{tok}'** (d_k = {d}): its five largest weights").format(tok=html.escape(run.tokens[q]), d=calc.d_k))
        right.table(rows)
        ok = calc.max_abs_error < 1e-5
        right.markdown(_("Largest: **{w:.3f}** on '{key}'. Recomputed vs the model: max |difference| = **{err:.1e}** {mark}")
                       .format(w=calc.weights[q, top], key=html.escape(run.tokens[top]), err=calc.max_abs_error,
                               mark="✓" if ok else "✗"))


# --- 4 -------------------------------------------------------------------------------------------
TEXT_4 = N_(
    "A layer runs **H heads side by side**, each with its own W_Q, W_K, W_V of width d_k = D / H. Their outputs "
    "are **concatenated** (T × H·d_k) and multiplied by **W^O** (H·d_k × D), which is the same as adding up "
    "what each head writes through its slice of W^O. Then BERT adds the layer's input back and normalises: "
    "LayerNorm(X + MultiHead(X))."
)
QUESTION_4 = N_("Which heads write the most into the output? Would the layer still work with one big head instead of many?")


def step_4(ctx: StepContext) -> None:
    run, lesson = ctx.run, ctx.lesson
    layer_head_controls(ctx, head=False)
    calc = cached_multihead(*ctx.key, lesson.layer)
    H, T, d_k = calc.q.shape
    D = calc.x.shape[1]
    with ctx.side:
        st.latex(r"\mathrm{Concat}(\mathrm{head}_1,\dots,\mathrm{head}_{" + str(H) + r"})\,W^O")
    norms = np.linalg.norm(calc.per_head, axis=-1)  # (H, T): how much each head writes into each token
    with ctx.view:
        left, right = st.columns([3, 2])
        left.plotly_chart(
            every_label(charts.matrix_heatmap(
                norms, [_("head {h}").format(h=h) for h in range(H)], run.tokens,
                title=_("Layer {l}: |head_i W^O_i| per token").format(l=lesson.layer), row_title=_("head"),
                col_title=_("token"), value_name=_("norm"), height=ctx.height), H, run.num_tokens),
            key="lesson.multihead")
        right.table({
            _("step"): ["X", "Q, K, V", _("heads"), _("Concat"), "W^O", _("output"), "LayerNorm(X + " + _("output") + ")"],
            _("shape"): [f"{T} × {D}", f"{H} × {T} × {d_k}", f"{H} × {T} × {d_k}", f"{T} × {H * d_k}",
                         f"{H * d_k} × {D}", f"{T} × {D}", f"{T} × {D}"],
        })
        ok = max(calc.max_abs_error, calc.max_abs_error_after_norm) < 1e-5
        right.markdown(_("Recomputed from the weights vs the model's own attention block: max |difference| "
                         "**{e1:.1e}** (output), **{e2:.1e}** (after LayerNorm) {mark}").format(
            e1=calc.max_abs_error, e2=calc.max_abs_error_after_norm, mark="✓" if ok else "✗"))


# --- 5 -------------------------------------------------------------------------------------------
TEXT_5 = N_(
    "BERT stacks N identical layers (attention + feed-forward, each with a residual connection). Heads "
    "specialise: some look at the **previous token**, some park their attention on **[SEP]** (a 'no-op'), "
    "a few link a pronoun to its noun (**coreference**). **Rollout** multiplies the layers' attention (with "
    "the residual) to estimate how much each output draws on each input. Click a head to open it in step 3."
)
QUESTION_5 = N_("Why would so many heads put most of their attention on [SEP] or [CLS]?")
STAT_CHOICES = ("prev", "sep", "cls", "entropy")


def _open_clicked_head() -> None:
    points = st.session_state.get("lesson.grid", {}).get("selection", {}).get("points", [])
    if points and "x" in points[0] and "y" in points[0]:
        state.go(3, layer=int(points[0]["y"]), head=int(points[0]["x"]))


def step_5(ctx: StepContext) -> None:
    run = ctx.run
    stats = cached_stats(*ctx.key)
    with ctx.side:
        name = st.radio(_("Colour the heads by"), STAT_CHOICES, format_func=lambda k: _(STATISTICS[k]),
                        horizontal=True, key="lesson.stat")
        q = default_query(run)
        content = [j for j in range(run.num_tokens) if not run.special[j] and j != q]
        if content:
            a = run.attentions[:, :, q, content]  # (L, H, K)
            layer, head, j = np.unravel_index(int(np.argmax(a)), a.shape)
            st.markdown(_("Strongest link from '{q}' to another word: layer {l}, head {h} → '{k}' ({w:.2f}).").format(
                q=html.escape(run.tokens[q]), l=layer, h=head, k=html.escape(run.tokens[content[j]]), w=a[layer, head, j]))
            st.button(_("Open that head"), on_click=state.go, args=(3, layer, head), key="lesson.open_link")
    roll = cached_rollout(*ctx.key)
    with ctx.view:
        left, right = st.columns(2)
        left.plotly_chart(
            charts.head_grid(stats[name], title=_(STATISTICS[name]), value_name=_(STATISTICS[name]),
                             selected=(ctx.lesson.layer, ctx.lesson.head)).update_layout(height=ctx.height),
            key="lesson.grid", on_select=_open_clicked_head, selection_mode="points")
        right.plotly_chart(
            every_label(charts.matrix_heatmap(
                roll[-1], run.tokens, run.tokens, height=ctx.height,
                title=_("Rollout through all {n} layers").format(n=run.num_layers), row_title=_("output token"),
                col_title=_("input token"), value_name=_("rollout")), run.num_tokens, run.num_tokens),
            key="lesson.rollout")
