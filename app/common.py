"""Shared app plumbing: cached model and forward pass, the sidebar, guards that turn errors into messages."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from explain import DEFAULT_MODEL, BertLensError, ModelBundle, ModelRun, builtin_models, load_model, run_model
from explain.i18n import LANGUAGES, _, normalize_language

ASSETS = Path(__file__).resolve().parent.parent / "assets"
CUSTOM = "Other: hub id or local folder…"
DEFAULT_TEXT = "The animal didn't cross the street because it was too tired."
MAX_INPUT_CHARS = 20_000


@st.cache_resource(show_spinner="Loading the model…", max_entries=6)
def get_bundle(spec: str) -> ModelBundle:
    """One shared, read-only model per spec for all sessions."""
    return load_model(spec)


@st.cache_resource(show_spinner=False, max_entries=64)
def get_run(spec: str, text: str, pair: str | None) -> ModelRun:
    """One forward pass per (model, text, pair), shared by every view; ModelRun arrays are read-only."""
    return run_model(get_bundle(spec), text, pair)


def cached_hub_models() -> list[str]:
    """Hub ids of the BERT-family models in the local Hugging Face cache (loadable offline)."""
    from huggingface_hub import constants

    return _cached_hub_models(str(constants.HF_HUB_CACHE))


@st.cache_data(show_spinner=False, ttl=60)
def _cached_hub_models(cache_folder: str) -> list[str]:
    from explain.models.hub_cache import cached_model_ids

    return [m for m in cached_model_ids(cache_folder) if m not in builtin_models()]


@st.cache_data(show_spinner=False)
def examples() -> list[dict]:
    return json.loads((ASSETS / "examples" / "examples.json").read_text())


@dataclass(frozen=True)
class Choice:
    """What the sidebar says to analyse."""

    spec: str
    text: str
    pair: str | None


def current_language() -> str:
    """The session's language: the sidebar's choice, else ?lang= from the link, else the browser's language."""
    if "lang" not in st.session_state:
        st.session_state["lang"] = normalize_language(st.query_params.get("lang") or st.context.locale)
    return st.session_state["lang"]


def _init_state() -> None:
    """First run of a session: take model and text from the URL (shareable links), else defaults."""
    if st.session_state.get("_init"):
        return
    params = st.query_params
    names = [*builtin_models(), *cached_hub_models()]
    model = params.get("model", DEFAULT_MODEL)
    if model in names:
        st.session_state["model.choice"] = model
    else:
        st.session_state["model.choice"] = CUSTOM
        st.session_state["model.custom"] = model
    st.session_state["text"] = params.get("text", DEFAULT_TEXT)[:MAX_INPUT_CHARS]
    st.session_state["pair"] = params.get("pair", "")[:MAX_INPUT_CHARS]
    st.session_state["_init"] = True


def _load_example() -> None:
    title = st.session_state.get("example")
    for ex in examples():
        if ex["title"] == title:
            st.session_state["text"] = ex["text"]
            st.session_state["pair"] = ex["pair"]


def use_model(name: str) -> None:
    """Button callback: switch the sidebar's model."""
    st.session_state["model.choice"] = name


def sidebar() -> Choice:
    """Model chooser, text, optional pair and examples; mirrored into the URL."""
    _init_state()
    with st.sidebar:
        st.selectbox("Language / 语言", list(LANGUAGES), format_func=LANGUAGES.get, key="lang")
        cached = cached_hub_models()
        st.selectbox("Model", [*builtin_models(), *cached, CUSTOM], key="model.choice",
                     format_func=lambda m: _("{model} (cached)").format(model=m) if m in cached else m)
        spec = st.session_state["model.choice"]
        if spec == CUSTOM:
            spec = st.text_input(
                "Hub id or folder",
                key="model.custom",
                placeholder="bert-base-uncased or /path/to/checkpoint",
                help="Any BERT-family encoder: a Hugging Face hub id (needs a network or a local cache) "
                "or a local folder with config.json and model.safetensors.",
            ).strip()
        st.text_area("Text", key="text", height=110, max_chars=MAX_INPUT_CHARS)
        st.text_area("Second sentence (optional)", key="pair", height=70, max_chars=MAX_INPUT_CHARS,
                     help="Text B of a sentence pair: BERT sees [CLS] A [SEP] B [SEP].")
        st.selectbox("Load an example", [ex["title"] for ex in examples()], index=None, key="example",
                     on_change=_load_example, placeholder="Examples that teach something…")
        ex = next((e for e in examples() if e["title"] == st.session_state.get("example")), None)
        if ex:
            st.caption(ex["teaches"])
    text = st.session_state.get("text", "")
    pair = st.session_state.get("pair", "").strip() or None
    st.query_params.update({"model": spec or DEFAULT_MODEL, "text": text, "lang": st.session_state["lang"]})
    if pair:
        st.query_params["pair"] = pair
    elif "pair" in st.query_params:
        del st.query_params["pair"]
    return Choice(spec=spec, text=text, pair=pair)


def load_or_stop(spec: str) -> ModelBundle:
    """The bundle, or a clear message and a stopped page."""
    if not spec:
        st.info("Type a Hugging Face hub id or the path of a local checkpoint folder in the sidebar.")
        st.stop()
    try:
        return get_bundle(spec)
    except BertLensError as err:
        st.error(str(err))
        st.button(f"Use the offline default ({DEFAULT_MODEL})", on_click=use_model, args=(DEFAULT_MODEL,))
        st.stop()


def run_or_stop(choice: Choice) -> tuple[ModelBundle, ModelRun]:
    """Model and forward pass for the sidebar's choice; errors become messages, the text is kept."""
    bundle = load_or_stop(choice.spec)
    try:
        run = get_run(choice.spec, choice.text, choice.pair)
    except BertLensError as err:
        st.info(str(err))
        st.stop()
    if run.truncated_from:
        st.warning(
            f"The input has {run.truncated_from} tokens; {bundle.name} reads at most {bundle.max_tokens}, "
            f"so everything here is about the first {run.num_tokens}."
        )
    if bundle.notes:
        st.caption(bundle.notes[0])
    if len(bundle.notes) > 1:
        with st.expander(f"More about {bundle.name}"):
            for note in bundle.notes[1:]:
                st.markdown(f"- {note}")
    return bundle, run


def need_model(bundle: ModelBundle, ok: bool, what: str, suggestions: list[str]) -> None:
    """Stop the page with a switch button when the current model lacks what the page needs."""
    if ok:
        return
    st.info(f"{bundle.name} has no {what}. Choose a model that has one:")
    for name in suggestions:
        st.button(f"Use {name}", on_click=use_model, args=(name,), key=f"use.{name}")
    st.stop()


def int_param(name: str, default: int, upper: int) -> int:
    """An integer from the URL (e.g. ?layer=3), clamped to [0, upper) with a notice when out of range."""
    raw = st.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        st.toast(f"Ignored {name}={raw!r} from the link: not a number.")
        return default
    if not 0 <= value < upper:
        st.toast(f"The link asked for {name} {value}, but this model has {upper}; showing {min(max(value, 0), upper - 1)}.")
        return min(max(value, 0), upper - 1)
    return value
