"""Tokens and model: what the model sees (WordPiece tokens, ids, segments) and what it is."""

import pandas as pd
import streamlit as st

from app.common import run_or_stop
from app.render import token_chips

st.title("BERT Lens")
st.caption("See inside BERT-family models: tokens, embeddings, attention, masked predictions and attributions.")

bundle, run = run_or_stop(st.session_state["choice"])

cfg = bundle.config
params = sum(p.numel() for p in bundle.model.parameters())
cols = st.columns(6)
cols[0].metric("Layers", bundle.num_layers)
cols[1].metric("Heads per layer", bundle.num_heads)
cols[2].metric("Hidden size", cfg.hidden_size)
cols[3].metric("Vocabulary", f"{cfg.vocab_size:,}")
cols[4].metric("Parameters", f"{params / 1e6:.1f} M")
cols[5].metric("Head", bundle.task)

st.subheader(f"{run.num_tokens} tokens")
st.caption(
    "The tokenizer splits words into WordPiece units (continuations start with ##), adds [CLS] at the start "
    "and [SEP] after each sentence. Segment 0 is text A, segment 1 is text B."
)
st.html(token_chips(run.tokens, run.input_ids, run.segment, run.special))
st.caption("Above each token its position, below it its vocabulary id. Blue: text A, green: text B, grey: special.")
with st.expander("As a table"):
    table = pd.DataFrame(
        {
            "token": run.tokens,
            "id": run.input_ids,
            "segment": run.segment,
            "word": [int(w) if w >= 0 else None for w in run.word_ids],
            "special": run.special,
        }
    )
    st.dataframe(table, width="stretch")
if bundle.card:
    with st.expander("Card of this shipped head"):
        st.json(dict(bundle.card))
