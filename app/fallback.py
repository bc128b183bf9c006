"""A page that needs a head the sidebar's model lacks shows a built-in model that has it, at once,
with a note naming it and a way back (issue 10: no page of buttons for a first-time user)."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from bert_lens.common import Choice, load_or_stop, need_model
from explain import ModelBundle
from explain.i18n import _

SENTIMENT_MODEL = "MiniLM + movie-review sentiment head (rotten/fresh)"  # the Attributions page's and lessons' default

def _back(key: str, spec: str) -> None:
    st.session_state[key] = spec


def _again(key: str) -> None:
    st.session_state.pop(key, None)


def model_or_default(choice: Choice, bundle: ModelBundle, ok: bool, what: str, default: str,
                     suggestions: list[str], page: str) -> tuple[Choice, ModelBundle]:
    """(choice, bundle) the page should use: the sidebar's when `ok`, else `default`.

    `what` is the missing part, already translated ("masked-language-model head"). The note's button
    goes back to the sidebar's model (the usual "choose a model" prompt, which stops the page); that
    choice is kept for this model until the sidebar changes.
    """
    key = f"{page}.own_model"
    if ok:
        return choice, bundle
    if st.session_state.get(key) == choice.spec or default == choice.spec:
        st.button(_("Show {model} instead").format(model=_(default)), on_click=_again, args=(key,), key=f"{page}.default")
        need_model(bundle, False, what, suggestions)  # stops the page
    shown = load_or_stop(default)
    left, right = st.columns([4, 1], vertical_alignment="center")
    left.info(_("{model} has no {what}, so this page shows **{default}**. The sidebar still holds your model; "
                "the other pages use it.").format(model=_(bundle.name), what=what, default=_(shown.name)))
    right.button(_("Back to {model}").format(model=_(bundle.name)), on_click=_back, args=(key, choice.spec),
                 key=f"{page}.back")
    return replace(choice, spec=default), shown
