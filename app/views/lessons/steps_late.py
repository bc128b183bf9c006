"""Lesson steps 6-9: pre-training (MLM; NSP with the shipped head by default), fine-tuning (the head),
Integrated Gradients, attention vs attribution. Each uses the sidebar's model when it has the head, else a
built-in model that does."""

from __future__ import annotations

import html

import numpy as np
import streamlit as st

from bert_lens import charts, sentence_pair
from bert_lens.common import get_bundle, get_run
from bert_lens.render import colored_tokens, token_chips
from bert_lens.views.lessons import state
from bert_lens.views.lessons.context import StepContext
from explain import BertLensError
from explain.attribution.faithfulness import completeness
from explain.attribution.methods import attribute
from explain.embeddings import embedding_parts
from explain.i18n import N_, _
from explain.lessons.classifier_head import HEAD_TASKS, classifier_arithmetic
from explain.mlm import next_sentence_probability
from explain.mlm_pretraining import draw_masking, predict_masked
from explain.models.catalog import NSP_MODEL

ACTIONS = {"mask": N_("→ [MASK]"), "random": N_("→ random token"), "keep": N_("kept")}


def _use(ctx: StepContext, ok: bool, fallback: str, what: str):
    """(spec, bundle, run) for the step: the sidebar's model if `ok`, else `fallback` (with a note)."""
    choice, note = state.substitute(ctx.lesson.choice, ok, fallback, what)
    if note:
        ctx.side.caption(note)
    return choice.spec, get_bundle(choice.spec), get_run(choice.spec, choice.text, choice.pair)


@st.cache_data(show_spinner=False, max_entries=32)
def cached_masking(spec: str, text: str, pair: str | None, seed: int):
    bundle = get_bundle(spec)
    draw = draw_masking(bundle, get_run(spec, text, pair), seed=seed)
    return draw, predict_masked(bundle, draw, top_k=3)


@st.cache_resource(show_spinner=False, max_entries=32)
def cached_ig(spec: str, text: str, pair: str | None):
    return attribute(get_bundle(spec), text, pair, method="ig")


# --- 6 -------------------------------------------------------------------------------------------
TEXT_6 = N_(
    "BERT learns from raw text by filling in blanks (**masked language model**). In each sentence **15 %** of "
    "the tokens are chosen; of those, **80 %** become [MASK], **10 %** a random token and **10 %** stay as they "
    "are. The model must predict the original token at every chosen position, the kept ones too: it never "
    "knows which tokens were tampered with. Original BERT also learned **next-sentence prediction** (NSP) on "
    "sentence pairs."
)
QUESTION_6 = N_("Why not replace every chosen token by [MASK]? What would go wrong when the model is used on real text?")


def redraw() -> None:
    st.session_state["lesson.seed"] = st.session_state.get("lesson.seed", 0) + 1


TASKS_6 = {"mlm": N_("Masked tokens (MLM)"), "nsp": N_("Next sentence (NSP)")}


def step_6(ctx: StepContext) -> None:
    with ctx.side:
        task = st.radio(_("Pre-training task"), list(TASKS_6), format_func=lambda t: _(TASKS_6[t]), horizontal=True,
                        key="lesson.pretrain")
    if task == "nsp":
        step_6_nsp(ctx)
        return
    spec, bundle, run = _use(ctx, ctx.bundle.has_mlm, state.mlm_model(), N_("masked-language-model head"))
    seed = st.session_state.get("lesson.seed", 0)
    with ctx.side:
        st.button(_("Draw again (seed {s})").format(s=seed + 1), on_click=redraw, key="lesson.redraw")
    draw, pred = cached_masking(spec, ctx.lesson.choice.text, ctx.lesson.choice.pair, seed)
    with ctx.view:
        st.markdown(_("{model}: **{k}** of {n} tokens chosen (seed {seed}); loss (mean −log P of the originals) "
                      "**{loss:.2f}** nats; top-1 right **{acc:.0%}**.").format(
            model=html.escape(bundle.name), k=len(draw.positions), n=draw.candidates, seed=seed, loss=pred.loss,
            acc=pred.accuracy))
        st.html(colored_tokens(draw.corrupted_tokens, np.isin(np.arange(len(draw.tokens)), draw.positions).astype(float),
                               fmt="{:.0f}"))
        rows = {
            _("position"): [int(p) for p in draw.positions],
            _("original"): [draw.tokens[p] for p in draw.positions],
            _("what happened"): [_(ACTIONS[a]) for a in draw.actions],
            _("model reads"): [draw.corrupted_tokens[p] for p in draw.positions],
            _("top 3 predictions"): ["  ·  ".join(f"{t} ({p:.2f})" for t, p in zip(toks, probs))
                                     for toks, probs in zip(pred.top_tokens, pred.top_probs)],
            _("P(original)"): [f"{p:.3f}" for p in pred.target_probs],
        }
        st.table(rows)


