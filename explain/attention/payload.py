"""Compact attention for the browser: uint8 weights in base64, about 1.34 bytes per weight.

Also the two choices every attention page makes before it ships anything: which token positions to
show (`token_positions`) and which layers/heads fit the page's weight budget (`fit_budget`).

Shape glossary: L layers, H heads, T tokens; attention is (L, H, T, T) as [layer, head, query, key].
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from explain.errors import InputError
from explain.i18n import _
from explain.run import ModelRun

FORMAT = "bertlens-attention-u8/1"
SCALE = 255
MAX_ERROR = 1 / (2 * SCALE)  # worst round-trip error of a weight in [0, 1]


def encode_attention(
    attn: np.ndarray,
    tokens: Sequence[str],
    *,
    layers: Sequence[int] | None = None,
    heads: Sequence[int] | None = None,
) -> dict:
    """Quantise attention weights to uint8 (round(w * 255)) and base64 them, one string per head.

    Args:
        attn: weights in [0, 1], (L, H, T, T) as [layer, head, query, key].
        tokens: the T token strings.
        layers, heads: the model's layer and head numbers of attn's rows (default 0..L-1, 0..H-1),
            so that a page showing a subset still labels them truly.

    Returns:
        A JSON-ready dict: format, shape [L, H, T, T], tokens, layers, heads, scale (255) and data,
        an L-long list of H-long lists of base64 strings holding T*T bytes in row-major (query, key)
        order. `decode_attention` inverts it within 1/510 per weight.

    >>> p = encode_attention(run.attentions, run.tokens)
    >>> np.abs(decode_attention(p) - run.attentions).max() <= 1 / 510
    True
    """
    attn = np.asarray(attn)
    if attn.ndim != 4 or attn.shape[2] != attn.shape[3]:
        raise InputError(_("Attention must be (layers, heads, tokens, tokens); got shape {shape}.").format(
            shape=attn.shape))
    n_layers, n_heads, n_tok = attn.shape[:3]
    if min(attn.shape) == 0:
        raise InputError(_("Attention is empty (shape {shape}): run the model on some text first.").format(
            shape=attn.shape))
    if len(tokens) != n_tok:
        raise InputError(_("Attention covers {n} tokens but {given} token strings were given.").format(
            n=n_tok, given=len(tokens)))
    if not np.isfinite(attn).all():
        raise InputError(_("Attention holds NaN or infinite values: check the model's output."))
    lo, hi = float(attn.min()), float(attn.max())
    if lo < -1e-4 or hi > 1 + 1e-4:
        raise InputError(_("Attention weights must lie in [0, 1] (softmax output); got {lo:.3g} to {hi:.3g}.").format(
            lo=lo, hi=hi))
    layers = _numbers(layers, n_layers, "layers")
    heads = _numbers(heads, n_heads, "heads")
    q = np.rint(np.clip(attn, 0.0, 1.0) * SCALE).astype(np.uint8)
    data = [[base64.b64encode(q[i, j].tobytes()).decode("ascii") for j in range(n_heads)] for i in range(n_layers)]
    return {
        "format": FORMAT,
        "shape": [n_layers, n_heads, n_tok, n_tok],
        "tokens": [str(t) for t in tokens],
        "layers": layers,
        "heads": heads,
        "scale": SCALE,
        "data": data,
    }


def decode_attention(payload: dict) -> np.ndarray:
    """The weights `encode_attention` packed, as float32 (L, H, T, T); each within 1/510 of the original."""
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise InputError(_("Not an attention payload (expected format '{format}').").format(format=FORMAT))
    n_layers, n_heads, n_tok, n_key = (int(n) for n in payload["shape"])
    data = payload["data"]
    if len(data) != n_layers or any(len(row) != n_heads for row in data):
        raise InputError(_("The payload's data does not match its shape {shape}.").format(shape=payload["shape"]))
    flat = b"".join(base64.b64decode(s) for row in data for s in row)
    if len(flat) != n_layers * n_heads * n_tok * n_key:
        raise InputError(_("The payload holds {n} weights, its shape {shape} needs more or fewer.").format(
            n=len(flat), shape=payload["shape"]))
    q = np.frombuffer(flat, dtype=np.uint8).reshape(n_layers, n_heads, n_tok, n_key)
    return q.astype(np.float32) / np.float32(payload.get("scale", SCALE))


@dataclass(frozen=True)
class TokenView:
    """The token positions a page shows.

    Attributes:
        positions: indices into the run's tokens, (T',).
        tokens: the shown token strings, (T',).
        special: True at special tokens among them, (T',).
        sentence_b_start: index (in the shown tokens) of the first token of text B, None for one text.
    """

    positions: np.ndarray
    tokens: tuple[str, ...]
    special: np.ndarray
    sentence_b_start: int | None


def token_positions(run: ModelRun, include_special: bool = True) -> TokenView:
    """Which of `run`'s tokens to show: all of them, or all but [CLS]/[SEP]-like ones."""
    keep = np.arange(run.num_tokens) if include_special else np.flatnonzero(~np.asarray(run.special, dtype=bool))
    if keep.size == 0:
        raise InputError(_("Only special tokens are left once they are hidden: show special tokens or add words."))
    b_start = None
    if run.text_pair is not None:
        in_b = np.flatnonzero(np.asarray(run.segment)[keep] == 1)
        if in_b.size and 0 < in_b[0] < keep.size:
            b_start = int(in_b[0])
    return TokenView(
        positions=keep,
        tokens=tuple(run.tokens[i] for i in keep),
        special=np.asarray(run.special, dtype=bool)[keep],
        sentence_b_start=b_start,
    )


def shown_attention(run: ModelRun, view: TokenView, renormalize: bool = False) -> np.ndarray:
    """run.attentions restricted to the shown positions, (L, H, T', T'), float32.

    With `renormalize`, each query row is divided by its sum over the shown keys, so rows sum to 1
    again once special tokens are hidden (rows whose shown weights are all ~0 stay 0).
    """
    p = view.positions
    attn = np.asarray(run.attentions, dtype=np.float32)
    if p.size != attn.shape[-1]:
        attn = attn[:, :, p][:, :, :, p]
    if renormalize:
        sums = attn.sum(-1, keepdims=True)
        attn = np.where(sums > 1e-6, attn / np.maximum(sums, 1e-6), 0.0).astype(np.float32)
    return attn


@dataclass(frozen=True)
class Selection:
    """The layers and heads a page ships, and why, when that is fewer than asked for."""

    layers: tuple[int, ...]
    heads: tuple[int, ...]
    notice: str | None


def fit_budget(
    num_layers: int,
    num_heads: int,
    weights_per_head: int,
    max_weights: int,
    layers: Sequence[int] | None = None,
    heads: Sequence[int] | None = None,
    keep_layer: int | None = None,
    keep_head: int | None = None,
) -> Selection:
    """Choose layers and heads so that len(layers) * len(heads) * weights_per_head <= max_weights.

    Keeps every asked-for head and drops layers first (evenly spread, first and last kept, and
    `keep_layer` always); only when one layer of heads is too big does it drop heads (keeping
    `keep_head`). The notice says what was left out and how to see it.
    """
    layers = _labels(layers, num_layers, "layers")
    heads = _labels(heads, num_heads, "heads")
    if max_weights < weights_per_head:
        raise InputError(_(
            "One head at this length is {n:,} weights, above this page's budget of {budget:,}: raise the budget or "
            "shorten the text."
        ).format(n=weights_per_head, budget=max_weights))
    asked = len(layers) * len(heads) * weights_per_head
    if asked <= max_weights:
        return Selection(tuple(layers), tuple(heads), None)
    cells = max_weights // weights_per_head
    if cells >= len(heads):
        layers = _spread(layers, cells // len(heads), keep_layer)
    else:
        layers = [keep_layer if keep_layer in layers else layers[0]]
        heads = _spread(heads, cells, keep_head)
    notice = _(
        "Showing layers {layers} and heads {heads} only: everything asked for is {n:,} attention weights, above "
        "this page's budget of {budget:,}. Choose other layers or heads to see them."
    ).format(layers=_ranges(layers), heads=_ranges(heads), n=asked, budget=max_weights)
    return Selection(tuple(layers), tuple(heads), notice)


def _spread(items: list[int], n: int, keep: int | None) -> list[int]:
    """n of `items`, evenly spread (ends included), always containing `keep` when it is in items."""
    if n >= len(items):
        return list(items)
    picked = {items[round(i)] for i in np.linspace(0, len(items) - 1, n)} if n > 1 else {items[0]}
    if keep in items and keep not in picked:
        nearest = min(picked, key=lambda x: (abs(x - keep), x))
        picked = (picked - {nearest}) | {keep}
    return sorted(picked)


def _numbers(values: Sequence[int] | None, n: int, what: str) -> list[int]:
    """n labels for attn's rows along one axis, in their given order (default 0..n-1)."""
    if values is None:
        return list(range(n))
    out = [int(v) for v in values]
    if len(out) != n:
        raise InputError(_("{given} {what} numbers given for attention with {n} {what}.").format(
            given=len(out), what=what, n=n))
    return out


def _labels(values: Sequence[int] | None, n: int, what: str) -> list[int]:
    if values is None:
        return list(range(n))
    try:
        out = sorted({int(v) for v in values})
    except (TypeError, ValueError):
        raise InputError(_("{what} must be whole numbers from 0 to {last}.").format(what=what, last=n - 1)) from None
    if not out:
        raise InputError(_("No {what} chosen: pick at least one (0 to {last}).").format(what=what, last=n - 1))
    bad = [v for v in out if not 0 <= v < n]
    if bad:
        raise InputError(_("This model has {what} 0 to {last}; {bad} is out of range.").format(
            what=what, last=n - 1, bad=bad))
    return out


def _ranges(values: Sequence[int]) -> str:
    """[0, 1, 2, 5, 7, 8] -> '0-2, 5, 7-8'."""
    parts, start = [], None
    for i, v in enumerate(values):
        if start is None:
            start = v
        if i + 1 == len(values) or values[i + 1] != v + 1:
            parts.append(str(start) if start == v else f"{start}-{v}")
            start = None
    return ", ".join(parts)
