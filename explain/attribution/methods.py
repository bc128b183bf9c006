"""Which tokens made a BERT-family classifier give its score: Captum attributions on one contract.

Every method returns the same `Attribution`; `METHODS` lists them with their capabilities.
Shape glossary: T tokens (special tokens included), D embedding size, L layers, H heads, W words.

Thread safety: a bundle's model is shared by every session and thread. Gradient methods run it
hook-free, differentiating with respect to `inputs_embeds` (the word-embedding output; position and
token-type embeddings are added by the model itself). Methods that must hook (DeepLift, layer
Integrated Gradients, head gates) work on a private copy of the model's modules that shares the
frozen weight tensors (5 ms for MiniLM-L6, against 20 ms for a full deepcopy), so their hooks
cannot fire elsewhere.
KernelSHAP and LIME draw their samples from a private seeded generator, never the global RNG.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
from captum.attr._utils.approximation_methods import SUPPORTED_METHODS as INTEGRATIONS

from explain.attribution import captum_methods as impl
from explain.attribution.core import BASELINES, FEATURES, Prepared, check_count, check_option, prepare
from explain.attribution.layers import LayerAttribution, head_importance, layer_attributions, score_with_head_gates
from explain.errors import InputError
from explain.i18n import N_, _
from explain.models.checkpoint import ModelBundle
from explain.run import _frozen
from explain.settings import check_ig_steps, check_samples, current_settings

__all__ = [
    "METHODS",
    "Attribution",
    "LayerAttribution",
    "Method",
    "attribute",
    "head_importance",
    "layer_attributions",
    "score_with_head_gates",
]


@dataclass(frozen=True, eq=False)
class Attribution:
    """Token scores of one method for one target, on CPU, read-only. Every method returns this.

    Attributes:
        tokens: WordPiece tokens, (T,).
        scores: signed contribution of each token to the target score, (T,); positive = for the target.
        method: display name ("Integrated Gradients"); method_key: its key in METHODS ("ig").
        target: explained class index; target_label: its name.
        token_index: the explained token for token classification, else None.
        delta: convergence delta, sum(scores) - (target_score - baseline_score), for methods that
            have one (Integrated Gradients, DeepLift), else None.
        n_steps: integration steps used (Integrated Gradients; with n_steps="auto", the adaptive
            count), else None.
        target_score: f(x), the target's probability (score_kind "prob": softmax, or sigmoid for a
            multi-label head) or raw logit (score_kind "logit"; always so for a one-output head).
        baseline_score: f(x') for the baseline input, for methods that use one, else None.
        options: every option the method ran with, defaults included.
        text, text_pair: the input; word_ids: word of each token, -1 for specials, (T,);
        special: True at [CLS]/[SEP]-like tokens, (T,).
    """

    tokens: tuple[str, ...]
    scores: np.ndarray
    method: str
    method_key: str
    target: int
    target_label: str
    token_index: int | None
    delta: float | None
    target_score: float
    baseline_score: float | None
    score_kind: str
    options: Mapping[str, Any]
    text: str
    text_pair: str | None
    word_ids: np.ndarray
    special: np.ndarray
    n_steps: int | None = None

    @property
    def num_tokens(self) -> int:
        return len(self.tokens)


@dataclass(frozen=True)
class Method:
    """One attribution method: key, display name, function, defaults and capabilities.

    Attributes:
        has_delta: its scores should add up to f(x) - f(baseline) (completeness), so results
            report the convergence delta sum(scores) - (f(x) - f(baseline)).
        needs_baseline: compares the input with a baseline input (option `baseline`).
        uses_hooks: registers hooks, so it runs on a private copy of the model's modules.
        kind: "gradient" (one backward, or an integral of them) or "perturbation" (many forwards).
    """

    key: str
    name: str
    fn: Callable[..., impl.Raw]
    defaults: Mapping[str, Any]
    has_delta: bool
    needs_baseline: bool
    uses_hooks: bool
    kind: str
    reference: str

    def resolve(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """Defaults overridden by `options`, each checked; an unknown option raises InputError.

        Defaults above this server's limits (explain.settings) are lowered to them; options given
        above them raise InputError.
        """
        unknown = sorted(set(options) - set(self.defaults))
        if unknown:
            allowed = ", ".join(self.defaults) or _("none")
            raise InputError(_("{method} does not take {options}; its options are: {allowed}.").format(
                method=_(self.name), options=", ".join(unknown), allowed=allowed))
        settings = current_settings()
        defaults = dict(self.defaults)
        for name, limit in (("n_steps", settings.max_ig_steps), ("n_samples", settings.max_samples)):
            if name in defaults and limit is not None and isinstance(defaults[name], int):  # not "auto"
                defaults[name] = min(defaults[name], limit)
        resolved = {k: _OPTION_CHECKS[k](v) for k, v in {**defaults, **options}.items()}
        if isinstance(resolved.get("n_steps"), int):  # "auto" stops at the limit by itself (adaptive.py)
            check_ig_steps(resolved["n_steps"])
        if "n_samples" in resolved:
            check_samples(resolved["n_samples"])
        return resolved


def _number(name: str, positive: bool):
    def check(value):
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not number or value < 0 or (positive and value == 0):
            message = _("{name} must be a positive number; got {value}.") if positive else _(
                "{name} must be a non-negative number; got {value}.")
            raise InputError(message.format(name=name, value=repr(value)))
        return float(value)

    return check


def _choice(name: str, allowed):
    return lambda value: check_option(name, value, allowed)


def _count(name: str, low: int, high: int, optional: bool = False):
    return lambda value: None if optional and value is None else check_count(name, value, low, high)


def _steps(value):
    """n_steps: a whole number, or "auto" (None means "auto") for the adaptive count."""
    return "auto" if value in (None, "auto") else check_count("n_steps", value, 1, 1000)


_OPTION_CHECKS: Mapping[str, Callable[[Any], Any]] = {
    "n_steps": _steps,
    "internal_batch_size": _count("internal_batch_size", 1, 10_000, optional=True),
    "integration": _choice("integration", INTEGRATIONS),
    "baseline": _choice("baseline", BASELINES),
    "features": _choice("features", FEATURES),
    "n_samples": _count("n_samples", 10, 20_000),
    "seed": _count("seed", 0, 2**63 - 1),
    "batch_size": _count("batch_size", 1, 10_000),
    "kernel_width": _number("kernel_width", positive=True),
    "alpha": _number("alpha", positive=False),
}
_PERTURB = {"baseline": "pad", "features": "token", "batch_size": 64}
_GRADIENT = {"uses_hooks": False, "kind": "gradient"}
_PERTURBATION = {"has_delta": False, "needs_baseline": True, "uses_hooks": False, "kind": "perturbation"}

METHODS: Mapping[str, Method] = MappingProxyType(
    {
        m.key: m
        for m in (
            Method(
                key="ig",
                name=N_("Integrated Gradients"),
                fn=impl.integrated_gradients,
                defaults=MappingProxyType(
                    {"n_steps": "auto", "baseline": "pad", "internal_batch_size": None, "integration": "gausslegendre"}
                ),
                has_delta=True,
                needs_baseline=True,
                reference=N_("Sundararajan, Taly & Yan 2017, Axiomatic Attribution for Deep Networks"),
                **_GRADIENT,
            ),
            Method(
                key="saliency",
                name=N_("Saliency"),
                fn=impl.saliency,
                defaults=MappingProxyType({}),
                has_delta=False,
                needs_baseline=False,
                reference=N_("Simonyan, Vedaldi & Zisserman 2014 (|gradient|, so scores are never negative)"),
                **_GRADIENT,
            ),
            Method(
                key="input_x_gradient",
                name=N_("Input x Gradient"),
                fn=impl.input_x_gradient,
                defaults=MappingProxyType({}),
                has_delta=False,
                needs_baseline=False,
                reference=N_("Shrikumar et al. 2016, Not Just a Black Box"),
                **_GRADIENT,
            ),
            Method(
                key="deeplift",
                name=N_("DeepLift"),
                fn=impl.deeplift,
                defaults=MappingProxyType({"baseline": "pad"}),
                has_delta=True,
                needs_baseline=True,
                uses_hooks=True,
                kind="gradient",
                reference=N_("Shrikumar, Greenside & Kundaje 2017 (Captum's rules; see attribute())"),
            ),
            Method(
                key="occlusion",
                name=N_("Occlusion"),
                fn=impl.occlusion,
                defaults=MappingProxyType(dict(_PERTURB)),
                reference=N_("Zeiler & Fergus 2014 (one token or word replaced at a time)"),
                **_PERTURBATION,
            ),
            Method(
                key="kernel_shap",
                name="KernelSHAP",
                fn=impl.kernel_shap,
                defaults=MappingProxyType({**_PERTURB, "n_samples": 256, "seed": 0}),
                reference=N_("Lundberg & Lee 2017, A Unified Approach to Interpreting Model Predictions"),
                **_PERTURBATION,
            ),
            Method(
                key="lime",
                name="LIME",
                fn=impl.lime,
                defaults=MappingProxyType(
                    {**_PERTURB, "n_samples": 256, "seed": 0, "kernel_width": 0.25, "alpha": 1.0}
                ),
                reference=N_('Ribeiro, Singh & Guestrin 2016, "Why Should I Trust You?"'),
                **_PERTURBATION,
            ),
        )
    }
)


def attribute(
    bundle: ModelBundle,
    text: str,
    text_pair: str | None = None,
    method: str = "ig",
    target: int | str | None = None,
    token_index: int | None = None,
    **options: Any,
) -> Attribution:
    """Attribute a classifier's target score to the input tokens with one of METHODS.

    Args:
        bundle: a sequence- or token-classification ModelBundle (shared; never modified).
        text, text_pair: the input (pair for NLI-style heads); truncated like `run_model`.
        method: a key of METHODS:
            "ig": Integrated Gradients on the word embeddings, straight path from a baseline.
                Options: n_steps="auto" (4, 8, 16, ... Gauss-Legendre steps until the convergence
                delta is under 1 % of |f(x) - f(x')|, at most 256; `Attribution.n_steps` says how
                many were used; see explain.attribution.adaptive) or a fixed count (Captum's
                IntegratedGradients), baseline="pad" | "mask" | "zero" (every non-special token
                replaced by [PAD], [MASK] or the zero vector; [CLS]/[SEP] kept, so they score 0),
                internal_batch_size (rows per forward/backward; default about 1,600 token
                positions per batch), integration="gausslegendre" (or Captum's riemann_*).
            "saliency": |d score / d embedding| summed over D (Simonyan et al. 2014); never negative.
            "input_x_gradient": embedding * gradient, summed over D (signed).
            "deeplift": Captum's DeepLift (Rescale) from `baseline`, on a private copy. Captum has
                rules for ReLU/ELU/Sigmoid/Tanh/Softmax modules only: BERT's GELU (a transformers
                GELUActivation), its attention softmax (a function call, not a module) and
                LayerNorm are passed with plain gradients, and the query-key product has no
                DeepLift rule. On BERT this is Rescale at the pooler's tanh and gradient x
                difference elsewhere, so it is not complete: read `delta`.
            "occlusion": f(x) - f(x with one token replaced by the baseline token), one at a time.
            "kernel_shap": KernelSHAP (Lundberg & Lee 2017) with n_samples=256 coalitions, seed=0.
            "lime": LIME (Ribeiro et al. 2016), n_samples=256, seed=0, weights
                exp(-d^2 / (2 kernel_width^2)) of the cosine distance d with kernel_width=0.25 and a
                ridge surrogate with alpha=1.0: the defaults of the `lime` package's text explainer.
            Perturbation methods also take baseline, features="token" | "word" (one feature per
            WordPiece token, or per word via the tokenizer's word ids; a word's score is split
            evenly over its pieces, so `merge_words` gives it back) and batch_size=64.
        target: class index or label to explain; the predicted class by default.
        token_index: for token classification, the token whose label is explained (default the
            first non-special token).
        options: the method's options above, plus score="prob" | "logit" for every method.

    Returns:
        Attribution with scores (T,).

    Raises:
        InputError: empty text, a model without a classification head, an unknown method,
            option, target or token index.

    >>> a = attribute(bundle, "A gripping, beautifully shot film.", method="ig")
    >>> a.scores.shape, abs(a.delta) < 0.01 * abs(a.target_score - a.baseline_score)
    ((9,), True)
    >>> a.n_steps in (4, 8, 16, 32, 64, 128, 256)  # the steps the adaptive count used
    True
    """
    spec = method_spec(method)
    score = options.pop("score", "prob")
    resolved = spec.resolve(options)
    prep = prepare(bundle, text, text_pair, target, token_index, score)
    return attribute_prepared(prep, spec, resolved)


def method_spec(method: str) -> Method:
    if method not in METHODS:
        raise InputError(_("Unknown attribution method {method}; choose one of: {known}.").format(
            method=repr(method), known=", ".join(METHODS)))
    return METHODS[method]


def attribute_prepared(prep: Prepared, spec: Method, options: Mapping[str, Any]) -> Attribution:
    """Run `spec` on an already prepared input (options already resolved)."""
    raw = spec.fn(prep, **options)
    f_x = prep.target_score
    f_base = float(prep.score_rows(prep.baseline_embeddings(raw.baseline))[0]) if raw.baseline else None
    scores = np.asarray(raw.scores, dtype=np.float64)
    used = {**options, **raw.chosen, "score": prep.score_kind}
    return Attribution(
        tokens=prep.tokens,
        scores=_frozen(scores),
        method=spec.name,
        method_key=spec.key,
        target=prep.target,
        target_label=prep.target_label,
        token_index=prep.token_index,
        delta=float(scores.sum() - (f_x - f_base)) if spec.has_delta else None,
        target_score=f_x,
        baseline_score=f_base,
        score_kind=prep.score_kind,
        options=MappingProxyType(used),
        text=prep.text,
        text_pair=prep.text_pair,
        word_ids=_frozen(prep.word_ids.copy()),
        special=_frozen(prep.special.copy()),
        n_steps=raw.steps,
    )
