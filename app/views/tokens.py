"""Tokens and model: what the model sees (WordPiece tokens, ids, segments) and what it is."""

import pandas as pd
import streamlit as st

from bert_lens.common import run_or_stop
from bert_lens.render import token_chips
from explain.i18n import _, ngettext
from explain.models.checkpoint import TASK_NAMES

st.title("BERT Lens")
st.caption(_("See inside BERT-family models: tokens, embeddings, attention, masked predictions and attributions."))

bundle, run = run_or_stop(st.session_state["choice"])

cfg = bundle.config
params = sum(p.numel() for p in bundle.model.parameters())
cols = st.columns([1, 1, 1, 1, 1, 2])  # the task head is words ("masked language model"), not a number
cols[0].metric(_("Layers"), bundle.num_layers)
cols[1].metric(_("Heads per layer"), bundle.num_heads)
cols[2].metric(_("Hidden size"), cfg.hidden_size)
cols[3].metric(_("Vocabulary"), f"{cfg.vocab_size:,}")
cols[4].metric(_("Parameters"), f"{params / 1e6:.1f} M")
cols[5].metric(_("Task head"), _(TASK_NAMES.get(bundle.task, bundle.task)))

st.subheader(ngettext("{n} token", "{n} tokens", run.num_tokens).format(n=run.num_tokens))
st.caption(_(
    "The tokenizer splits words into WordPiece units (continuations start with ##), adds [CLS] at the start "
    "and [SEP] after each sentence. Segment 0 is text A, segment 1 is text B."
))
st.html(token_chips(run.tokens, run.input_ids, run.segment, run.special))
st.caption(_("Above each token its position, below it its vocabulary id. Blue: text A, green: text B, grey: special."))
with st.expander(_("As a table")):
    table = pd.DataFrame(
        {
            _("token"): run.tokens,
            "id": run.input_ids,
            _("segment"): run.segment,
            _("word"): [int(w) if w >= 0 else None for w in run.word_ids],
            _("special"): run.special,
        }
    )
    st.dataframe(table, width="stretch")
if bundle.card:
    with st.expander(_("Card of this shipped head")):
        st.json(dict(bundle.card))
