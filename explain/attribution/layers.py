"""Attributions inside the encoder: token x layer heatmaps and per-head importance.

Shape glossary: T tokens, D hidden size, L layers, H heads, G gate settings. "Layer 0" is the
embedding output (the input of the first layer), layer l >= 1 the output of layer l, as in
Hugging Face's `hidden_states`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import torch
from captum.attr._utils.approximation_methods import approximation_parameters
from torch import nn

from explain.attribution.captum_methods import auto_batch
from explain.attribution.core import (
    BASELINES,
    Prepared,
    check_count,
    check_option,
    prepare,
    private_copy,
)
from explain.errors import InputError
from explain.i18n import N_, _
from explain.models.arch import layers_of
from explain.models.checkpoint import ModelBundle
from explain.run import _frozen
from explain.settings import check_ig_steps, current_settings

LAYER_METHODS = MappingProxyType({"layer_ig": N_("Layer Integrated Gradients"), "conductance": N_("Layer Conductance")})
DEFAULT_STEPS = MappingProxyType({"layer_ig": 20, "conductance": 50})
HEAD_METHODS = ("gradient", "ablation")


@dataclass(frozen=True, eq=False)
class LayerAttribution:
    """Token x layer attributions of one target, read-only.

    Attributes:
        tokens: (T,). scores: (L + 1, T), row 0 the embedding output, row l the output of layer l;
            each token's hidden vector's attributions summed over D (signed).
        method: display name; method_key: "layer_ig" or "conductance".
        deltas: per row, sum(scores[l]) - (target_score - baseline_score), (L + 1,).
        target, target_label, token_index, target_score, baseline_score, score_kind, options,
        text, text_pair, word_ids, special: as in `Attribution` (merge_words works on each row).
    """

    tokens: tuple[str, ...]
    scores: np.ndarray
    method: str
    method_key: str
    deltas: np.ndarray
    target: int
    target_label: str
    token_index: int | None
    target_score: float
    baseline_score: float
    score_kind: str
    options: Mapping[str, Any]
    text: str
    text_pair: str | None
    word_ids: np.ndarray
    special: np.ndarray


def layer_attributions(
    bundle: ModelBundle,
    text: str,
    text_pair: str | None = None,
    method: str = "layer_ig",
    target: int | str | None = None,
    token_index: int | None = None,
    n_steps: int | None = None,
    baseline: str = "pad",
    internal_batch_size: int | None = None,
    score: str = "prob",
) -> LayerAttribution:
    """Attribute the target score to every token's hidden state at every layer, batched.

    Args:
        method: "layer_ig": Layer Integrated Gradients: for each layer l, the hidden states are
                interpolated between h_l(x') and h_l(x) and the rest of the network runs from
                there; all (L + 1) x n_steps rows go through batched forwards on a private copy
                whose hooks write the interpolated rows (Captum's LayerIntegratedGradients, all
                layers in one pass). Gauss-Legendre steps.
            "conductance": Layer Conductance (Dhamdhere et al. 2018): the input moves along the
                straight path x' -> x, and sum_k grad_l(k) . (h_l(k+1) - h_l(k)) (trapezoid) is
                taken at every layer from one batched pass, hook-free, through Hugging Face's
                `output_hidden_states`. Its layer-0 row equals Integrated Gradients up to the
                discretisation, since the embedding LayerNorm acts on each token alone.
        n_steps: integration steps: rows per layer for layer_ig (default 20; Gauss-Legendre, deltas
            under 0.5 % on MiniLM), n_steps + 1 path points for conductance (default 50; the
            trapezoid rule needs more: deltas up to 12 % at 20 steps, 2 % at 50 on MiniLM).
        baseline: "pad" | "mask" | "zero", as in `attribute` (special tokens kept).
        internal_batch_size: rows per forward/backward (default about 1,600 token positions).
        target, token_index, score: as in `attribute`.

    Returns:
        LayerAttribution with scores (L + 1, T) and per-layer completeness deltas (L + 1,).

    >>> la = layer_attributions(bundle, "A gripping film.", method="conductance")
    >>> la.scores.shape  # (layers + 1, tokens)
    (7, 6)
    """
    if method not in LAYER_METHODS:
        raise InputError(_("Unknown layer method {method}; choose one of: {known}.").format(
            method=repr(method), known=", ".join(LAYER_METHODS)))
    check_option("baseline", baseline, BASELINES)
    limit = current_settings().max_ig_steps
    if n_steps is None:
        n_steps = DEFAULT_STEPS[method] if limit is None else min(DEFAULT_STEPS[method], limit)
    n_steps = check_count("n_steps", n_steps, 2, 1000)
    check_ig_steps(n_steps)
    if internal_batch_size is not None:
        check_count("internal_batch_size", internal_batch_size, 1, 10_000)
    prep = prepare(bundle, text, text_pair, target, token_index, score)
    x, xb = prep.embeddings, prep.baseline_embeddings(baseline)
    rows = n_steps * (bundle.num_layers + 1) if method == "layer_ig" else n_steps + 1
    batch = internal_batch_size or auto_batch(prep, rows)
    compute = _layer_ig if method == "layer_ig" else _conductance
    scores = compute(prep, x, xb, n_steps, batch)
    f_x, f_base = prep.target_score, float(prep.score_rows(xb)[0])
    deltas = scores.sum(-1) - (f_x - f_base)
    return LayerAttribution(
        tokens=prep.tokens,
        scores=_frozen(scores),
        method=LAYER_METHODS[method],
        method_key=method,
        deltas=_frozen(deltas),
        target=prep.target,
        target_label=prep.target_label,
        token_index=prep.token_index,
        target_score=f_x,
        baseline_score=f_base,
        score_kind=prep.score_kind,
        options=MappingProxyType(
            {"n_steps": n_steps, "baseline": baseline, "internal_batch_size": batch, "score": prep.score_kind}
        ),
        text=prep.text,
        text_pair=prep.text_pair,
        word_ids=_frozen(prep.word_ids.copy()),
        special=_frozen(prep.special.copy()),
    )


def _hidden_states(prep: Prepared, embeds: torch.Tensor) -> torch.Tensor:
    """(L + 1, B, T, D) hidden states of embedding rows, no gradients."""
    with torch.no_grad():
        out = prep.bundle.model(inputs_embeds=embeds, **prep.model_inputs(embeds.shape[0]), output_hidden_states=True)
    return torch.stack(out.hidden_states)


def _layer_ig(prep: Prepared, x: torch.Tensor, xb: torch.Tensor, n_steps: int, batch: int) -> np.ndarray:
    hidden = _hidden_states(prep, torch.cat([x, xb]))
    h, hb = hidden[:, 0], hidden[:, 1]  # (L + 1, T, D)
    sites = h.shape[0]
    step_fn, alpha_fn = approximation_parameters("gausslegendre")
    layer_of = torch.arange(sites).repeat_interleave(n_steps)
    alpha_of = torch.tensor(alpha_fn(n_steps), dtype=h.dtype).repeat(sites)
    weight_of = torch.tensor(step_fn(n_steps), dtype=h.dtype).repeat(sites)
    grad_sum = torch.zeros_like(h)
    chunk: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}  # site -> (row mask, leaf) for the current batch

    def replace(site: int, tensor: torch.Tensor) -> torch.Tensor:
        mask, leaf = chunk[site]
        return torch.where(mask[:, None, None], leaf, tensor)

    def pre_hook(module, args):  # site 0: the first layer's input
        return (replace(0, args[0]),) + args[1:] if 0 in chunk else None

    def make_hook(site: int):
        def hook(module, args, output):
            if site not in chunk:
                return None
            if isinstance(output, tuple):
                return (replace(site, output[0]),) + output[1:]
            return replace(site, output)

        return hook

    with private_copy(prep.bundle.model) as twin:
        layers = layers_of(twin)
        handles = [layers[0].register_forward_pre_hook(pre_hook)]
        handles += [layer.register_forward_hook(make_hook(i + 1)) for i, layer in enumerate(layers)]
        try:
            for start in range(0, len(layer_of), batch):
                rows = slice(start, start + batch)
                alphas = alpha_of[rows][:, None, None]
                chunk.clear()
                for site in layer_of[rows].unique().tolist():
                    leaf = (hb[site] + alphas * (h[site] - hb[site])).requires_grad_()
                    chunk[site] = (layer_of[rows] == site, leaf)
                n = alphas.shape[0]
                scores = prep.score_embeddings(x.expand(n, -1, -1), model=twin)
                grads = torch.autograd.grad(scores.sum(), [leaf for _site, leaf in chunk.values()])
                for (site, (mask, _leaf)), grad in zip(chunk.items(), grads):
                    grad_sum[site] += (weight_of[rows][mask][:, None, None] * grad[mask]).sum(0)
        finally:
            for handle in handles:
                handle.remove()
            chunk.clear()
    return ((h - hb) * grad_sum).sum(-1).double().numpy()


def _conductance(prep: Prepared, x: torch.Tensor, xb: torch.Tensor, n_steps: int, batch: int) -> np.ndarray:
    alphas = torch.linspace(0, 1, n_steps + 1, dtype=x.dtype)
    total = None
    previous = None  # (hidden, grad) of the last point of the previous batch, (L + 1, 1, T, D) each
    for start in range(0, n_steps + 1, batch):
        a = alphas[start : start + batch][:, None, None]
        embeds = (xb + a * (x - xb)).requires_grad_()  # builds the graph (weights are frozen)
        out = prep.bundle.model(inputs_embeds=embeds, **prep.model_inputs(a.shape[0]), output_hidden_states=True)
        scores = prep.scores_from_logits(out.logits)
        grads = torch.autograd.grad(scores.sum(), out.hidden_states)
        hidden, grad = torch.stack(out.hidden_states).detach(), torch.stack(grads)
        if previous is not None:
            hidden, grad = torch.cat([previous[0], hidden], 1), torch.cat([previous[1], grad], 1)
        part = (0.5 * (grad[:, 1:] + grad[:, :-1]) * (hidden[:, 1:] - hidden[:, :-1])).sum((1, 3))
        total = part if total is None else total + part
        previous = hidden[:, -1:], grad[:, -1:]
    return total.double().numpy()


def head_importance(
    bundle: ModelBundle,
    text: str,
    text_pair: str | None = None,
    target: int | str | None = None,
    token_index: int | None = None,
    method: str = "gradient",
    signed: bool = False,
    score: str = "prob",
) -> np.ndarray:
    """Importance of every attention head for the target score (Michel, Levy & Neubig 2019).

    Each head's context output is multiplied by a gate g[l, h] = 1.
    "gradient": |d score / d g[l, h]| (Michel et al.'s importance, for one input), hook-free:
        the context is A_h V_h, linear in the attention weights A_h, so gating the context is
        gating A_h and d score / d g = sum over (query, key) of A_h * d score / d A_h, where A is
        what `output_attentions` returns (the very tensor multiplied with V). One forward and
        one backward on the shared model.
    "ablation": score(all gates 1) - score(g[l, h] = 0), one batched forward of L x H rows
        through `score_with_head_gates` (hooks on a private copy).

    Args:
        signed: keep the sign (positive = the head raises the score) instead of |.|.
        target, token_index, score: as in `attribute`.

    Returns:
        (L, H) float array, read-only.

    >>> head_importance(bundle, "A gripping film.").shape  # (layers, heads)
    (6, 12)
    """
    check_option("method", method, HEAD_METHODS)
    prep = prepare(bundle, text, text_pair, target, token_index, score)
    if method == "gradient":
        embeds = prep.embeddings.clone().requires_grad_()
        out = bundle.model(inputs_embeds=embeds, **prep.model_inputs(1), output_attentions=True)
        if not out.attentions:
            raise InputError(_("This model returns no attention weights (it needs eager attention)."))
        grads = torch.autograd.grad(prep.scores_from_logits(out.logits).sum(), out.attentions)
        per_layer = [(a * g).sum((-1, -2))[0] for a, g in zip(out.attentions, grads)]  # (H,) each
        values = torch.stack(per_layer).detach().double().numpy()
    else:
        L, H = bundle.num_layers, bundle.num_heads
        gates = np.ones((L * H + 1, L, H))
        gates[np.arange(1, L * H + 1), np.repeat(np.arange(L), H), np.tile(np.arange(H), L)] = 0.0
        f = _gated_scores(prep, torch.tensor(gates, dtype=prep.embeddings.dtype), batch=auto_batch(prep, L * H + 1))
        values = (f[0] - f[1:]).reshape(L, H)
    return _frozen(values if signed else np.abs(values))


def score_with_head_gates(
    bundle: ModelBundle,
    text: str,
    gates: np.ndarray,
    text_pair: str | None = None,
    target: int | str | None = None,
    token_index: int | None = None,
    score: str = "prob",
) -> np.ndarray:
    """Target score with each head's context output scaled by gates[g, l, h]; 0 removes the head.

    Args:
        gates: (L, H) or (G, L, H) floats; all ones gives the model's own score.

    Returns:
        (G,) scores ((1,) for one gate setting).
    """
    prep = prepare(bundle, text, text_pair, target, token_index, score)
    gates = np.asarray(gates, dtype=np.float64)
    gates = gates[None] if gates.ndim == 2 else gates
    if gates.ndim != 3 or gates.shape[1:] != (bundle.num_layers, bundle.num_heads):
        raise InputError(_("gates must have shape ({layers}, {heads}) or (G, L, H).").format(
            layers=bundle.num_layers, heads=bundle.num_heads))
    g = torch.tensor(gates, dtype=prep.embeddings.dtype)
    return _frozen(_gated_scores(prep, g, batch=auto_batch(prep, len(g))))


def _output_projection(model: nn.Module, layer: int) -> nn.Module:
    """The linear map whose input is the concatenated per-head context, (B, T, H * d_head)."""
    attention = layers_of(model)[layer].attention
    return attention.out_lin if hasattr(attention, "out_lin") else attention.output.dense


def _gated_scores(prep: Prepared, gates: torch.Tensor, batch: int) -> np.ndarray:
    """Scores for gate settings (G, L, H) in batches, through `gated_heads` (one gate setting per row)."""
    out = []
    with gated_heads(prep.bundle.model) as (twin, set_gates), torch.no_grad():
        for start in range(0, len(gates), batch):
            set_gates(gates[start : start + batch])
            n = min(batch, len(gates) - start)
            out.append(prep.score_embeddings(prep.embeddings.expand(n, -1, -1), model=twin))
    return torch.cat(out).double().numpy()


@contextmanager
def gated_heads(model: nn.Module) -> Iterator[tuple[nn.Module, Callable[[torch.Tensor], None]]]:
    """A private copy of `model` whose heads' context outputs are scaled by gates, and the gate setter.

    `set_gates(g)` takes (L, H) gates for every row of the next forward passes, or (B, L, H) for one
    setting per row; 0 removes a head (Michel et al. 2019's head mask), 1 keeps it. Until the first
    call every gate is 1. Removing head h of layer l this way is the same as zeroing columns
    h * d_head .. (h + 1) * d_head of that layer's output projection weight (tested).

    transformers 5 dropped `head_mask`. A custom attention function could apply the gates too, but
    the function is chosen by `config._attn_implementation`, so it needs a global registry entry
    plus a config change; a pre-hook on the projection that reads the concatenated per-head
    context (B, T, H * d_head) needs neither and fits every family in `_arch`.
    """
    current: list[torch.Tensor] = []

    def make_hook(layer: int):
        def pre_hook(module, args):
            if not current:
                return None
            context = args[0]
            B, T, width = context.shape
            g = current[0]
            g = g[None].expand(B, -1, -1) if g.dim() == 2 else g
            heads = g.shape[-1]
            scaled = context.view(B, T, heads, width // heads) * g[:, layer, None, :, None].to(context.dtype)
            return (scaled.view(B, T, width),) + args[1:]

        return pre_hook

    def set_gates(gates: torch.Tensor) -> None:
        current[:] = [torch.as_tensor(gates)]

    with private_copy(model) as twin:
        handles = [
            _output_projection(twin, l).register_forward_pre_hook(make_hook(l)) for l in range(len(layers_of(twin)))
        ]
        try:
            yield twin, set_gates
        finally:
            for handle in handles:
                handle.remove()
