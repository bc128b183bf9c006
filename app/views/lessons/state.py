"""Lesson state: the step, layer and head (mirrored into the URL), example sentences, and the models a
step needs when the sidebar's model lacks that head."""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import urlencode

import streamlit as st

from bert_lens.common import Choice, get_bundle, int_param, keep_sidebar_state
from bert_lens.fallback import SENTIMENT_MODEL
from bert_lens.sentence_pair import NEXT_PAIR
from explain.i18n import N_, _
from explain.models.catalog import builtin_models_for

NUM_STEPS = 10
TITLES = (
    N_("Tokens"),
    N_("The input embedding"),
    N_("Self-attention of one head"),
    N_("Multi-head attention"),
    N_("Layers: what heads do"),
    N_("Pre-training: masked language model"),
    N_("Fine-tuning: the classification head"),
    N_("Explaining a prediction"),
    N_("What attention does not tell you"),
    N_("Different layers, different knowledge"),
)
CHINESE = "我们在北京学习中文。"
# (label, text, pair): the lesson's example sentences; the sidebar's own text is always offered too.
EXAMPLES = (
    (N_("Coreference: who was tired?"), "The animal didn't cross the street because it was too tired.", ""),
    (N_("A sentence pair (next sentence)"), *NEXT_PAIR),
    (N_("A movie review"), "A gorgeous, witty, seductive movie.", ""),
    (N_("Chinese: 我们在北京学习中文。"), CHINESE, ""),
)


@dataclass(frozen=True)
class Lesson:
    """Where the class is: step (1-10), layer and head, and what the sidebar chose."""

    step: int
    layer: int
    head: int
    choice: Choice



def init_state(num_layers: int, num_heads: int) -> Lesson:
    """Step, layer and head from the link on the first visit; clamped to this model's size."""
    ss = st.session_state
    if "lesson.step" not in ss:  # out of range or not a number: a notice, and the nearest or default value
        ss["lesson.step"] = int_param("step", 1, NUM_STEPS + 1, lower=1)
        ss["lesson.layer"] = int_param("layer", min(2, num_layers - 1), num_layers)
        ss["lesson.head"] = int_param("head", 0, num_heads)
    # written back every run: the sliders exist only on steps 3-5, and Streamlit forgets a widget's value
    # on a run that does not draw it
    ss["lesson.layer"] = min(ss.get("lesson.layer", 0), num_layers - 1)
    ss["lesson.head"] = min(ss.get("lesson.head", 0), num_heads - 1)
    return Lesson(st.session_state["lesson.step"], st.session_state["lesson.layer"], st.session_state["lesson.head"],
                  st.session_state["choice"])


def go(step: int, layer: int | None = None, head: int | None = None) -> None:
    """Callback: open a step (and optionally a head)."""
    st.session_state["lesson.step"] = min(max(int(step), 1), NUM_STEPS)
    if layer is not None:
        st.session_state["lesson.layer"] = int(layer)
    if head is not None:
        st.session_state["lesson.head"] = int(head)
    keep_sidebar_state()


def mirror(lesson: Lesson) -> None:
    st.query_params.update({"step": str(lesson.step), "layer": str(lesson.layer), "head": str(lesson.head)})


def link(lesson: Lesson, present: bool) -> str:
    """A link that restores this step, model, text, layer and head (relative to the app's address)."""
    params = {"step": lesson.step, "layer": lesson.layer, "head": lesson.head, "model": lesson.choice.spec,
              "text": lesson.choice.text}
    if lesson.choice.pair:
        params["pair"] = lesson.choice.pair
    if present:
        params["present"] = 1
    if st.session_state.get("lang"):
        params["lang"] = st.session_state["lang"]
    return "lessons?" + urlencode(params)


def use_example(index: int) -> None:
    """Callback: put a lesson example into the sidebar's text and pair."""
    _label, text, pair = EXAMPLES[index]
    st.session_state["text"], st.session_state["pair"] = text, pair


def is_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def substitute(choice: Choice, ok: bool, fallback: str, what: str) -> tuple[Choice, str | None]:
    """The choice a step should use: the sidebar's when its model has `what`, else `fallback`, with a note."""
    if ok:
        return choice, None
    note = _("{model} has no {what}, so this step shows {fallback}. Your model comes back at the other steps.").format(
        model=get_bundle(choice.spec).name if choice.spec else "", what=_(what), fallback=fallback)
    return replace(choice, spec=fallback), note


def mlm_model() -> str:
    return builtin_models_for("masked-lm")[0]  # the BERT Lens MLM model (all six layers adapted)


def classifier_model(task: str = "sequence-classification") -> str:
    if task == "sequence-classification":
        return SENTIMENT_MODEL
    return builtin_models_for(task)[0]
