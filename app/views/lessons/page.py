"""Lessons: ten guided steps through BERT on the live model and the class's sentence, under an
overview of the data flow; presenter mode makes each step's view fit a 1280x720 projector."""

import streamlit as st

from bert_lens.common import run_or_stop
from bert_lens.views.lessons import state, step_layers, steps_early, steps_late
from bert_lens.views.lessons.context import StepContext
from bert_lens.views.lessons.diagram import Shapes, overview_figure
from explain.i18n import _

STEPS = {
    1: (steps_early.TEXT_1, steps_early.QUESTION_1, steps_early.step_1),
    2: (steps_early.TEXT_2, steps_early.QUESTION_2, steps_early.step_2),
    3: (steps_early.TEXT_3, steps_early.QUESTION_3, steps_early.step_3),
    4: (steps_early.TEXT_4, steps_early.QUESTION_4, steps_early.step_4),
    5: (steps_early.TEXT_5, steps_early.QUESTION_5, steps_early.step_5),
    6: (steps_late.TEXT_6, steps_late.QUESTION_6, steps_late.step_6),
    7: (steps_late.TEXT_7, steps_late.QUESTION_7, steps_late.step_7),
    8: (steps_late.TEXT_8, steps_late.QUESTION_8, steps_late.step_8),
    9: (steps_late.TEXT_9, steps_late.QUESTION_9, steps_late.step_9),
    10: (step_layers.TEXT_10, step_layers.QUESTION_10, step_layers.step_10),
}

present = bool(st.session_state.get("present"))
bundle, run = run_or_stop(st.session_state["choice"])
lesson = state.init_state(run.num_layers, run.num_heads)
state.mirror(lesson)
text, question, render = STEPS[lesson.step]


def _open_clicked_box() -> None:
    points = st.session_state.get("lesson.overview", {}).get("selection", {}).get("points", [])
    if points and points[0].get("customdata") is not None:
        data = points[0]["customdata"]
        state.go(int(data[0] if isinstance(data, list) else data))


d_k = bundle.config.hidden_size // bundle.num_heads
classes = len(bundle.labels) if bundle.labels else 2
shapes = Shapes(tokens=run.num_tokens, hidden=bundle.config.hidden_size, heads=bundle.num_heads, d_k=d_k,
                layers=bundle.num_layers, vocab=bundle.config.vocab_size, classes=classes)
st.plotly_chart(overview_figure(shapes, lesson.step, height=150 if present else 180, font_size=14 if present else 12),
                key="lesson.overview", on_select=_open_clicked_box, selection_mode="points",
                config={"displayModeBar": False})

head_row = st.columns([6, 3, 1.2, 1.2] if present else [4, 3, 1.6, 1.6], vertical_alignment="center")
step_title = _("Step {n} of {total}: {title}").format(n=lesson.step, total=state.NUM_STEPS,
                                                      title=_(state.TITLES[lesson.step - 1]))
head_row[0].markdown("#### " + step_title)
options = list(range(len(state.EXAMPLES)))
head_row[1].selectbox(_("Example sentence"), options, index=None, key="lesson.example",
                      format_func=lambda i: _(state.EXAMPLES[i][0]), placeholder=_("Choose a sentence for the class…"),
                      label_visibility="collapsed",
                      on_change=lambda: state.use_example(st.session_state["lesson.example"])
                      if st.session_state.get("lesson.example") is not None else None)
head_row[2].button(_("◀ Previous"), on_click=state.go, args=(lesson.step - 1,), disabled=lesson.step == 1,
                   key="lesson.prev", width="stretch")
head_row[3].button(_("Next ▶"), on_click=state.go, args=(lesson.step + 1,), disabled=lesson.step == state.NUM_STEPS,
                   key="lesson.next", width="stretch")

side, view = st.columns([2, 5] if present else [2, 4], gap="medium")
controls = side.container()  # the step's controls first, so they stay on screen
with side:
    st.markdown(_(text))
    st.markdown(_("**Question for the class:** {q}").format(q=_(question)))
ctx = StepContext(lesson=lesson, bundle=bundle, run=run, side=controls, view=view.container(key="lesson-view"),
                  height=430 if present else 460, present=present)
render(ctx)
with side:
    url = state.link(lesson, present)  # urlencoded: no character of it can break out of the link
    st.markdown(_("[Link to this step]({url}) (restores step, model, text, layer and head)").format(url=url))
