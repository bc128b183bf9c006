"""Shared app plumbing: cached model and forward pass, the sidebar, guards that turn errors into messages."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from explain import (
    DEFAULT_MODEL,
    BertLensError,
    ModelBundle,
    ModelLoadError,
    ModelRun,
    builtin_models,
    load_model,
    run_model,
)
from explain.cache import ByteLRU
from explain.i18n import LANGUAGES, N_, _, keep_language, normalize_language
from explain.local_files import shown
from explain.models.policy import check_model_allowed, is_folder_spec
from explain.paths import ASSETS
from explain.settings import current_settings

CUSTOM = N_("Other: hub id or local folder…")  # the option's value; its label follows the settings (custom_label)
SESSION_HEAD = "session:"  # model specs of heads kept to the session that trained them (app/views/train/page.py)
DEFAULT_TEXT = "The animal didn't cross the street because it was too tired."
MAX_INPUT_CHARS = 20_000
MAX_RUNS = 64

# One cache per process, shared by every session, bounded by this server's settings (explain.settings).
MODELS: ByteLRU[ModelBundle] = ByteLRU(lambda bundle: bundle.nbytes)
RUNS: ByteLRU[ModelRun] = ByteLRU(lambda run: run.nbytes)


def clear_caches() -> None:
    """Forget every cached model and forward pass (tests; st.cache_resource.clear() does not reach these)."""
    MODELS.clear()
    RUNS.clear()


def _in_session() -> bool:
    return get_script_run_ctx(suppress_warning=True) is not None


def session_heads() -> dict[str, tuple[str, Any]]:
    """Heads this session trained and keeps to itself (save_heads = "session"): spec ('session:<id>') ->
    (name, TrainedHead). Nothing is written to disk; the model is rebuilt from the head when needed."""
    return st.session_state.get("user_heads", {}) if _in_session() else {}


def get_bundle(spec: str) -> ModelBundle:
    """One shared, read-only model per spec for all sessions, within the server's memory budget.

    The server's rules are checked before the cache is looked at, so a model is only ever served
    where it may be loaded.
    """
    settings = current_settings()
    MODELS.set_limits(settings.model_memory, settings.max_models)
    if spec.startswith(SESSION_HEAD):
        head = session_heads().get(spec)
        if head is None:
            raise ModelLoadError(_(
                "This head was trained in another session (or before the server restarted): on this server "
                "a trained head stays with the session that trained it. Train your own on the Train page."
            ))
        key, load = ("head", spec), lambda: _session_head_bundle(*head)
    else:
        check_model_allowed(spec, builtin_models())
        key, load = ("model", spec.strip()), lambda: load_model(spec)
    if key in MODELS or not _in_session():
        return MODELS.get(key, load)
    with st.spinner(_("Loading the model…")):
        return MODELS.get(key, load)


def _session_head_bundle(name: str, trained) -> ModelBundle:
    from explain.training.shipping import head_bundle  # the training code loads only when a head is used

    return head_bundle(trained, name)


def get_run(spec: str, text: str, pair: str | None, mask_positions: tuple[int, ...] = ()) -> ModelRun:
    """One forward pass per (model, text, pair[, masked positions]), shared by every view and session,
    within the server's `run_memory`; ModelRun arrays are read-only."""
    settings = current_settings()
    RUNS.set_limits(settings.run_memory, MAX_RUNS)
    key = (spec, text, pair, mask_positions) if mask_positions else (spec, text, pair)
    return RUNS.get(key, lambda: run_model(get_bundle(spec), text, pair, mask_positions=mask_positions))


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


def model_options() -> list[str]:
    """What the sidebar offers: built-ins, this session's heads, the server's allowed hub ids, and a
    free-text field only when the server lets visitors name other models or folders."""
    settings = current_settings()
    options = [*builtin_models(), *session_heads()]
    if settings.models == "any":
        options += [m for m in cached_hub_models() if m not in options]
    elif settings.models == "allow-list":
        options += [m for m in settings.allowed_models if m not in options]
    if settings.models == "any" or settings.local_folders:
        options.append(CUSTOM)
    return options


