"""How big a checkpoint is, read from its config.json alone (before any weights are downloaded).

`parameter_count(config, task)` adds up every weight matrix, bias and LayerNorm of the model class
BERT Lens would build for that family and head; it equals `sum(p.numel() for p in model.parameters())`
of the built model (tied decoder weights counted once). Families: bert, roberta, xlm-roberta,
camembert, distilbert, electra (see explain/models/arch.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from explain.i18n import _

_ROBERTA_LIKE = ("roberta", "xlm-roberta", "camembert")


def _get(config: Any, name: str, default: Any = None) -> Any:
    if isinstance(config, Mapping):
        return config.get(name, default)
    return getattr(config, name, default)


def _linear(n_in: int, n_out: int, bias: bool = True) -> int:
    return n_in * n_out + (n_out if bias else 0)


def _layer(h: int, i: int, cross: bool) -> int:
    """One encoder layer: Q, K, V, attention output + LayerNorm, feed-forward in and out + LayerNorm."""
    attention = 3 * _linear(h, h) + _linear(h, h) + 2 * h
    block = attention + _linear(h, i) + _linear(i, h) + 2 * h
    return block + (attention if cross else 0)


def _num_labels(config: Any) -> int:
    id2label = _get(config, "id2label")
    if id2label:
        return len(id2label)
    return int(_get(config, "num_labels", 2) or 2)


def _tied(config: Any) -> bool:
    return bool(_get(config, "tie_word_embeddings", True))


def parameter_count(config: Any, task: str = "encoder") -> int:
    """Parameters of the `task` model (see explain.models.checkpoint.TASKS) built from `config`.

    `config` is a transformers config or the dict of a config.json. Raises ValueError for a
    model_type outside the supported families.
    """
    family = _get(config, "model_type")
    if family == "distilbert":
        return _distilbert(config, task)
    if family not in ("bert", "electra", *_ROBERTA_LIKE):
        raise ValueError(f"no parameter formula for model_type {family!r}")
    v, h = int(_get(config, "vocab_size")), int(_get(config, "hidden_size"))
    n_layers, i = int(_get(config, "num_hidden_layers")), int(_get(config, "intermediate_size"))
    positions, types = int(_get(config, "max_position_embeddings")), int(_get(config, "type_vocab_size", 2))
    e = int(_get(config, "embedding_size", h) or h) if family == "electra" else h
    cross = bool(_get(config, "add_cross_attention", False))
    embeddings = (v + positions + types) * e + 2 * e + (_linear(e, h) if e != h else 0)
    encoder = embeddings + n_layers * _layer(h, i, cross)
    pooler = _linear(h, h) if family != "electra" else 0
    # An untied MLM decoder has its own weight; BERT's and RoBERTa's also their own bias (tied: one bias).
    decoder = 0 if _tied(config) else v * e + (v if family != "electra" else 0)
    labels = _num_labels(config)
    if task == "pretraining" and family in _ROBERTA_LIKE:
        task = "masked-lm"  # AutoModelForPreTraining builds RobertaForMaskedLM for these
    if task == "encoder":
        return encoder + pooler
    if task == "sequence-classification":
        if family == "bert":
            return encoder + pooler + _linear(h, labels)
        return encoder + _linear(h, h) + _linear(h, labels)  # RoBERTa / ELECTRA classification head
    if task == "token-classification":
        return encoder + _linear(h, labels)
    if task == "masked-lm":
        if family == "electra":  # generator head: hidden -> embedding size, LayerNorm, tied projection
            return encoder + _linear(h, e) + 2 * e + v + decoder
        return encoder + _linear(h, h) + 2 * h + v + decoder
    if task == "pretraining":
        if family == "electra":  # the discriminator: one logit per token
            return encoder + _linear(h, h) + _linear(h, 1)
        return encoder + pooler + _linear(h, h) + 2 * h + v + decoder + _linear(h, 2)
    raise ValueError(f"unknown task {task!r}")


def _distilbert(config: Any, task: str) -> int:
    v, d = int(_get(config, "vocab_size")), int(_get(config, "dim"))
    n_layers, hidden = int(_get(config, "n_layers")), int(_get(config, "hidden_dim"))
    positions = int(_get(config, "max_position_embeddings"))
    layer = 4 * _linear(d, d) + 2 * d + _linear(d, hidden) + _linear(hidden, d) + 2 * d
    encoder = (v + positions) * d + 2 * d + n_layers * layer
    if task in ("masked-lm", "pretraining"):
        return encoder + _linear(d, d) + 2 * d + v + (0 if _tied(config) else v * d)
    if task == "sequence-classification":
        return encoder + _linear(d, d) + _linear(d, _num_labels(config))
    if task == "token-classification":
        return encoder + _linear(d, _num_labels(config))
    if task == "encoder":
        return encoder
    raise ValueError(f"unknown task {task!r}")


def human_count(n: int) -> str:
    """3_500_000_000 -> 'about 3.5 billion' style numbers without 'about': '3.5 billion', '335 million'."""
    if n >= 10**9:
        return _("{n} billion").format(n=f"{n / 1e9:.1f}".rstrip("0").rstrip("."))
    if n >= 10**6:
        return _("{n} million").format(n=f"{n / 1e6:.0f}" if n >= 10**7 else f"{n / 1e6:.1f}".rstrip("0").rstrip("."))
    return f"{n:,}"
