"""The next-sentence-prediction pair shared by the Masked page's NSP view and the Lessons' pre-training step:
BERT's own example pair (Devlin et al. 2019, section 3.1), a sentence from another text as the negative,
and the shipped NSP head's held-out accuracy."""

from __future__ import annotations

import streamlit as st

NEXT_PAIR = ("The man went to the store.", "He bought a gallon of milk.")  # IsNext, as in the BERT paper
RANDOM_SECOND = "Penguins cannot fly, but they are excellent swimmers."  # B from another text: NSP's negative


def use_pair(random_b: bool = False) -> None:
    """Callback: the example sentence pair into the sidebar's text and pair; with `random_b`, only B becomes a
    sentence from another text (the user's text A is kept)."""
    if random_b:
        st.session_state["pair"] = RANDOM_SECOND
        return
    st.session_state["text"], st.session_state["pair"] = NEXT_PAIR


def nsp_accuracy() -> float:
    """The shipped NSP head's held-out accuracy (BERT-style test), from its card."""
    from explain.models.catalog import NSP_MODEL
    from explain.models.heads import read_card, shipped_heads

    return read_card(shipped_heads()[NSP_MODEL])["metrics"]["bert"]["accuracy"]
