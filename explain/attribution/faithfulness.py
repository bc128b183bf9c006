"""How far to trust an attribution: completeness, ERASER deletion/insertion curves, method agreement.

Shape glossary: T tokens, K fractions of the content tokens, M methods.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy.stats import rankdata

from explain.attribution.core import Prepared, check_count, check_option, prepare
from explain.attribution.methods import Attribution, attribute_prepared, method_spec
from explain.errors import InputError
from explain.i18n import _
from explain.models.checkpoint import ModelBundle
from explain.run import _frozen

REMOVALS = ("mask", "pad")
DEFAULT_FRACTIONS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
ERASER_FRACTIONS = (0.01, 0.05, 0.1, 0.2, 0.5)
DEFAULT_COMPARED = ("ig", "saliency", "input_x_gradient", "occlusion", "kernel_shap", "lime")


@dataclass(frozen=True)
class Completeness:
    """Sum of attributions against f(x) - f(x') (Sundararajan et al. 2017's completeness axiom).

    Attributes:
        total: sum of the token scores. expected: target_score - baseline_score.
        gap: total - expected. relative: |gap| / |expected| (inf when expected is 0 and gap is not).
    """

    total: float
    expected: float
    gap: float
    relative: float


def completeness(attribution: Attribution) -> Completeness:
    """Check how much of f(x) - f(x') the scores account for; exact (up to the integral) for IG.

    >>> completeness(attribute(bundle, "A gripping film.", method="ig")).relative < 0.05
    True
    """
    if attribution.baseline_score is None:
        raise InputError(_("{method} compares with no baseline input, so completeness does not apply.").format(
            method=_(attribution.method)))
    total = float(np.sum(attribution.scores))
    expected = attribution.target_score - attribution.baseline_score
    gap = total - expected
    relative = abs(gap) / abs(expected) if expected else (0.0 if gap == 0 else math.inf)
    return Completeness(total=total, expected=expected, gap=gap, relative=relative)


@dataclass(frozen=True, eq=False)
class FaithfulnessCurves:
    """Deletion and insertion curves of one attribution, against random token orders (ERASER).

    Tokens are ranked by score (highest first: most in favour of the target); special tokens are
    never removed. "Removing" replaces the token (removal "mask": by [MASK], still attended;
    "pad": by [PAD] with its attention mask set to 0, i.e. deleted without moving positions).

    Attributes:
        fractions: (K,) fraction of the content tokens; counts: (K,) tokens that is (rounded up).
        full_score: target probability of the intact input (score_kind says if it is a logit).
        deletion: (K,) score with the top-k tokens removed; insertion: (K,) with only them kept.
        comprehensiveness: full_score - deletion, (K,) (higher = the top tokens mattered).
        sufficiency: full_score - insertion, (K,) (lower = the top tokens suffice).
        random_deletion, random_insertion, random_comprehensiveness, random_sufficiency: (K,),
            the same averaged over n_random random orders (seeded).
        aopc_comprehensiveness, aopc_sufficiency (and random_*): mean over the fractions > 0 of
            the curve (area over the perturbation curve, DeYoung et al. 2020).
    """

    fractions: np.ndarray
    counts: np.ndarray
    full_score: float
    deletion: np.ndarray
    insertion: np.ndarray
    random_deletion: np.ndarray
    random_insertion: np.ndarray
    removal: str
    n_random: int
    method: str
    target: int
    target_label: str
    token_index: int | None
    score_kind: str

    @property
    def comprehensiveness(self) -> np.ndarray:
        return self.full_score - self.deletion

    @property
    def sufficiency(self) -> np.ndarray:
        return self.full_score - self.insertion

    @property
    def random_comprehensiveness(self) -> np.ndarray:
        return self.full_score - self.random_deletion

    @property
    def random_sufficiency(self) -> np.ndarray:
        return self.full_score - self.random_insertion

    def _aopc(self, curve: np.ndarray) -> float:
        return float(curve[self.fractions > 0].mean())

    @property
    def aopc_comprehensiveness(self) -> float:
        return self._aopc(self.comprehensiveness)

    @property
    def aopc_sufficiency(self) -> float:
        return self._aopc(self.sufficiency)

    @property
    def random_aopc_comprehensiveness(self) -> float:
        return self._aopc(self.random_comprehensiveness)

    @property
    def random_aopc_sufficiency(self) -> float:
        return self._aopc(self.random_sufficiency)


def faithfulness_curves(
    bundle: ModelBundle,
    attribution: Attribution,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    removal: str = "mask",
    n_random: int = 10,
    seed: int = 0,
    batch_size: int = 64,
) -> FaithfulnessCurves:
    """ERASER comprehensiveness / sufficiency curves of `attribution` and of random orders, batched.

    All rows (every fraction, deletion and insertion, the attribution's order and n_random random
    orders; identical rows once) are scored in batched forwards of `batch_size` rows without
    gradients.

    Args:
        bundle: the model the attribution was computed with.
        fractions: fractions of the content tokens to remove/keep; pass ERASER_FRACTIONS for
            the paper's bins (1, 5, 10, 20, 50 %).
        removal: "mask" or "pad" (see FaithfulnessCurves).
        n_random: random orders to average for the baseline curve; seed: their generator seed.

    >>> c = faithfulness_curves(bundle, attribute(bundle, "A gripping film."))
    >>> c.aopc_comprehensiveness > c.random_aopc_comprehensiveness
    True
    """
    check_option("removal", removal, REMOVALS)
    n_random = check_count("n_random", n_random, 0, 1000)
    batch_size = check_count("batch_size", batch_size, 1, 10_000)
    fr = np.asarray(fractions, dtype=np.float64)
    if fr.ndim != 1 or not np.any(fr > 0) or np.any((fr < 0) | (fr > 1)):
        raise InputError(_("fractions must be a list of numbers from 0 to 1, at least one above 0."))
    prep = _prepare_like(bundle, attribution)
    content = np.flatnonzero(~prep.special)
    counts = np.minimum(np.ceil(fr * len(content) - 1e-9).astype(np.int64), len(content))
    ranked = content[np.argsort(-attribution.scores[content], kind="stable")]
    rng = np.random.default_rng(seed)
    orders = [ranked] + [rng.permutation(content) for _draw in range(n_random)]
    ids, masks = _erasure_rows(prep, orders, counts, removal)
    T = prep.num_tokens
    unique, inverse = torch.unique(torch.cat([ids, masks], 1), dim=0, return_inverse=True)  # e.g. k = 0 rows
    unique_scores = prep.score_ids(unique[:, :T], unique[:, T:], batch_size=batch_size)
    scores = unique_scores[inverse.numpy()].reshape(len(orders), 2, len(counts))
    random = scores[1:].mean(0) if n_random else np.full((2, len(counts)), np.nan)
    return FaithfulnessCurves(
        fractions=_frozen(fr),
        counts=_frozen(counts),
        full_score=prep.target_score,
        deletion=_frozen(scores[0, 0]),
        insertion=_frozen(scores[0, 1]),
        random_deletion=_frozen(random[0]),
        random_insertion=_frozen(random[1]),
        removal=removal,
        n_random=n_random,
        method=attribution.method,
        target=prep.target,
        target_label=prep.target_label,
        token_index=prep.token_index,
        score_kind=prep.score_kind,
    )


def _prepare_like(bundle: ModelBundle, attribution: Attribution) -> Prepared:
    prep = prepare(bundle, attribution.text, attribution.text_pair, attribution.target, attribution.token_index, "prob")
    if prep.tokens != attribution.tokens:
        raise InputError(_("This attribution was computed with another tokenizer: recompute it with this model."))
    return prep


def _erasure_rows(prep: Prepared, orders: list[np.ndarray], counts: np.ndarray, removal: str):
    """Ids and attention masks, (len(orders) * 2 * K, T): per order, deletion rows then insertion rows."""
    tok = prep.bundle.tokenizer
    filler = tok.mask_token_id if removal == "mask" else tok.pad_token_id
    if filler is None:
        raise InputError(_("This tokenizer has no {token} token: choose the other removal.").format(
            token=f"[{removal.upper()}]"))
    T = prep.num_tokens
    content = ~prep.special
    removed = np.zeros((len(orders), 2, len(counts), T), dtype=bool)
    for o, order in enumerate(orders):
        for j, k in enumerate(counts):
            removed[o, 0, j, order[:k]] = True  # deletion: the top k go
            removed[o, 1, j] = content
            removed[o, 1, j, order[:k]] = False  # insertion: only the top k stay
    removed = torch.from_numpy(removed.reshape(-1, T))
    ids = torch.where(removed, torch.full_like(removed, filler, dtype=torch.long), prep.input_ids)
    mask = prep.attention_mask.expand(len(ids), -1)
    if removal == "pad":
        mask = torch.where(removed, torch.zeros_like(mask), mask)
    return ids, mask


@dataclass(frozen=True, eq=False)
class MethodComparison:
    """Per-token scores of several methods for the same target, and how they agree.

    Attributes:
        tokens: (T,). methods: method keys, (M,). names: display names, (M,).
        scores: (M, T). rank_correlation: Spearman's rho between methods over the non-special
            tokens, (M, M); NaN where a method gives every token the same score.
        attributions: the full Attribution of each method.
    """

    tokens: tuple[str, ...]
    methods: tuple[str, ...]
    names: tuple[str, ...]
    scores: np.ndarray
    rank_correlation: np.ndarray
    attributions: tuple[Attribution, ...]
    special: np.ndarray

    def table(self):
        """pandas DataFrame: one row per token, one column per method."""
        import pandas as pd

        return pd.DataFrame(self.scores.T, index=list(self.tokens), columns=list(self.names))


def compare_methods(
    bundle: ModelBundle,
    text: str,
    text_pair: str | None = None,
    methods: Sequence[str] = DEFAULT_COMPARED,
    target: int | str | None = None,
    token_index: int | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    score: str = "prob",
) -> MethodComparison:
    """Run several methods on one input and target and rank-correlate their token scores.

    Args:
        methods: keys of METHODS.
        options: per-method options, e.g. {"ig": {"n_steps": 100}, "lime": {"n_samples": 500}}.
        target, token_index, score: as in `attribute` (resolved once, shared by all methods).

    >>> cmp = compare_methods(bundle, "A gripping film.", methods=("ig", "occlusion"))
    >>> cmp.rank_correlation.shape
    (2, 2)
    """
    if not methods:
        raise InputError(_("Choose at least one method to compare."))
    options = dict(options or {})
    stray = sorted(set(options) - set(methods))
    if stray:
        raise InputError(_("Options given for methods not compared: {methods}.").format(methods=", ".join(stray)))
    specs = [method_spec(m) for m in methods]
    resolved = [s.resolve(options.get(s.key, {})) for s in specs]  # all checked before any work
    prep = prepare(bundle, text, text_pair, target, token_index, score)
    attributions = tuple(attribute_prepared(prep, s, o) for s, o in zip(specs, resolved))
    scores = np.stack([a.scores for a in attributions])
    return MethodComparison(
        tokens=prep.tokens,
        methods=tuple(s.key for s in specs),
        names=tuple(s.name for s in specs),
        scores=_frozen(scores),
        rank_correlation=_frozen(spearman(scores[:, ~prep.special])),
        attributions=attributions,
        special=_frozen(prep.special.copy()),
    )


def spearman(scores: np.ndarray) -> np.ndarray:
    """Spearman's rho between the rows of (M, N) scores (average ranks for ties), (M, M)."""
    ranks = np.stack([rankdata(row) for row in scores])
    centred = ranks - ranks.mean(1, keepdims=True)
    norms = np.sqrt((centred**2).sum(1))
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = (centred @ centred.T) / np.outer(norms, norms)
    return np.clip(rho, -1.0, 1.0)
