"""What layers know: probe curves per layer (parts of speech, dependency relation, entity type; silver
labels, with the majority baseline, the control task and the centre of gravity), the feed-forward neurons
and their NMF factors for the text on screen, and probes of a user's own labels.

Only the open view is computed (st.tabs would run every tab, the probes included, on every text edit).
"""

import streamlit as st

from bert_lens.common import run_or_stop
from bert_lens.views.layers import neurons, probes
from explain.i18n import N_, _, keep_language

VIEWS = {"probes": N_("Probes per layer"), "neurons": N_("Neurons of this text"), "own": N_("Your own labels")}

choice = st.session_state["choice"]
st.title(_("What layers know"))
st.caption(_("Which layer holds which kind of information? A linear probe per layer reads a word's label from its "
             "hidden state (Tenney et al. 2019 found parts of speech early, syntax and entities later). And what does "
             "the feed-forward half of each layer do? Its neurons act as keys and values (Geva et al. 2021)."))
bundle, run = run_or_stop(choice)
view = st.segmented_control(_("View"), list(VIEWS), format_func=keep_language(lambda v: _(VIEWS[v])), default="probes",
                            key="layers.view", label_visibility="collapsed") or "probes"
if view == "probes":
    probes.shipped_view(bundle, choice.spec)
elif view == "neurons":
    neurons.neuron_section(bundle, run, choice.spec, choice.text, choice.pair)
else:
    probes.user_view(bundle, choice.spec)