def custom_label() -> str:
    settings = current_settings()
    if settings.models != "any":
        return _("Other: local folder…")
    return _(CUSTOM) if settings.local_folders else _("Other: hub id…")


def _model_label(option: str) -> str:
    if option == CUSTOM:
        return custom_label()
    head = session_heads().get(option)
    if head:
        return _("{name} (trained in this session)").format(name=head[0])
    return _("{model} (cached)").format(model=option) if option in cached_hub_models() else _(option)


def _refusal(spec: str) -> str:
    """Why the server will not load `spec` (a model named in a link it does not offer)."""
    try:
        if spec.startswith(SESSION_HEAD):
            get_bundle(spec)
        check_model_allowed(spec, builtin_models())
    except BertLensError as err:
        return str(err)
    return _("'{spec}' is not one of the models this server offers.").format(spec=spec)


def _init_state() -> None:
    """First run of a session: take model and text from the URL (shareable links), else defaults."""
    if st.session_state.get("_init"):
        return
    params = st.query_params
    options = model_options()
    model = params.get("model", DEFAULT_MODEL)
    settings = current_settings()
    if model in options and model != CUSTOM:
        st.session_state["model.choice"] = model
    elif CUSTOM in options and (settings.models == "any" or is_folder_spec(model)):
        st.session_state["model.choice"] = CUSTOM
        st.session_state["model.custom"] = model
    else:
        st.session_state["model.choice"] = DEFAULT_MODEL
        st.session_state["model.refused"] = _("The link asks for a model this server does not offer: {reason}").format(
            reason=_refusal(model))
    for key, default in (("text", DEFAULT_TEXT), ("pair", "")):
        value = params.get(key, default)
        if len(value) > MAX_INPUT_CHARS:
            st.session_state["link.notices"] = [*st.session_state.get("link.notices", []), _(
                "The link's {key} has {n:,} characters; BERT Lens keeps the first {limit:,}.").format(
                key=key, n=len(value), limit=MAX_INPUT_CHARS)]
        st.session_state[key] = value[:MAX_INPUT_CHARS]
    st.session_state["_init"] = True


def _custom_placeholder() -> str:
    settings = current_settings()
    if settings.models != "any":
        return "/path/to/checkpoint"
    return _("bert-base-uncased or /path/to/checkpoint") if settings.local_folders else "bert-base-uncased"


def _load_example() -> None:
    title = st.session_state.get("example")
    for ex in examples():
        if ex["title"] == title:
            st.session_state["text"] = ex["text"]
            st.session_state["pair"] = ex["pair"]


def keep_sidebar_state() -> None:
    """Call before st.switch_page: a page switch drops every widget's value (Streamlit keeps only the
    widgets the browser reports, and a switch reports none), so the text, pair and language would be lost.
    Writing them back makes them session values, which survive."""
    for key in ("text", "pair", "lang"):
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def use_model(name: str) -> None:
    """Button callback: switch the sidebar's model."""
    st.session_state["model.choice"] = name