def step_6_nsp(ctx: StepContext) -> None:
    """NSP on the sidebar's pair with the model's own head, else the shipped NSP head: the pair's tokens and
    segments, the segment embeddings the two texts get, and P(IsNext)."""
    with ctx.side:
        c1, c2 = st.columns(2)
        c1.button(_("True next sentence"), on_click=sentence_pair.use_pair, args=(False,), key="lesson.nsp_true",
                  width="stretch")
        c2.button(_("Random sentence B"), on_click=sentence_pair.use_pair, args=(True,), key="lesson.nsp_random",
                  width="stretch")
    if not ctx.lesson.choice.pair:
        ctx.view.info(_("NSP needs a sentence pair: give a second sentence in the sidebar, or press a button on the "
                        "left."))
        return
    _spec, bundle, run = _use(ctx, ctx.bundle.has_nsp, NSP_MODEL, N_("next-sentence head"))
    p = next_sentence_probability(run)
    parts = embedding_parts(run)
    with ctx.view:
        st.markdown(_("{model}: **P(B follows A) = {p:.1%}** (IsNext vs NotNext, from the pooled [CLS]).").format(
            model=html.escape(_(bundle.name)), p=p))
        st.html(token_chips(run.tokens, run.input_ids, run.segment, run.special))
        st.plotly_chart(charts.bars(run.tokens, {_("segment"): parts.segment}, y_title=_("L2 norm"),
                                    height=ctx.height - 200, title=_("Segment embedding added to each token "
                                                                     "(A: segment 0, B: segment 1)")),
                        key="lesson.segments")


# --- 7 -------------------------------------------------------------------------------------------
TEXT_7 = N_(
    "Fine-tuning puts a small **head** on the pre-trained encoder and trains it (and often the top layers) on "
    "labelled examples. A sentence head reads one vector: for BERT the **pooled [CLS]**, h = tanh(W_p h_[CLS] "
    "+ b_p); then **P(y|X) = softmax(W h + b)**. A token head (e.g. named entities) applies W h + b to every "
    "token. The numbers here are recomputed from the head's weights and checked against the model's logits."
)
QUESTION_7 = N_("The head is a single linear layer. Where, then, does the knowledge that a review is positive live?")
HEAD_KINDS = {"sequence-classification": N_("Sentence: sentiment"), "token-classification": N_("Tokens: names and places (NER)")}


def step_7(ctx: StepContext) -> None:
    own = ctx.bundle.task if ctx.bundle.task in HEAD_TASKS else None
    with ctx.side:
        kind = st.radio(_("Head"), list(HEAD_KINDS), format_func=lambda k: _(HEAD_KINDS[k]), horizontal=True,
                        key="lesson.head_kind", index=list(HEAD_KINDS).index(own) if own else 0)
    _spec, bundle, run = _use(ctx, own == kind, state.classifier_model(kind),
                             N_("sentence classification head") if kind == "sequence-classification"
                             else N_("token classification head"))
    calc = classifier_arithmetic(bundle, run)
    ok = calc.max_abs_error < 1e-5
    check = _("Recomputed vs the model's logits: max |difference| = **{e:.1e}** {mark}").format(
        e=calc.max_abs_error, mark="✓" if ok else "✗")
    with ctx.view:
        if calc.task == "sequence-classification":
            D, C = calc.pooler_w.shape[1], len(calc.labels)
            st.latex(rf"h = \{calc.activation}(W_p\, h_{{[CLS]}} + b_p) \in \mathbb{{R}}^{{{calc.features.shape[0]}}},\quad "
                     rf"P(y|X) = \mathrm{{softmax}}(W h + b),\ W \in \mathbb{{R}}^{{{C}\times{calc.features.shape[0]}}}"
                     if calc.activation == "tanh" else r"P(y|X) = \mathrm{softmax}(W h + b)")
            st.markdown(_("{model} reads **{reads}** (D = {d}).").format(model=html.escape(bundle.name),
                                                                          reads=html.escape(_(calc.reads)), d=D))
            left, right = st.columns([2, 3])
            left.table({_("class"): list(calc.labels), "W h + b": [f"{v:+.4f}" for v in calc.logits],
                        _("model's logit"): [f"{v:+.4f}" for v in calc.model_logits],
                        "P(y|X)": [f"{p:.3f}" for p in calc.probs]})
            left.markdown(check)
            right.plotly_chart(charts.bars(list(calc.labels), {"P(y|X)": calc.probs}, horizontal=True,
                                           height=min(ctx.height - 80, 90 + 45 * C), title=_("Prediction: {label}").format(
                                               label=calc.labels[calc.predicted])), key="lesson.probs")
        else:
            pred = calc.predicted
            shown = [i for i in range(run.num_tokens) if not run.special[i]]
            st.markdown(_("{model}: W h_t + b for every token t (h_t: its last hidden state, D = {d}; "
                          "{c} labels).").format(model=html.escape(bundle.name), d=calc.features.shape[1],
                                                 c=len(calc.labels)))
            st.html(colored_tokens([f"{run.tokens[i]} · {calc.labels[pred[i]]}" if calc.labels[pred[i]] != "O"
                                    else run.tokens[i] for i in shown],
                                   np.array([calc.probs[i, pred[i]] if calc.labels[pred[i]] != "O" else 0.0 for i in shown]),
                                   vmax=1.0))
            named = [i for i in shown if calc.labels[pred[i]] != "O"][:8]
            if named:
                st.table({_("token"): [run.tokens[i] for i in named], _("label"): [calc.labels[pred[i]] for i in named],
                          "P": [f"{calc.probs[i, pred[i]]:.3f}" for i in named]})
            else:
                st.caption(_("No token got a label other than O: try the example with names and places."))
            st.markdown(check)


