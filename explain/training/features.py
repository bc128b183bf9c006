"""The frozen lower layers run once per text, so that an epoch only costs the trained top layers.

Shapes: B texts in a batch, T tokens, D hidden size, C classes.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from transformers.masking_utils import create_bidirectional_mask

FEATURE_BATCH = 64


def run_layers(model, hidden: torch.Tensor, mask: torch.Tensor, layers: range) -> torch.Tensor:
    """Encoder layers `layers` on hidden (B, T, D) with padding mask (B, T), as BertModel.forward runs them."""
    if len(layers) == 0:
        return hidden
    extended = create_bidirectional_mask(config=model.config, inputs_embeds=hidden, attention_mask=mask)
    for i in layers:
        hidden = model.bert.encoder.layer[i](hidden, extended)
    return hidden


def frozen_features(model, ids: list[list[int]], first: int, report: Callable[[int, int], None],
                    stopped: Callable[[], bool]) -> list[torch.Tensor] | torch.Tensor | None:
    """Output of the frozen part per text: (T_i, D) before layer `first`, or the pooled (N, D) for a probe.

    `report(done, total)` after each batch of texts; None when `stopped()` turned true first."""
    n_layers = model.config.num_hidden_layers
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    out: list[torch.Tensor | None] = [None] * len(ids)
    with torch.no_grad():
        for start in range(0, len(order), FEATURE_BATCH):
            if stopped():
                return None
            batch = order[start : start + FEATURE_BATCH]
            input_ids, mask = pad_rows([torch.tensor(ids[i]) for i in batch])
            hidden = model.bert.embeddings(input_ids=input_ids, token_type_ids=torch.zeros_like(input_ids))
            hidden = run_layers(model, hidden, mask, range(first))
            if first == n_layers:
                hidden = model.bert.pooler(hidden)
                for j, i in enumerate(batch):
                    out[i] = hidden[j].clone()
            else:
                for j, i in enumerate(batch):
                    out[i] = hidden[j, : len(ids[i])].clone()
            report(min(start + FEATURE_BATCH, len(ids)), len(ids))
    return torch.stack(out) if first == n_layers else out


def head_logits(model, feats, batch: np.ndarray, first: int) -> torch.Tensor:
    """Class logits (B, C) for the texts `batch`, from the cached features."""
    if isinstance(feats, torch.Tensor):  # probe: pooled vectors
        pooled = feats[torch.as_tensor(batch)]
    else:
        hidden, mask = pad_rows([feats[i] for i in batch])
        hidden = run_layers(model, hidden, mask, range(first, model.config.num_hidden_layers))
        pooled = model.bert.pooler(hidden)
    return model.classifier(model.dropout(pooled))


def pad_rows(rows: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad (T_i,) or (T_i, D) rows to (B, T[, D]) with zeros; mask (B, T) is 1 on real tokens."""
    width = max(len(r) for r in rows)
    padded = rows[0].new_zeros((len(rows), width) + tuple(rows[0].shape[1:]))
    mask = torch.zeros(len(rows), width, dtype=torch.long)
    for j, r in enumerate(rows):
        padded[j, : len(r)] = r
        mask[j, : len(r)] = 1
    return padded, mask
