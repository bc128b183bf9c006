"""Integrated Gradients for many inputs at once, with the number of steps chosen per input.

Integrated Gradients (Sundararajan, Taly & Yan 2017) on the word embeddings x (T, D) from a
baseline x': IG_t = sum_d (x - x')_td * sum_k w_k * d f(x' + a_k (x - x')) / d x_td, with
Gauss-Legendre nodes a_k and weights w_k on [0, 1] (Captum's `approximation_parameters`).
Completeness says sum_t IG_t = f(x) - f(x'); the convergence delta is the difference. An input's
step count starts at `START_STEPS` and doubles (4, 8, 16, ...) until |delta| < TOLERANCE x |f(x) - f(x')|
(or |delta| < ATOL, for inputs whose f(x) and f(x') all but coincide), up to MAX_STEPS; so a
bert-base-size model stops paying 50 steps for an input that 8 already integrate to 1 %.

Inputs of different lengths share batches: every interpolated row is right-padded to the longest
in its batch with attention mask 0, so padding changes nothing (masked keys get weight exactly 0).
Each row's gradient comes from one backward of the summed scores (rows are independent), hook-free
on the shared model, differentiating with respect to `inputs_embeds` as `attribute` does.
Shape glossary: S interpolated rows of a batch, T tokens, D embedding size, C classes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from captum.attr._utils.approximation_methods import approximation_parameters

from explain.models.checkpoint import ModelBundle

START_STEPS = 4
MAX_STEPS = 256
TOLERANCE = 0.01
ATOL = 1e-6
BATCH_POSITIONS = 1600  # as captum_methods.auto_batch: rows x T per forward/backward


@dataclass(frozen=True, eq=False)
class IGInput:
    """One input to integrate: word embeddings x and baseline xb, (T, D); token types (T,) or None;
    the explained class `target` and, for token classification, the explained `token_index`."""

    x: torch.Tensor
    xb: torch.Tensor
    token_type_ids: torch.Tensor | None
    target: int
    token_index: int | None = None


@dataclass(frozen=True, eq=False)
class IGResult:
    """Token scores (T,) float64, steps used, f(x), f(x'), delta = sum(scores) - (f(x) - f(x')), and
    `converged`: |delta| < tolerance x |f(x) - f(x')| (or < ATOL)."""

    scores: np.ndarray
    steps: int
    f_x: float
    f_base: float
    delta: float
    converged: bool


class Scorer:
    """Target scores of embedding rows through the shared model: (S, T, D) -> (S,), differentiable."""

    def __init__(self, bundle: ModelBundle, score_kind: str = "prob"):
        self.bundle = bundle
        self.prob = score_kind == "prob" and bundle.config.num_labels > 1
        self.sigmoid = bundle.config.problem_type == "multi_label_classification"

    def __call__(self, embeds, mask, types, targets, token_index) -> torch.Tensor:
        S, T = embeds.shape[:2]
        inputs = {"attention_mask": mask,
                  "position_ids": (torch.arange(T) + self.bundle.arch.position_offset).expand(S, -1)}
        if self.bundle.arch.has_token_types:
            inputs["token_type_ids"] = types
        logits = self.bundle.model(inputs_embeds=embeds, **inputs).logits
        if logits.dim() == 3:
            logits = logits[torch.arange(S), token_index]
        if self.prob:
            logits = torch.sigmoid(logits) if self.sigmoid else torch.softmax(logits, -1)
        return logits[torch.arange(S), targets]


def integrated_gradients_rows(
    bundle: ModelBundle,
    inputs: Sequence[IGInput],
    n_steps: int | None = None,
    score_kind: str = "prob",
    integration: str = "gausslegendre",
    start_steps: int | Sequence[int] = START_STEPS,
    max_steps: int = MAX_STEPS,
    tolerance: float = TOLERANCE,
    batch_positions: int = BATCH_POSITIONS,
    batch_rows: int | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> tuple[list[IGResult], int]:
    """IG for every input: fixed `n_steps`, or adaptive (None) from `start_steps` (one count, or one per
    input) doubling to `max_steps`.

    Args:
        batch_positions: interpolated rows x padded length per forward/backward (memory bound).
        batch_rows: at most this many interpolated rows per batch instead (Captum's internal_batch_size).
        on_batch: called with the number of interpolated rows after each batch (for cancel checks).

    Returns:
        (results in input order, model evaluations: interpolated rows run forward and backward).
    """
    from explain.settings import current_settings

    limit = current_settings().max_ig_steps  # a server's step limit caps the adaptive count too
    if limit is not None:
        max_steps = min(max_steps, limit)  # start counts above it are cut to it below
    scorer = Scorer(bundle, score_kind)
    f_x, f_base = _end_scores(scorer, inputs, batch_positions)
    gap = np.abs(f_x - f_base)
    results: list[IGResult | None] = [None] * len(inputs)
    starts = [start_steps] * len(inputs) if isinstance(start_steps, int) else list(start_steps)
    current = [n_steps or min(max(1, int(s)), max_steps) for s in starts]
    pending = list(range(len(inputs)))
    evaluations = 0
    while pending:
        again = []
        groups: dict[int, list[int]] = {}
        for i in pending:  # rows at the same count share batches
            groups.setdefault(current[i], []).append(i)
        for steps, group in sorted(groups.items()):
            grads = _integrated(scorer, inputs, group, steps, integration, batch_positions, batch_rows, on_batch)
            evaluations += steps * len(group)
            for i, grad in zip(group, grads):
                inp = inputs[i]
                scores = ((inp.x - inp.xb).double() * grad.double()).sum(-1).cpu().numpy()
                delta = float(scores.sum() - (f_x[i] - f_base[i]))
                ok = abs(delta) < tolerance * gap[i] or abs(delta) < ATOL
                if n_steps is None and not ok and steps < max_steps:
                    again.append(i)
                    current[i] = min(steps * 2, max_steps)
                else:
                    results[i] = IGResult(scores, steps, float(f_x[i]), float(f_base[i]), delta, ok)
        pending = sorted(again)
    return results, evaluations


def _batches(order: list[int], lengths: list[int], per_row: int, batch_positions: int, batch_rows: int | None):
    """Consecutive (input, step) items of `order` (inputs sorted by length) cut into padded batches."""
    batch: list[tuple[int, int]] = []
    for item in ((i, k) for i in order for k in range(per_row)):
        longest = lengths[item[0]]  # inputs come shortest first
        full = batch_rows is not None and len(batch) >= batch_rows
        if batch and (full or (batch_rows is None and (len(batch) + 1) * longest > batch_positions)):
            yield batch
            batch = []
        batch.append(item)
    if batch:
        yield batch


def _integrated(scorer, inputs, pending, steps, integration, batch_positions, batch_rows, on_batch):
    """Weighted gradient sums sum_k w_k grad f(x' + a_k (x - x')), (T_i, D) per pending input."""
    step_fn, alpha_fn = approximation_parameters(integration)
    weights = torch.tensor(step_fn(steps))
    alphas = torch.tensor(alpha_fn(steps))
    lengths = [inp.x.shape[0] for inp in inputs]
    order = sorted(pending, key=lambda i: lengths[i])
    sums = {i: torch.zeros_like(inputs[i].x) for i in pending}
    for batch in _batches(order, lengths, steps, batch_positions, batch_rows):
        T = max(lengths[i] for i, _ in batch)
        dtype = inputs[batch[0][0]].x.dtype
        embeds = torch.zeros(len(batch), T, inputs[0].x.shape[1], dtype=dtype)
        mask = torch.zeros(len(batch), T, dtype=torch.long)
        types = torch.zeros(len(batch), T, dtype=torch.long)
        for s, (i, k) in enumerate(batch):
            inp, n = inputs[i], lengths[i]
            embeds[s, :n] = inp.xb + alphas[k].to(dtype) * (inp.x - inp.xb)
            mask[s, :n] = 1
            if inp.token_type_ids is not None:
                types[s, :n] = inp.token_type_ids
        embeds.requires_grad_()
        targets = torch.tensor([inputs[i].target for i, _ in batch])
        token_index = torch.tensor([inputs[i].token_index or 0 for i, _ in batch])
        score = scorer(embeds, mask, types, targets, token_index)
        (grad,) = torch.autograd.grad(score.sum(), embeds)
        for s, (i, k) in enumerate(batch):
            sums[i] += weights[k].to(dtype) * grad[s, : lengths[i]]
        if on_batch is not None:
            on_batch(len(batch))
    return [sums[i] for i in pending]


def _end_scores(scorer: Scorer, inputs: Sequence[IGInput], batch_positions: int) -> tuple[np.ndarray, np.ndarray]:
    """f(x) and f(x') of every input, batched, without gradients."""
    ends = [(i, 1.0) for i in range(len(inputs))] + [(i, 0.0) for i in range(len(inputs))]
    lengths = [inp.x.shape[0] for inp in inputs]
    ends.sort(key=lambda e: lengths[e[0]])
    values = {}
    with torch.no_grad():
        for batch in _batches(list(range(len(ends))), [lengths[e[0]] for e in ends], 1, batch_positions, None):
            rows = [ends[j] for j, _ in batch]
            T = max(lengths[i] for i, _ in rows)
            embeds = torch.zeros(len(rows), T, inputs[0].x.shape[1], dtype=inputs[0].x.dtype)
            mask = torch.zeros(len(rows), T, dtype=torch.long)
            types = torch.zeros(len(rows), T, dtype=torch.long)
            for s, (i, at_x) in enumerate(rows):
                inp, n = inputs[i], lengths[i]
                embeds[s, :n] = inp.x if at_x else inp.xb
                mask[s, :n] = 1
                if inp.token_type_ids is not None:
                    types[s, :n] = inp.token_type_ids
            targets = torch.tensor([inputs[i].target for i, _ in rows])
            token_index = torch.tensor([inputs[i].token_index or 0 for i, _ in rows])
            for (i, at_x), v in zip(rows, scorer(embeds, mask, types, targets, token_index).double().tolist()):
                values[i, at_x] = v
    f_x = np.array([values[i, 1.0] for i in range(len(inputs))])
    f_base = np.array([values[i, 0.0] for i in range(len(inputs))])
    return f_x, f_base
