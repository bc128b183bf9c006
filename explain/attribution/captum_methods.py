"""The token attribution methods behind `explain.attribution.methods.attribute`, all Captum, all on one contract.

Each method takes a `Prepared` input plus its options and returns `Raw`: token scores (T,) and the
baseline it used (the caller scores f(x) and f(x') once and derives the convergence delta).
Gradient methods attribute the target score to the word-embedding output (`inputs_embeds`,
(1, T, D)) and sum each token's D values (signed). Perturbation methods switch whole features
(tokens or words) between the input and the baseline; their features are the dimensions of a
"presence" vector (1, F) of ones whose baseline is zeros, so Captum's perturbation code runs
unchanged, one feature per token or word with no feature mask needed, and no token id is averaged.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

import numpy as np
import torch
from captum._utils.models.model import Model
from captum.attr import DeepLift, InputXGradient, IntegratedGradients, KernelShap, Lime, Occlusion, Saliency
from captum.attr._core.lime import get_exp_kernel_similarity_function
from torch import nn

from explain.attribution.adaptive import IGInput, integrated_gradients_rows
from explain.attribution.core import Prepared, private_copy

# DeepLift announces on every call that it hooks modules; here it only ever hooks a private copy.
warnings.filterwarnings("ignore", message="Setting forward, backward hooks and attributes", category=UserWarning)


class Raw(NamedTuple):
    scores: np.ndarray  # (T,)
    baseline: str | None  # the baseline kind used, for f(baseline)
    chosen: Mapping[str, Any] = MappingProxyType({})  # options the method chose itself (auto values)
    steps: int | None = None  # integration steps used (Integrated Gradients)


def _token_sum(attr: torch.Tensor) -> np.ndarray:
    """(1, T, D) embedding-dim attributions -> (T,) token scores, summed (signed)."""
    return attr[0].sum(-1).detach().double().numpy()


BATCH_POSITIONS = 1600


def auto_batch(prep: Prepared, rows: int) -> int:
    """Rows per forward/backward batch: about 1,600 token positions (rows x T).

    Measured on MiniLM-L6 (2 CPU threads): per-row cost falls with batch size up to ~50 rows of 32
    tokens; a 1,600-position batch with gradients peaks near 300 MB at 32 tokens, 600 MB at 512.
    """
    return max(1, min(rows, BATCH_POSITIONS // prep.num_tokens))


# Gradient methods: hook-free, on the shared model.


def integrated_gradients(prep: Prepared, n_steps, baseline, internal_batch_size, integration) -> Raw:
    """Captum's IntegratedGradients with `n_steps`; with n_steps "auto" the adaptive count of
    `explain.attribution.adaptive` (4, 8, 16, ... until |delta| < 1 % of |f(x) - f(x')|, at most 256)."""
    x, xb = prep.embeddings, prep.baseline_embeddings(baseline)
    if n_steps == "auto":
        item = IGInput(x[0], xb[0], None if prep.token_type_ids is None else prep.token_type_ids[0],
                       prep.target, prep.token_index)
        (result,), _ = integrated_gradients_rows(
            prep.bundle, [item], None, prep.score_kind, integration, batch_rows=internal_batch_size
        )
        return Raw(result.scores, baseline, {"internal_batch_size": internal_batch_size}, result.steps)
    internal_batch_size = internal_batch_size or auto_batch(prep, n_steps)
    ig = IntegratedGradients(prep.score_embeddings, multiply_by_inputs=True)
    attr = ig.attribute(x, baselines=xb, n_steps=n_steps, method=integration, internal_batch_size=internal_batch_size)
    return Raw(_token_sum(attr), baseline, {"internal_batch_size": internal_batch_size}, n_steps)


def _leaf(x: torch.Tensor) -> torch.Tensor:
    """A copy that requires grad (Captum warns, and flips the flag itself, otherwise)."""
    return x.clone().requires_grad_()


def saliency(prep: Prepared) -> Raw:
    attr = Saliency(prep.score_embeddings).attribute(_leaf(prep.embeddings), abs=True)
    return Raw(_token_sum(attr), None)


def input_x_gradient(prep: Prepared) -> Raw:
    attr = InputXGradient(prep.score_embeddings).attribute(_leaf(prep.embeddings))
    return Raw(_token_sum(attr), None)


class _ScoreModule(nn.Module):
    """inputs_embeds (B, T, D) -> target score (B,), as a module (Captum's DeepLift needs one)."""

    def __init__(self, model: nn.Module, prep: Prepared):
        super().__init__()
        self.model = model
        self.prep = prep

    def forward(self, embeds: torch.Tensor) -> torch.Tensor:
        return self.prep.score_embeddings(embeds, model=self.model)


def deeplift(prep: Prepared, baseline) -> Raw:
    x, xb = prep.embeddings, prep.baseline_embeddings(baseline)
    with private_copy(prep.bundle.model) as twin:  # DeepLift hooks every module it knows
        attr = DeepLift(_ScoreModule(twin, prep), multiply_by_inputs=True).attribute(_leaf(x), baselines=xb)
    return Raw(_token_sum(attr), baseline)


# Perturbation methods: features switched between input and baseline, in batched forwards.


class _Presence:
    """Maps a presence vector (B, F) in {0, 1} to word embeddings (B, T, D) and target scores (B,)."""

    def __init__(self, prep: Prepared, baseline: str, features: str):
        self.prep = prep
        self.groups = prep.content_groups(features)
        self.x, self.xb = prep.embeddings, prep.baseline_embeddings(baseline)
        self.content = torch.tensor([i for group in self.groups for i in group])  # the tokens switched
        self.feature_of_content = torch.tensor([f for f, group in enumerate(self.groups) for _ in group])

    @property
    def num_features(self) -> int:
        return len(self.groups)

    def ones(self) -> torch.Tensor:
        return torch.ones(1, self.num_features, dtype=self.x.dtype)

    def embeds(self, presence: torch.Tensor) -> torch.Tensor:
        gate = torch.ones(presence.shape[0], self.prep.num_tokens, dtype=self.x.dtype)
        gate[:, self.content] = presence[:, self.feature_of_content].to(self.x.dtype)
        return self.xb + gate.unsqueeze(-1) * (self.x - self.xb)

    def __call__(self, presence: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.prep.score_embeddings(self.embeds(presence))

    def to_tokens(self, coefs: torch.Tensor) -> np.ndarray:
        """Feature scores (F,) -> token scores (T,): a word's score is split evenly over its pieces."""
        coefs = coefs.reshape(-1).detach().double().numpy()
        scores = np.zeros(self.prep.num_tokens)
        for f, group in enumerate(self.groups):
            scores[group] = coefs[f] / len(group)
        return scores


def occlusion(prep: Prepared, baseline, features, batch_size) -> Raw:
    presence = _Presence(prep, baseline, features)
    attr = Occlusion(presence).attribute(
        presence.ones(), sliding_window_shapes=(1,), strides=1, baselines=0.0, perturbations_per_eval=batch_size
    )
    return Raw(presence.to_tokens(attr), baseline)


class _LeastSquares(Model):
    """Weighted ridge regression with an unpenalised intercept, solved in closed form in float64.

    Deterministic and free of scikit-learn (Captum's default surrogates need it).
    """

    def __init__(self, alpha: float = 0.0):
        self.alpha = alpha
        self.coef = np.zeros(0)
        self.intercept = 0.0

    def fit(self, train_data, **kwargs):
        xs, ys, ws = zip(*train_data)
        X = torch.cat(xs).double().numpy()
        y = torch.cat(ys).double().numpy().reshape(-1)
        w = torch.cat(ws).double().numpy().reshape(-1)
        design = np.hstack([X, np.ones((len(X), 1))]) * np.sqrt(w)[:, None]
        target = y * np.sqrt(w)
        if self.alpha > 0:
            penalty = np.sqrt(self.alpha) * np.eye(X.shape[1], X.shape[1] + 1)
            design = np.vstack([design, penalty])
            target = np.concatenate([target, np.zeros(X.shape[1])])
        solution = np.linalg.lstsq(design, target, rcond=None)[0]
        self.coef, self.intercept = solution[:-1], float(solution[-1])
        return {}

    def representation(self) -> torch.Tensor:
        return torch.from_numpy(self.coef).reshape(1, -1)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return x.double() @ torch.from_numpy(self.coef) + self.intercept


class _SeededKernelShap(KernelShap):
    """Captum's KernelShap with its coalitions drawn from a private generator (the global torch RNG
    is shared by all threads) and a closed-form least-squares surrogate."""

    def __init__(self, forward_func, seed: int):
        Lime.__init__(
            self,
            forward_func,
            interpretable_model=_LeastSquares(),
            similarity_func=self.kernel_shap_similarity_kernel,
            perturb_func=self.kernel_shap_perturb_generator,
        )
        self.inf_weight = 1_000_000.0
        self.generator = torch.Generator().manual_seed(seed)

    def kernel_shap_perturb_generator(self, original_inp, **kwargs):
        """Captum's sampling: both end points, then k ~ p(k) = (M-1)/(k(M-k)) and k features at random."""
        num_features = int(kwargs["num_interp_features"])
        probs = kwargs["num_select_distribution"].probs
        yield torch.ones(1, num_features, dtype=torch.long)
        yield torch.zeros(1, num_features, dtype=torch.long)
        while True:
            k = int(torch.multinomial(probs, 1, generator=self.generator))
            sample = torch.zeros(1, num_features, dtype=torch.long)
            sample[0, torch.randperm(num_features, generator=self.generator)[:k]] = 1
            yield sample


def kernel_shap(prep: Prepared, baseline, features, n_samples, seed, batch_size) -> Raw:
    presence = _Presence(prep, baseline, features)
    ones = presence.ones()
    if presence.num_features == 1:  # one player: its Shapley value is the whole difference
        coefs = presence(ones) - presence(torch.zeros_like(ones))
    else:
        coefs = _SeededKernelShap(presence, seed).attribute(
            ones, baselines=0.0, n_samples=n_samples, perturbations_per_eval=batch_size, return_input_shape=False
        )
    return Raw(presence.to_tokens(coefs), baseline)


def lime(prep: Prepared, baseline, features, n_samples, seed, batch_size, kernel_width, alpha) -> Raw:
    presence = _Presence(prep, baseline, features)
    generator = torch.Generator().manual_seed(seed)
    half = torch.full((1, presence.num_features), 0.5)

    def perturb(original_inp, **kwargs):
        return torch.bernoulli(half, generator=generator).long()

    surrogate = Lime(
        presence,
        interpretable_model=_LeastSquares(alpha),
        similarity_func=get_exp_kernel_similarity_function("cosine", kernel_width),
        perturb_func=perturb,
    )
    coefs = surrogate.attribute(
        presence.ones(), baselines=0.0, n_samples=n_samples, perturbations_per_eval=batch_size, return_input_shape=False
    )
    return Raw(presence.to_tokens(coefs), baseline)
