"""All heads of one layer, recomputed by hand: MultiHead(X) = Concat(head_1, ..., head_h) W^O + b^O.

Vaswani et al. 2017, sec. 3.2.2: head_i = softmax(Q_i K_i^T / sqrt(d_k)) V_i with Q_i = X W_i^Q + b_i^Q
(and K_i, V_i alike), then the heads' outputs are concatenated (T, h d_k) and projected by W^O. BERT
(Devlin et al. 2019) then adds the layer input back and normalises: LayerNorm(X + MultiHead(X)).

Everything is recomputed in float64 from the weights and the layer input of a ModelRun, and compared
with what the model's own modules compute on the same input (read only: no hook, no mutation), so the
numbers a lesson shows are provably the ones the model ran.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from explain.attention.head_math import head_weights
from explain.attention.maps import check_head
from explain.models.arch import attention_output_of, layers_of, self_attention_of
from explain.models.checkpoint import ModelBundle
from explain.run import ModelRun, _frozen


@dataclass(frozen=True)
class MultiHeadArithmetic:
    """Every step of one layer's multi-head attention on one input, in float64.

    x: the layer input (T, D); q, k, v: per head (H, T, d_k); weights: softmax(Q K^T / sqrt(d_k)) per head
    (H, T, T); heads: weights @ V per head (H, T, d_k); concat: the heads side by side (T, H d_k);
    w_o: (H d_k, D) and b_o: (D,) so that output = concat @ w_o + b_o, (T, D), the attention block's
    output before the residual; per_head: head_i @ w_o[i d_k:(i+1) d_k], (H, T, D), which sum to
    output - b_o (concatenate-then-project is the sum of per-head projections);
    after_norm: LayerNorm(x + output) with the model's gamma, beta and eps, (T, D).
    model_output, model_after_norm: the same two quantities from the model's own modules, (T, D);
    max_abs_error, max_abs_error_after_norm: largest |recomputed - model| of each; attention_error:
    largest |weights - the attentions the run returned|.
    """

    tokens: tuple[str, ...]
    layer: int
    x: np.ndarray
    q: np.ndarray
    k: np.ndarray
    v: np.ndarray
    weights: np.ndarray
    heads: np.ndarray
    concat: np.ndarray
    w_o: np.ndarray
    b_o: np.ndarray
    output: np.ndarray
    per_head: np.ndarray
    after_norm: np.ndarray
    model_output: np.ndarray
    model_after_norm: np.ndarray
    max_abs_error: float
    max_abs_error_after_norm: float
    attention_error: float

    @property
    def num_heads(self) -> int:
        return self.q.shape[0]

    @property
    def d_k(self) -> int:
        return self.q.shape[2]


def multihead_arithmetic(bundle: ModelBundle, run: ModelRun, layer: int) -> MultiHeadArithmetic:
    """Recompute layer `layer`'s multi-head attention from its weights and `run.hidden_states[layer]`.

    `run` must come from `bundle` (same weights). Raises InputError for a layer the model lacks.

    >>> calc = multihead_arithmetic(bundle, run, layer=2)
    >>> calc.concat.shape, calc.output.shape        # (T, H d_k), (T, D)
    ((12, 384), (12, 384))
    >>> calc.max_abs_error < 1e-5 and calc.max_abs_error_after_norm < 1e-5
    True
    """
    check_head(run, layer)
    x = run.hidden_states[layer].astype(np.float64)
    parts = [head_weights(bundle, layer, h) for h in range(bundle.num_heads)]
    q = np.stack([x @ p.w_q + p.b_q for p in parts])
    k = np.stack([x @ p.w_k + p.b_k for p in parts])
    v = np.stack([x @ p.w_v + p.b_v for p in parts])
    scores = q @ k.transpose(0, 2, 1) / np.sqrt(q.shape[2])
    weights = np.exp(scores - scores.max(axis=2, keepdims=True))
    weights /= weights.sum(axis=2, keepdims=True)
    heads = weights @ v
    H, T, d_k = heads.shape
    concat = heads.transpose(1, 0, 2).reshape(T, H * d_k)
    dense, norm = attention_output_of(bundle.model, layer)
    with torch.no_grad():
        w_o = dense.weight.T.double().numpy().copy()
        b_o = dense.bias.double().numpy().copy()
        gamma, beta = norm.weight.double().numpy().copy(), norm.bias.double().numpy().copy()
    output = concat @ w_o + b_o
    per_head = np.einsum("htk,hkd->htd", heads, w_o.reshape(H, d_k, -1))
    summed = x + output
    centred = summed - summed.mean(axis=1, keepdims=True)
    after_norm = centred / np.sqrt((centred**2).mean(axis=1, keepdims=True) + norm.eps) * gamma + beta
    model_output, model_after_norm = model_attention_block(bundle, run, layer)
    return MultiHeadArithmetic(
        tokens=run.tokens,
        layer=layer,
        x=_frozen(x),
        q=_frozen(q),
        k=_frozen(k),
        v=_frozen(v),
        weights=_frozen(weights),
        heads=_frozen(heads),
        concat=_frozen(concat),
        w_o=_frozen(w_o),
        b_o=_frozen(b_o),
        output=_frozen(output),
        per_head=_frozen(per_head),
        after_norm=_frozen(after_norm),
        model_output=_frozen(model_output),
        model_after_norm=_frozen(model_after_norm),
        max_abs_error=float(np.abs(output - model_output).max()),
        max_abs_error_after_norm=float(np.abs(after_norm - model_after_norm).max()),
        attention_error=float(np.abs(weights - run.attentions[layer]).max()),
    )


def model_attention_block(bundle: ModelBundle, run: ModelRun, layer: int) -> tuple[np.ndarray, np.ndarray]:
    """The model's own attention block on `run.hidden_states[layer]`: (output before the residual,
    LayerNorm(input + output)), each (T, D) in float64. Calls the model's modules in inference mode on
    a single unpadded sequence; nothing is hooked or changed."""
    x = torch.tensor(run.hidden_states[layer], dtype=torch.float32)[None]
    block = layers_of(bundle.model)[layer]
    dense, norm = attention_output_of(bundle.model, layer)
    with torch.inference_mode():
        context, _ = self_attention_of(bundle.model, layer)(x)
        if hasattr(block, "sa_layer_norm"):  # DistilBERT's self-attention already applies out_lin
            output = context
            after = norm(output + x)
        else:
            output = dense(context)
            after = block.attention(x)[0]
    return output[0].double().numpy(), after[0].double().numpy()
