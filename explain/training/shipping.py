"""A trained head as files (head.safetensors and card.json, as explain.models.heads.load_head reads them)
or as a ready ModelBundle for the session that trained it."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from safetensors.torch import save_file

from explain.i18n import N_
from explain.models.checkpoint import ModelBundle
from explain.models.heads import apply_delta, bundle_with_head
from explain.training.trainer import TrainedHead, new_model

WEIGHTS_FILE = "head.safetensors"


def head_card(
    trained: TrainedHead, name: str, data_card: Mapping | None = None, command: str = "", notes: Sequence[str] = ()
) -> dict:
    """The card.json content (the format explain.models.heads.load_head reads)."""
    cfg = trained.config
    auto = []  # load_head itself notes adapted layers
    if cfg.mode == "probe":  # card notes are shown with _(): a marked constant reads in the reader's language
        auto.append(N_("Linear probe: only the classifier was trained, on the frozen encoder's pooled [CLS] vector."))
    if trained.stopped:
        auto.append(f"Training was stopped early, after {trained.steps} of {trained.total_steps} steps.")
    metrics: dict[str, Any] = {"train_examples": trained.n_train, "seconds": dict(trained.seconds)}
    if trained.metrics is not None:
        metrics["heldout"] = trained.metrics.as_dict()
    return {
        "name": name,
        "task": "sequence-classification",
        "base": trained.base,
        "weights": WEIGHTS_FILE,
        "labels": list(trained.labels),
        "adapted_layers": list(trained.adapted_layers),
        "data": dict(data_card or {}),
        "metrics": metrics,
        "command": command,
        "seed": cfg.seed,
        "training": {**asdict(cfg), "lr": cfg.learning_rate, "steps": trained.steps, "stopped": trained.stopped},
        "notes": auto + list(notes),
    }


def save_head(
    trained: TrainedHead, folder: Path | str, name: str, data_card: Mapping, command: str, *, notes: Sequence[str] = ()
) -> Path:
    """Write head.safetensors (adapted encoder layers in fp16, pooler and classifier in fp32) and card.json."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {
        k: (v.half() if k.startswith("bert.encoder.layer.") else v.float()).contiguous()
        for k, v in trained.delta.items()
    }
    save_file(tensors, str(folder / WEIGHTS_FILE), metadata={"format": "pt"})
    card = head_card(trained, name, data_card, command, notes)
    (folder / "card.json").write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return folder


def head_bundle(trained: TrainedHead, name: str, base: ModelBundle | None = None) -> ModelBundle:
    """A ready ModelBundle for a just-trained head, without going through disk.

    `base` must be the bundle the head was trained on (None for the offline default encoder).
    """
    model, tokenizer = new_model(base, trained.labels)[:2]
    apply_delta(model, trained.delta, f"<trained head {name}>")
    return bundle_with_head(model, tokenizer, head_card(trained, name), source="trained in this session")
