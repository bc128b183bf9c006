"""Integrated Gradients with nested Clenshaw-Curtis quadrature: doubling the steps reuses every point.

Same integral as explain.attribution.adaptive (Sundararajan et al. 2017 on the word embeddings, the
path x' + a (x - x'), a in [0, 1]), with Clenshaw-Curtis nodes a_j = (1 - cos(j pi / n)) / 2,
j = 0 .. n, and their weights w_j (Waldvogel 2006). The nodes of n are among those of 2n, so an input
that misses the completeness tolerance at n pays only the n new points of 2n, where Gauss-Legendre
(whose nodes do not nest) pays all 2n again. Each point keeps only its per-token projection
p_j = sum_d (x - x')_td * d f(x' + a_j (x - x')) / d x_td, (T,), so the scores at any level are
sum_j w_j p_j. The end points a = 0 and a = 1 are points of the rule: their forward passes give f(x')
and f(x), so no separate pass for them ("reusing the baseline pass").

Batching and padding as in adaptive.py: points of several inputs share a padded batch (attention
mask 0 on padding), one backward of the summed scores (rows are independent). `steps` in the results
is the number of points evaluated, n + 1.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache

import numpy as np
import torch

from explain.attribution.adaptive import ATOL, BATCH_POSITIONS, MAX_STEPS, TOLERANCE, IGInput, IGResult, Scorer

GRID = 1024  # node keys j * GRID / n: exact integers for every n that divides GRID


@lru_cache(maxsize=None)
def clenshaw_curtis(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes (n + 1,) on [0, 1], increasing, and weights (n + 1,) summing to 1; exact for polynomials of
    degree <= n (n even). Waldvogel's closed form for the weights on [-1, 1], halved."""
    if n < 2 or n % 2:
        raise ValueError("Clenshaw-Curtis needs an even n >= 2")
    j = np.arange(n + 1)
    theta = j * np.pi / n
    w = np.ones(n + 1)
    for k in range(1, n // 2 + 1):
        b = 1.0 if k == n // 2 else 2.0
        w -= b * np.cos(2 * k * theta) / (4 * k * k - 1)
    c = np.where((j == 0) | (j == n), 1.0, 2.0)
    w = c * w / n  # on [-1, 1], sum 2
    return (1.0 - np.cos(theta)) / 2.0, w / 2.0


def integrated_gradients_nested(
    bundle,
    inputs: Sequence[IGInput],
    score_kind: str = "prob",
    start_steps: int | Sequence[int] = 4,
    max_steps: int = MAX_STEPS,
    tolerance: float = TOLERANCE,
    n_steps: int | None = None,
    batch_positions: int = BATCH_POSITIONS,
    on_batch: Callable[[int], None] | None = None,
) -> tuple[list[IGResult], int]:
    """IG for every input, n = start (per input; a power of two, rounded down) doubling until |delta| < tolerance x |f(x) - f(x')|
    (or < ATOL), n <= max_steps; fixed n with `n_steps`. Returns (results in input order, points run)."""
    from explain.settings import current_settings

    limit = current_settings().max_ig_steps
    if limit is not None:
        max_steps = min(max_steps, limit)
    top = _power_of_two(min(max_steps, GRID))
    starts = [start_steps] * len(inputs) if isinstance(start_steps, int) else list(start_steps)
    level = [min(top, _power_of_two(n_steps or s)) for s in starts]
    scorer = Scorer(bundle, score_kind)
    proj: list[dict[int, np.ndarray]] = [{} for _ in inputs]
    ends: list[dict[int, float]] = [{} for _ in inputs]
    results: list[IGResult | None] = [None] * len(inputs)
    pending, evaluations = list(range(len(inputs))), 0
    while pending:
        need = [(i, key) for i in pending for key in range(0, GRID + 1, GRID // level[i]) if key not in proj[i]]
        evaluations += len(need)
        for i, key, p, f in _points(scorer, inputs, need, batch_positions, on_batch):
            proj[i][key] = p
            if key in (0, GRID):
                ends[i][key] = f
        again = []
        for i in pending:
            n = level[i]
            _, w = clenshaw_curtis(n)
            scores = sum(w[j] * proj[i][j * GRID // n] for j in range(n + 1))
            f_x, f_base = ends[i][GRID], ends[i][0]
            delta = float(scores.sum() - (f_x - f_base))
            ok = abs(delta) < tolerance * abs(f_x - f_base) or abs(delta) < ATOL
            if n_steps is None and not ok and 2 * n <= top:
                level[i] = 2 * n
                again.append(i)
            else:
                results[i] = IGResult(np.asarray(scores, dtype=np.float64), n + 1, f_x, f_base, delta, ok)
                proj[i].clear()
        pending = again
    return results, evaluations


def _power_of_two(n: int) -> int:
    """The largest power of two <= n, at least 2: the levels whose nodes sit on the GRID."""
    return max(2, 1 << (max(int(n), 1).bit_length() - 1))


def _points(scorer, inputs, need, batch_positions, on_batch):
    """(input, node key) items -> (input, key, projection (T,) float64, f at that point), in padded batches
    of inputs of similar length (shortest first) and at most `batch_positions` rows x T."""
    lengths = [inp.x.shape[0] for inp in inputs]
    need = sorted(need, key=lambda item: (lengths[item[0]], item[0], item[1]))
    start = 0
    while start < len(need):
        stop = start + 1
        while stop < len(need) and (stop - start + 1) * lengths[need[stop][0]] <= batch_positions:
            stop += 1
        batch = need[start:stop]
        start = stop
        T = max(lengths[i] for i, _ in batch)
        first = inputs[batch[0][0]].x
        embeds = torch.zeros(len(batch), T, first.shape[1], dtype=first.dtype)
        mask = torch.zeros(len(batch), T, dtype=torch.long)
        types = torch.zeros(len(batch), T, dtype=torch.long)
        for s, (i, key) in enumerate(batch):
            inp, n = inputs[i], lengths[i]
            alpha = (1.0 - np.cos(np.pi * key / GRID)) / 2.0
            embeds[s, :n] = inp.xb + float(alpha) * (inp.x - inp.xb)
            mask[s, :n] = 1
            if inp.token_type_ids is not None:
                types[s, :n] = inp.token_type_ids
        embeds.requires_grad_()
        targets = torch.tensor([inputs[i].target for i, _ in batch])
        token_index = torch.tensor([inputs[i].token_index or 0 for i, _ in batch])
        score = scorer(embeds, mask, types, targets, token_index)
        (grad,) = torch.autograd.grad(score.sum(), embeds)
        values = score.detach().double().tolist()
        for s, (i, key) in enumerate(batch):
            inp, n = inputs[i], lengths[i]
            p = ((inp.x - inp.xb).double() * grad[s, :n].double()).sum(-1).cpu().numpy()
            yield i, key, p, values[s]
        if on_batch is not None:
            on_batch(len(batch))
