"""Cached computations of the What layers know page (the shipped probes are a background job: jobs.py).

Every result is cached per model spec (st.cache_resource: one copy for every session; results are frozen
dataclasses of read-only arrays, and the shared model is only called, never changed). The shipped probes
run on a sample of the sentences (`SAMPLES`): fitting 7 layers x 2 tasks on all 2,000 took minutes per
label set on 2 cores (docs/notes/probing.md).
"""

from __future__ import annotations

import streamlit as st

from bert_lens.common import get_bundle, get_run
from explain.i18n import N_

SAMPLES = (100, 200, 400, 1600)  # training sentences probed (and a quarter as many held-out ones)
DEFAULT_SAMPLE = 100
LABEL_SETS = {"pos": N_("parts of speech"), "dep": N_("dependency relation"), "ner": N_("entity type")}
MERGES = {"first": N_("first word piece"), "mean": N_("mean of the word pieces")}


@st.cache_resource(show_spinner=False, max_entries=8)
def user_report(spec: str, merge: str, raw: bytes):
    """(ProbeSentences, ProbeReport) of a user's label CSV; InputError (not cached) for a bad file."""
    from explain.probing.data import read_label_csv
    from explain.probing.features import word_features
    from explain.probing.probes import probe_layers

    data = read_label_csv(raw)
    features = word_features(get_bundle(spec), data.words, merge=merge)
    return data, probe_layers(data, features, "labels")


@st.cache_resource(show_spinner=False, max_entries=32)
def activations(spec: str, text: str, pair: str | None, layer: int):
    """Feed-forward activations of one layer (0-based block) for the sidebar's text."""
    from explain.probing.neurons import ffn_activations

    return ffn_activations(get_bundle(spec), get_run(spec, text, pair), [layer])


@st.cache_resource(show_spinner=False, max_entries=32)
def factors(spec: str, text: str, pair: str | None, layer: int, n_factors: int):
    from explain.probing.neurons import nmf_factors

    return nmf_factors(activations(spec, text, pair, layer), layer, n_factors)


@st.cache_resource(show_spinner=False, max_entries=32)
def vocabulary(spec: str, layer: int, neurons: tuple[int, ...], k: int = 10):
    from explain.probing.neurons import neuron_vocabulary

    return neuron_vocabulary(get_bundle(spec), layer, list(neurons), k)