# --- 8 -------------------------------------------------------------------------------------------
TEXT_8 = N_(
    "Which words made the model say what it said? **Integrated Gradients** (Sundararajan et al. 2017) walks "
    "from a neutral input (every word replaced by [PAD]) to the real one and adds up the gradients on the way. "
    "Its scores obey **completeness**: they add up to the change in the model's score, f(x) − f(baseline). "
    "Blue words push towards the predicted class, red ones against it."
)
QUESTION_8 = N_("Cover up the most blue word (edit the sentence): does the prediction change as much as its score says?")


def _classifier(ctx: StepContext):
    return _use(ctx, ctx.bundle.task == "sequence-classification", state.SENTIMENT_MODEL,
                N_("sentence classification head"))


def step_8(ctx: StepContext) -> None:
    spec, bundle, _run = _classifier(ctx)
    try:
        a = cached_ig(spec, ctx.lesson.choice.text, ctx.lesson.choice.pair)
    except BertLensError as err:
        ctx.view.info(str(err))
        return
    comp = completeness(a)
    with ctx.view:
        st.markdown(_("{model}: why **{label}**?").format(model=html.escape(bundle.name), label=html.escape(a.target_label)))
        st.html(colored_tokens(a.tokens, a.scores, diverging=True, fmt="{:+.3f}"))
        st.plotly_chart(charts.bars(a.tokens, {a.method: a.scores}, signed=True, height=ctx.height - 140,
                                    y_title=_("contribution to {label}").format(label=a.target_label)),
                        key="lesson.ig")
        st.markdown(_("Completeness: the scores add up to **{total:+.4f}**; f(x) − f(baseline) = {fx:.4f} − {fb:.4f} = "
                      "**{diff:+.4f}** (gap {rel:.1%}, {steps} steps).").format(
            total=comp.total, fx=a.target_score, fb=a.baseline_score, diff=comp.expected, rel=comp.relative,
            steps=a.n_steps))


# --- 9 -------------------------------------------------------------------------------------------
TEXT_9 = N_(
    "Attention weights are easy to show, but they are not an explanation (Jain & Wallace 2019): different "
    "attention can give the same prediction, and attention to a token is not its effect on the output. "
    "Wiegreffe & Pinter (2019) answer that attention can still be informative, and must be tested. Here, "
    "on the same sentence and model: attention from [CLS] in the last layer, rollout, and Integrated Gradients."
)
QUESTION_9 = N_("Where do attention and attribution disagree most, and which one would you trust to explain the prediction? Why?")


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic) if len(a) > 2 else float("nan")


def step_9(ctx: StepContext) -> None:
    spec, bundle, run = _classifier(ctx)
    try:
        a = cached_ig(spec, ctx.lesson.choice.text, ctx.lesson.choice.pair)
    except BertLensError as err:
        ctx.view.info(str(err))
        return
    from bert_lens.views.lessons.steps_early import cached_rollout

    words = [i for i in range(run.num_tokens) if not run.special[i]]
    if not words:
        ctx.view.info(_("The text has no word tokens."))
        return
    attn = run.attentions[-1][:, 0][:, words].mean(0)  # (H, T) rows of [CLS], averaged over heads
    roll = cached_rollout(spec, ctx.lesson.choice.text, ctx.lesson.choice.pair)[-1][0, words]
    ig = np.abs(a.scores[words])

    def share(v):
        return v / v.sum() if v.sum() > 0 else v

    series = {_("attention from [CLS], last layer"): share(attn), _("rollout from [CLS]"): share(roll),
              _("|Integrated Gradients|"): share(ig)}
    tokens = [run.tokens[i] for i in words]
    with ctx.view:
        st.plotly_chart(charts.bars(tokens, series, height=ctx.height - 70, y_title=_("share of the sentence"),
                                    title=_("{model}: predicted {label}").format(model=bundle.name, label=a.target_label)),
                        key="lesson.disagree")
        gap = np.abs(share(attn) - share(ig))
        worst = int(np.argmax(gap))
        st.markdown(_("Rank agreement with |IG| (Spearman ρ): attention **{r1:.2f}**, rollout **{r2:.2f}**. "
                      "Largest disagreement: '{tok}' (attention {a:.0%} of the sentence, IG {g:.0%}).").format(
            r1=_spearman(attn, ig), r2=_spearman(roll, ig), tok=html.escape(tokens[worst]), a=share(attn)[worst],
            g=share(ig)[worst]))
