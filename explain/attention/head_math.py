"""One head's arithmetic, recomputed by hand: softmax(Q K^T / sqrt(d_k)) V.

For teaching: every intermediate is kept, and the recomputed weights are compared with the ones the
model itself returned, so the formula on screen is provably the one the model ran.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from explain.attention.maps import check_head
from explain.models.arch import self_attention_of
from explain.models.checkpoint import ModelBundle
from explain.run import ModelRun


@dataclass(frozen=True)
class HeadWeights:
    """The slices of W_q, W_k, W_v (and biases) that belong to one head.

    w_q, w_k, w_v: (D, d_k) so that Q = X @ w_q + b_q; b_q, b_k, b_v: (d_k,).
    """

    layer: int
    head: int
    w_q: np.ndarray
    b_q: np.ndarray
    w_k: np.ndarray
    b_k: np.ndarray
    w_v: np.ndarray
    b_v: np.ndarray

    @property
    def d_k(self) -> int:
        return self.w_q.shape[1]


@dataclass(frozen=True)
class HeadArithmetic:
    """Each step of one head on one input, in float64.

    x: the layer's input (T, D); q, k, v: (T, d_k); scores: Q K^T / sqrt(d_k), (T, T);
    weights: softmax of each score row, (T, T); output: weights @ V, (T, d_k);
    model_weights: the attention the model returned, (T, T); max_abs_error: max |weights - model_weights|.
    """

    tokens: tuple[str, ...]
    layer: int
    head: int
    x: np.ndarray
    q: np.ndarray
    k: np.ndarray
    v: np.ndarray
    scores: np.ndarray
    weights: np.ndarray
    output: np.ndarray
    model_weights: np.ndarray
    max_abs_error: float

    @property
    def d_k(self) -> int:
        return self.q.shape[1]


def head_weights(bundle: ModelBundle, layer: int, head: int) -> HeadWeights:
    """Copy one head's projection weights out of the model (read only; the model is not touched)."""
    if not 0 <= layer < bundle.num_layers or not 0 <= head < bundle.num_heads:
        raise ValueError(f"No head {layer}.{head} in a {bundle.num_layers} x {bundle.num_heads} model.")
    attn = self_attention_of(bundle.model, layer)
    arch = bundle.arch
    d_k = getattr(attn, arch.query).out_features // bundle.num_heads
    rows = slice(head * d_k, (head + 1) * d_k)

    def part(name: str) -> tuple[np.ndarray, np.ndarray]:
        linear: torch.nn.Linear = getattr(attn, name)
        with torch.no_grad():
            return linear.weight[rows].T.double().numpy().copy(), linear.bias[rows].double().numpy().copy()

    (w_q, b_q), (w_k, b_k), (w_v, b_v) = part(arch.query), part(arch.key), part(arch.value)
    return HeadWeights(layer, head, w_q, b_q, w_k, b_k, w_v, b_v)


def head_arithmetic(run: ModelRun, weights: HeadWeights) -> HeadArithmetic:
    """Recompute one head's attention from the layer input `run.hidden_states[layer]`.

    >>> calc = head_arithmetic(run, head_weights(bundle, layer=2, head=5))
    >>> calc.max_abs_error < 1e-5
    True
    """
    layer, head = weights.layer, weights.head
    check_head(run, layer, head)
    x = run.hidden_states[layer].astype(np.float64)
    q = x @ weights.w_q + weights.b_q
    k = x @ weights.w_k + weights.b_k
    v = x @ weights.w_v + weights.b_v
    scores = q @ k.T / np.sqrt(weights.d_k)
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    probs = shifted / shifted.sum(axis=1, keepdims=True)
    model_weights = run.attentions[layer, head].astype(np.float64)
    return HeadArithmetic(
        tokens=run.tokens,
        layer=layer,
        head=head,
        x=x,
        q=q,
        k=k,
        v=v,
        scores=scores,
        weights=probs,
        output=probs @ v,
        model_weights=model_weights,
        max_abs_error=float(np.abs(probs - model_weights).max()),
    )
