"""Attention maps of one head, and whole-model aggregates: rollout and flow (Abnar & Zuidema, 2020).

Shapes: attentions (L, H, T, T) as [layer, head, query, key]; every row sums to 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explain.errors import InputError
from explain.i18n import _
from explain.run import ModelRun
from explain.settings import check_flow_tokens

_FLOW_SCALE = 1_000_000  # max-flow solvers need integer capacities: weights in millionths


@dataclass(frozen=True)
class AttentionMap:
    """A (query x key) weight matrix over a subset of the run's tokens.

    Attributes:
        weights: (Q, K); rows sum to 1 only when nothing was hidden or rows were renormalised.
        query_index, key_index: positions of the shown tokens in the run, (Q,) and (K,).
        query_tokens, key_tokens: their strings.
    """

    weights: np.ndarray
    query_index: np.ndarray
    key_index: np.ndarray
    query_tokens: tuple[str, ...]
    key_tokens: tuple[str, ...]


def shown_tokens(run: ModelRun, hide_special: bool) -> np.ndarray:
    """Indices of the tokens a view shows: all, or all but [CLS]/[SEP]/[PAD]."""
    keep = np.flatnonzero(~run.special) if hide_special else np.arange(run.num_tokens)
    return keep if len(keep) else np.arange(run.num_tokens)


def restrict(run: ModelRun, matrix: np.ndarray, hide_special: bool = False, renormalize: bool = False) -> AttentionMap:
    """Cut a (T, T) matrix to the shown tokens; optionally rescale each row to sum to 1 again."""
    keep = shown_tokens(run, hide_special)
    weights = matrix[np.ix_(keep, keep)].astype(np.float64)
    if renormalize:
        weights = weights / np.maximum(weights.sum(axis=1, keepdims=True), 1e-12)
    labels = tuple(run.tokens[i] for i in keep)
    return AttentionMap(weights, keep, keep, labels, labels)


def head_map(run: ModelRun, layer: int, head: int, hide_special: bool = False, renormalize: bool = False) -> AttentionMap:
    """One head's attention as an AttentionMap. Raises InputError for a layer/head outside the model."""
    check_head(run, layer, head)
    return restrict(run, run.attentions[layer, head], hide_special, renormalize)


def check_head(run: ModelRun, layer: int, head: int | None = None) -> None:
    if not 0 <= layer < run.num_layers:
        raise InputError(_("Layer {layer} does not exist: this model has layers 0 to {last}.").format(
            layer=layer, last=run.num_layers - 1))
    if head is not None and not 0 <= head < run.num_heads:
        raise InputError(_("Head {head} does not exist: this model has heads 0 to {last}.").format(
            head=head, last=run.num_heads - 1))


def residual_attention(attentions: np.ndarray) -> np.ndarray:
    """Per-layer head-averaged attention with the residual path added: 0.5 * A + 0.5 * I, rows renormalised.

    Returns (L, T, T). This is the graph both rollout and flow run on (Abnar & Zuidema 2020, sec. 3).
    """
    mean = attentions.astype(np.float64).mean(axis=1)
    eye = np.eye(mean.shape[-1])
    aug = 0.5 * mean + 0.5 * eye
    return aug / aug.sum(axis=-1, keepdims=True)


def rollout(attentions: np.ndarray) -> np.ndarray:
    """Attention rollout after each layer: R_l = A~_l @ R_(l-1), R_0 = I.

    Args:
        attentions: (L, H, T, T).
    Returns:
        (L, T, T); entry [l, i, j] is how much token i after layer l draws on input token j. Rows sum to 1.

    Abnar & Zuidema, "Quantifying Attention Flow in Transformers", ACL 2020.
    """
    aug = residual_attention(attentions)
    out = np.empty_like(aug)
    acc = np.eye(aug.shape[-1])
    for layer, a in enumerate(aug):
        acc = a @ acc
        out[layer] = acc
    return out


def flow_seconds_estimate(num_tokens: int, num_layers: int) -> float:
    """Rough time of `attention_flow` on this kind of CPU: T^2 max-flow solves on L*T^2 edges."""
    return 4e-8 * num_tokens**4 * num_layers + 0.01


def attention_flow(attentions: np.ndarray, max_seconds: float | None = None) -> np.ndarray:
    """Attention flow: max-flow from every input token to every top-layer token.

    The graph has a node per (layer boundary, token); the edge from token j below layer l to token i
    above it has capacity A~_l[i, j] (see `residual_attention`). Each of the T^2 values is one
    max-flow problem, solved by SciPy's compiled Dinic solver on integer capacities (weights in
    millionths, so values are exact to ~1e-6 per edge).

    Args:
        attentions: (L, H, T, T).
        max_seconds: stop with InputError if the estimate exceeds this (or T exceeds this server's
            `max_flow_tokens`, explain.settings).
    Returns:
        (T, T); entry [i, j] is the flow from input token j into output token i.
    """
    num_layers, T = attentions.shape[0], attentions.shape[2]
    check_flow_tokens(T)
    if max_seconds is not None and flow_seconds_estimate(T, num_layers) > max_seconds:
        raise InputError(_(
            "Attention flow for {n} tokens would take about {s:.0f} s; shorten the text or start it on demand."
        ).format(n=T, s=flow_seconds_estimate(T, num_layers)))
    from scipy.sparse.csgraph import maximum_flow  # imported here: the attention page starts without SciPy

    graph = _flow_graph(residual_attention(attentions))
    top = num_layers * T
    flow = np.zeros((T, T))
    for j in range(T):
        for i in range(T):
            flow[i, j] = maximum_flow(graph, j, top + i, method="dinic").flow_value
    return flow / _FLOW_SCALE


def _flow_graph(aug: np.ndarray):
    """Directed layered graph: node l*T + j (token j below layer l) -> (l+1)*T + i, capacity A~_l[i, j]."""
    num_layers, T = aug.shape[:2]
    caps = np.rint(aug * _FLOW_SCALE).astype(np.int32)  # [l, i, j]
    l_idx, i_idx, j_idx = np.meshgrid(np.arange(num_layers), np.arange(T), np.arange(T), indexing="ij")
    rows = (l_idx * T + j_idx).ravel()
    cols = ((l_idx + 1) * T + i_idx).ravel()
    n = (num_layers + 1) * T
    from scipy.sparse import csr_matrix

    return csr_matrix((caps.ravel(), (rows, cols)), shape=(n, n))

