"""Which attention heads matter for this data set, and what happens when the least important are removed.

Head importance (Michel, Levy & Neubig 2019, "Are Sixteen Heads Really Better than One?", eq. 2):
each head's context output is multiplied by a gate g_lh = 1; I_lh = E_x |dL(x)/dg_lh| over the rows,
L the cross-entropy of the gold class. Hook-free, as `explain.attribution.layers.head_importance`
does for one input: the context is A_h V_h, linear in the attention weights A_h, so
dL/dg_lh = sum_(query, key) A_lh * dL/dA_lh, with A what `output_attentions` returns; one forward
and one backward per padded batch of rows (each row's value is its own, rows being independent).
Normalised per layer by the l2 norm over that layer's heads (Michel et al. Section 4.1, after
Molchanov et al. 2017): normalized[l] = I[l] / ||I[l]||_2.

Pruning curve (their Figure 3): the accuracy on the rows when the k least important heads (by the
normalised importance, over all layers) are masked, for k = 0 .. L x H, next to the same for a
seeded random order. Masks are gates of 0 through `explain.attribution.layers.gated_heads` (a
private copy; the same logits as zeroing the heads' columns of the output projection).
Cost: one forward per row per point and order: N x len(ks) x (1 + random_orders) row passes; the
default `ks` keeps about 25 points (every k up to 24 heads).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from explain.attribution.layers import gated_heads
from explain.dataset.batching import MAX_POSITIONS, MAX_ROWS, encode_rows, length_batches, pad_batch
from explain.dataset.evaluate import check_classifier
from explain.dataset.labels import LabelMatch, resolve_match
from explain.dataset.progress import Progress, Tracker
from explain.dataset.reader import Rows
from explain.errors import InputError
from explain.i18n import _
from explain.models.arch import embeddings_of
from explain.models.checkpoint import ModelBundle
from explain.run import _frozen

CURVE_POINTS = 25
GRAD_POSITIONS = 2048  # rows x T per forward/backward with attention gradients


@dataclass(frozen=True, eq=False)
class HeadImportance:
    """Michel et al.'s head importance over N rows: `raw` = mean |dL/dg|, (L, H); `normalized` = raw / the
    l2 norm of its layer's row, (L, H); `per_row` = dL/dg (signed) of every row, (N, L, H), or (0, L, H)
    when merged from sums (`explain.dataset.parts.HeadSums`); `rows` = N."""

    raw: np.ndarray
    normalized: np.ndarray
    per_row: np.ndarray
    rows: int = 0

    def order(self) -> np.ndarray:
        """(layer, head) pairs, least important first, (L x H, 2)."""
        flat = np.argsort(self.normalized.ravel(), kind="stable")
        return np.stack(np.unravel_index(flat, self.normalized.shape), axis=1)


@dataclass(frozen=True, eq=False)
class PruningCurve:
    """Accuracy (and mean loss) as the k least important heads are masked, (K,) each, for k in `ks`;
    the same for `random_orders` seeded random orders (mean over them); the orders, (L x H, 2) each."""

    ks: np.ndarray
    accuracy: np.ndarray
    loss: np.ndarray
    random_accuracy: np.ndarray
    random_loss: np.ndarray
    order: np.ndarray
    random_order: np.ndarray
    n_rows: int


def dataset_head_importance(
    bundle: ModelBundle,
    rows: Rows,
    label_map: Mapping[str, str | int] | None = None,
    match: LabelMatch | None = None,
    max_tokens: int | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    seed: int = 0,
) -> HeadImportance:
    """Head importance over the labelled rows (see the module docstring). Raises Cancelled, InputError."""
    check_classifier(bundle)
    match = resolve_match(rows.labels, bundle, label_map, match)
    per_row = head_gate_gradients(bundle, rows, match, max_tokens, Tracker(len(rows), progress, cancel), seed)
    return importance_from_rows(per_row)


def importance_from_rows(per_row: np.ndarray) -> HeadImportance:
    """HeadImportance from per-row gate gradients (N, L, H), e.g. the concatenated `per_row` of streamed chunks."""
    per_row = np.asarray(per_row, dtype=np.float64)
    if per_row.ndim != 3 or len(per_row) == 0:
        raise InputError(_("Head importance needs gate gradients of shape (rows, layers, heads)."))
    return importance_from_raw(np.abs(per_row).mean(0), len(per_row), per_row)


def importance_from_raw(raw: np.ndarray, rows: int, per_row: np.ndarray | None = None) -> HeadImportance:
    """HeadImportance from mean |dL/dg| per head, (L, H), over `rows` rows (normalised per layer)."""
    raw = np.asarray(raw, dtype=np.float64)
    norms = np.linalg.norm(raw, axis=1, keepdims=True)
    normalized = np.divide(raw, norms, out=np.zeros_like(raw), where=norms > 0)
    per_row = np.zeros((0, *raw.shape)) if per_row is None else per_row
    return HeadImportance(_frozen(raw), _frozen(normalized), _frozen(per_row), rows)


def head_gate_gradients(bundle: ModelBundle, rows: Rows, match: LabelMatch, max_tokens: int | None = None,
                        tracker: Tracker | None = None, seed: int = 0) -> np.ndarray:
    """dL/dg per row and head, (N, L, H) (see the module docstring)."""
    word_emb = embeddings_of(bundle.model).word_embeddings
    y = torch.from_numpy(match.indices(rows.labels)).to(word_emb.weight.device)  # the model's device (a Ray GPU actor)
    enc = encode_rows(bundle, rows.texts, rows.pairs if rows.has_pairs else None, max_tokens)
    L, H = bundle.num_layers, bundle.num_heads
    per_row = np.zeros((len(rows), L, H))
    tracker = tracker or Tracker(len(rows))
    for index in length_batches(enc.lengths, 64, GRAD_POSITIONS, seed):
        tracker.check()
        inputs = pad_batch(bundle, enc, index)
        with torch.no_grad():
            embeds = word_emb(inputs.pop("input_ids"))
        embeds.requires_grad_()
        out = bundle.model(inputs_embeds=embeds, **inputs, output_attentions=True)
        if not out.attentions:
            raise InputError(_("This model returns no attention weights (it needs eager attention)."))
        loss = torch.nn.functional.cross_entropy(out.logits, y[index], reduction="sum")
        grads = torch.autograd.grad(loss, out.attentions)
        sums = torch.stack([(a * g).sum((-1, -2)) for a, g in zip(out.attentions, grads)], 1)
        per_row[index] = sums.detach().double().cpu().numpy()
        tracker.advance(len(index))
    return per_row


def default_ks(num_heads: int, points: int = CURVE_POINTS) -> np.ndarray:
    """k = 0 .. num_heads: every k when there are at most points - 1 heads, else about `points` evenly spaced."""
    step = max(1, math.ceil(num_heads / (points - 1)))
    return np.unique(np.append(np.arange(0, num_heads + 1, step), num_heads))


def pruning_curve(
    bundle: ModelBundle,
    rows: Rows,
    importance: HeadImportance | np.ndarray,
    ks: Sequence[int] | np.ndarray | None = None,
    random_orders: int = 1,
    label_map: Mapping[str, str | int] | None = None,
    match: LabelMatch | None = None,
    max_tokens: int | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    seed: int = 0,
) -> PruningCurve:
    """Accuracy with the k least important heads masked, for k in `ks` (default `default_ks`), and
    for random orders drawn from numpy's Generator seeded with `seed` (see the module docstring).

    Args:
        importance: a HeadImportance (its normalised scores order the heads) or an (L, H) array.
        random_orders: random orders averaged (0 for none).
    """
    check_classifier(bundle)
    scores = importance.normalized if isinstance(importance, HeadImportance) else np.asarray(importance)
    L, H = bundle.num_layers, bundle.num_heads
    if scores.shape != (L, H):
        raise InputError(_("Head importance must have shape ({L}, {H}).").format(L=L, H=H))
    ks = default_ks(L * H) if ks is None else np.asarray(ks, dtype=np.int64)
    if len(ks) == 0 or ks.min() < 0 or ks.max() > L * H:
        raise InputError(_("Each k must lie between 0 and {n}.").format(n=L * H))
    match = resolve_match(rows.labels, bundle, label_map, match)
    orders = pruning_orders(scores, random_orders, seed)
    counts = prune_counts(bundle, rows, match, orders, ks, max_tokens, progress, cancel, seed)
    return curve_from_counts(counts, ks, orders, (L, H))


def pruning_orders(scores: np.ndarray, random_orders: int = 1, seed: int = 0) -> np.ndarray:
    """Flat head indices, least important first, then `random_orders` seeded permutations, (1 + R, L x H)."""
    order = np.argsort(np.asarray(scores).ravel(), kind="stable")
    rng = np.random.default_rng(seed)
    return np.stack([order] + [rng.permutation(order.size) for _order in range(random_orders)])


def prune_counts(bundle: ModelBundle, rows: Rows, match: LabelMatch, orders: np.ndarray, ks: np.ndarray,
                 max_tokens: int | None = None, progress: Progress | None = None,
                 cancel: threading.Event | None = None, seed: int = 0):
    """Rows right and summed loss with the first k heads of each order masked: a mergeable PruneCounts."""
    from explain.dataset.parts import PruneCounts

    L, H = bundle.num_layers, bundle.num_heads
    y = match.indices(rows.labels)
    enc = encode_rows(bundle, rows.texts, rows.pairs if rows.has_pairs else None, max_tokens)
    batches = length_batches(enc.lengths, MAX_ROWS, MAX_POSITIONS, seed)
    tracker = Tracker(len(rows) * len(ks) * len(orders), progress, cancel)
    right = np.zeros((len(orders), len(ks)), dtype=np.int64)
    loss = np.zeros((len(orders), len(ks)))
    with gated_heads(bundle.model) as (twin, set_gates), torch.inference_mode():
        for o, heads in enumerate(orders):
            for j, k in enumerate(ks):
                gates = np.ones(L * H)
                gates[heads[:k]] = 0.0
                set_gates(torch.tensor(gates.reshape(L, H), dtype=torch.float32))
                right[o, j], loss[o, j] = _accuracy(twin, bundle, enc, batches, y, tracker)
    return PruneCounts(_frozen(right), _frozen(loss), len(rows))


def curve_from_counts(counts, ks: np.ndarray, orders: np.ndarray, shape: tuple[int, int]) -> PruningCurve:
    """The PruningCurve of merged PruneCounts (orders as `pruning_orders` gives them)."""
    acc, loss = counts.accuracy, counts.loss
    random_orders = len(orders) - 1
    unravel = lambda flat: np.stack(np.unravel_index(flat, shape), axis=1)
    return PruningCurve(
        ks=_frozen(np.asarray(ks)), accuracy=_frozen(acc[0]), loss=_frozen(loss[0]),
        random_accuracy=_frozen(acc[1:].mean(0) if random_orders else np.full(len(ks), np.nan)),
        random_loss=_frozen(loss[1:].mean(0) if random_orders else np.full(len(ks), np.nan)),
        order=_frozen(unravel(orders[0])),
        random_order=_frozen(unravel(orders[1]) if random_orders else np.zeros((0, 2), dtype=np.int64)),
        n_rows=counts.rows,
    )


def _accuracy(model, bundle, enc, batches, y: np.ndarray, tracker: Tracker) -> tuple[int, float]:
    right, total_loss = 0, 0.0
    for index in batches:
        tracker.check()
        logits = model(**pad_batch(bundle, enc, index)).logits.double()
        target = torch.from_numpy(y[index]).to(logits.device)
        right += int((logits.argmax(-1) == target).sum())
        total_loss += float(torch.nn.functional.cross_entropy(logits, target, reduction="sum"))
        tracker.advance(len(index))
    return right, total_loss