def sidebar() -> Choice:
    """Model chooser, text, optional pair and examples; mirrored into the URL."""
    _init_state()
    options = model_options()
    if st.session_state.get("model.choice") not in options:  # e.g. a head of this session that is gone
        st.session_state["model.choice"] = DEFAULT_MODEL
    with st.sidebar:
        st.selectbox("Language / 语言", list(LANGUAGES), format_func=LANGUAGES.get, key="lang")
        st.selectbox(_("Model"), options, key="model.choice", format_func=keep_language(_model_label),
                     on_change=lambda: st.session_state.pop("model.refused", None))
        spec = st.session_state["model.choice"]
        if spec == CUSTOM:
            spec = st.text_input(
                _("Hub id or folder"),
                key="model.custom",
                placeholder=_custom_placeholder(),
                help=_("Any BERT-family encoder: a Hugging Face hub id (needs a network or a local cache) "
                       "or a local folder with config.json and model.safetensors."),
            ).strip()
        st.text_area(_("Text"), key="text", height=110, max_chars=MAX_INPUT_CHARS)
        st.text_area(_("Second sentence (optional)"), key="pair", height=70, max_chars=MAX_INPUT_CHARS,
                     help=_("Text B of a sentence pair: BERT sees [CLS] A [SEP] B [SEP]."))
        st.selectbox(_("Load an example"), [ex["title"] for ex in examples()], index=None, key="example",
                     format_func=keep_language(_), on_change=_load_example, placeholder=_("Examples that teach something…"))
        ex = next((e for e in examples() if e["title"] == st.session_state.get("example")), None)
        if ex:
            st.caption(_(ex["teaches"]))
        st.radio(_("Figure downloads"), ["png", "svg"], horizontal=True, key="fig.format", format_func=str.upper,
                 help=_("The format the camera button above each figure saves."))
    if st.session_state.get("model.refused"):
        st.error(st.session_state["model.refused"])
    for notice in st.session_state.pop("link.notices", []):
        st.toast(notice)
    text = st.session_state.get("text", "")
    pair = st.session_state.get("pair", "").strip() or None
    st.query_params.update({"model": spec or DEFAULT_MODEL, "text": text, "lang": st.session_state["lang"]})
    if pair:
        st.query_params["pair"] = pair
    elif "pair" in st.query_params:
        del st.query_params["pair"]
    return Choice(spec=spec, text=text, pair=pair)


def figure_config(key: str) -> dict:
    """st.plotly_chart config: the camera button saves the figure as PNG (2x) or SVG, as chosen in the sidebar."""
    from explain.figure_style import download_config

    return download_config(st.session_state.get("fig.format", "png"), "bert-lens-" + key.replace(".", "-"))


def load_or_stop(spec: str) -> ModelBundle:
    """The bundle, or a clear message and a stopped page."""
    if not spec:
        st.info(_("Type a Hugging Face hub id or the path of a local checkpoint folder in the sidebar."))
        st.stop()
    try:
        return get_bundle(spec)
    except BertLensError as err:
        st.error(str(err))
        st.button(_("Use the offline default ({model})").format(model=_(DEFAULT_MODEL)), on_click=use_model,
                  args=(DEFAULT_MODEL,))
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
        st.warning(_(
            "The input has {n} tokens; {model} reads at most {limit}, so everything here is about the first {shown}."
        ).format(n=run.truncated_from, model=_(bundle.name), limit=bundle.max_tokens, shown=run.num_tokens))
    if bundle.notes:
        st.caption(_(bundle.notes[0]))
    if len(bundle.notes) > 1:
        with st.expander(_("More about {model}").format(model=_(bundle.name))):
            for note in bundle.notes[1:]:
                st.markdown(f"- {_(note)}")
    return bundle, run


def need_model(bundle: ModelBundle, ok: bool, what: str, suggestions: list[str]) -> None:
    """Stop the page with a switch button when the current model lacks what the page needs (`what`,
    translated by the caller: _("classification head"))."""
    if ok:
        return
    st.info(_("{model} has no {what}. Choose a model that has one:").format(model=_(bundle.name), what=what))
    for name in suggestions:
        st.button(_("Use {model}").format(model=_(name)), on_click=use_model, args=(name,), key=f"use.{name}")
    st.stop()


def int_param(name: str, default: int, upper: int, lower: int = 0) -> int:
    """An integer from the URL (e.g. ?layer=3), clamped to [lower, upper) with a notice when out of range
    or not a number (empty, a fraction, 5,000 digits, control characters)."""
    raw = st.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:  # also for more digits than Python converts (4,300)
        st.toast(_("Ignored {name}={value} from the link: not a number.").format(name=name, value=f"'{shown(raw)}'"))
        return default
    if not lower <= value < upper:
        clamped = min(max(value, lower), upper - 1)
        st.toast(_("The link asked for {name} {value}, but it goes from {low} to {high} here; showing {shown}.").format(
            name=name, value=value, low=lower, high=upper - 1, shown=clamped))
        return clamped
    return value
