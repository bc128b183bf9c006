"""What each head does, in numbers: one (L, H) grid per statistic.

Statistics average over query tokens (every row of the head's map):
- entropy: of each attention row, in bits (0 = all weight on one key; log2 T = uniform);
- distance: mean |query - key| in tokens, weighted by attention;
- [CLS], [SEP], self, previous, next: share of attention (0..1) going to those keys.
Clark et al., "What Does BERT Look At?", BlackboxNLP 2019, use the same measures.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explain.i18n import N_
from explain.run import ModelRun

STATISTICS = {  # key -> display name (translated with _() where shown)
    "entropy": N_("Entropy (bits)"),
    "distance": N_("Mean distance (tokens)"),
    "cls": N_("Share on [CLS]"),
    "sep": N_("Share on [SEP]"),
    "self": N_("Share on itself"),
    "prev": N_("Share on previous token"),
    "next": N_("Share on next token"),
}


@dataclass(frozen=True)
class HeadStats:
    """values[name] is an (L, H) array for each name in STATISTICS; max_entropy is log2(T)."""

    values: dict[str, np.ndarray]
    max_entropy: float

    def __getitem__(self, name: str) -> np.ndarray:
        return self.values[name]


def head_stats(run: ModelRun) -> HeadStats:
    """Every statistic in STATISTICS for every head of the run."""
    attn = run.attentions.astype(np.float64)  # (L, H, T, T)
    T = run.num_tokens
    pos = np.arange(T)
    entropy = -(attn * np.log2(np.clip(attn, 1e-12, None))).sum(-1).mean(-1)
    distance = (attn * np.abs(pos[:, None] - pos[None, :])).sum(-1).mean(-1)
    first = pos == 0
    cls_cols = np.flatnonzero(run.special & first)  # [CLS] / <s> opens the sequence
    sep_cols = np.flatnonzero(run.special & ~first)  # [SEP] / </s> close each segment
    values = {
        "entropy": entropy,
        "distance": distance,
        "cls": attn[..., cls_cols].sum(-1).mean(-1),
        "sep": attn[..., sep_cols].sum(-1).mean(-1),
        "self": np.einsum("lhii->lhi", attn).mean(-1),
        "prev": _diagonal_share(attn, -1),
        "next": _diagonal_share(attn, +1),
    }
    for v in values.values():
        v.setflags(write=False)
    return HeadStats(values=values, max_entropy=float(np.log2(T)))


def _diagonal_share(attn: np.ndarray, offset: int) -> np.ndarray:
    """Mean over all T query rows of the weight on key (query + offset); rows without that key count 0."""
    T = attn.shape[-1]
    diag = np.diagonal(attn, offset=offset, axis1=-2, axis2=-1)  # (L, H, T - 1)
    return diag.sum(-1) / T
