"""Per-row attributions over a whole data set, with any method of METHODS, merged to words.

    ev = evaluate(bundle, rows)
    da = dataset_attributions(bundle, rows, method="ig", evaluation=ev)       # adaptive IG by default
    da.words[i].words, da.words[i].scores   # row i, per word, toward da.targets[i]
    da.steps_histogram(), da.delta_summary() # steps used and the completeness deltas
    summary = word_summary(da, ev.y_true)    # explain.dataset.words: per-class words, shortcuts

Each row is explained toward its predicted class (`target="predicted"`, the default) or its gold
class (`target="gold"`). Rows are tokenized as the single-sentence pages do (model maximum).
Batched across rows: "ig" (explain.attribution.adaptive: per-row adaptive Gauss-Legendre steps,
doubling until the delta is under 1 %; the first 8 rows start at 4 steps, every later group of
rows at the median count of the rows before them (`warm_start`); or a fixed n_steps), "saliency" and "input_x_gradient" (one forward/backward per batch of rows).
The other methods (DeepLift, Occlusion, KernelSHAP, LIME) run `attribute` row by row (they batch
their own perturbations). Options are those of `attribute` (e.g. baseline, n_steps, n_samples).
Rows go in length buckets of about `group_rows`, in a seeded random order: progress(rows done,
total) is steady and `cancel` is checked between batches.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import torch

from explain.attribution.adaptive import START_STEPS, IGInput, Scorer, integrated_gradients_rows
from explain.attribution.core import SCORE_KINDS, check_option
from explain.attribution.methods import METHODS, attribute, method_spec
from explain.attribution.words import WordScores, merge_words
from explain.dataset.batching import encode_rows, length_batches
from explain.dataset.evaluate import Evaluation, check_classifier, evaluate
from explain.dataset.labels import LabelMatch
from explain.dataset.progress import Progress, Tracker
from explain.dataset.reader import Rows
from explain.errors import InputError
from explain.i18n import _
from explain.models.arch import embeddings_of
from explain.models.checkpoint import ModelBundle
from explain.run import _frozen

TARGETS = ("predicted", "gold")
BATCHED = ("ig", "saliency", "input_x_gradient")
GROUP_ROWS = 32
FIRST_GROUP = 8  # rows integrated from START_STEPS before the warm start applies
LENGTH_STEPS = (16, 48)  # token counts where `length_start` doubles the first step count


@dataclass(frozen=True, eq=False)
class DatasetAttributions:
    """One method's attributions for every row; per-row arrays in row order.

    Attributes:
        model_name, labels: the model and its classes. method, method_key, options: as in Attribution.
        rows: the rows. target_kind: "predicted" | "gold"; targets: explained class per row, (N,).
        tokens, scores, word_ids, special: per row, (T_i,) each (as in Attribution).
        words: per row, the scores summed per word (`merge_words`).
        f_x: target score per row, (N,); f_base: at the baseline (NaN for methods without one), (N,).
        delta: completeness delta per row (NaN for methods without one), (N,).
        steps: integration steps used per row (IG), else 0, (N,).
        converged: |delta| < 1 % of |f(x) - f(x')| (IG), else True, (N,).
        evaluations: interpolated rows run forward and backward (IG; 0 for the others).
        seconds: wall time.
    """

    model_name: str
    labels: tuple[str, ...]
    method: str
    method_key: str
    options: Mapping[str, Any]
    rows: Rows
    target_kind: str
    targets: np.ndarray
    tokens: tuple[tuple[str, ...], ...]
    scores: tuple[np.ndarray, ...]
    word_ids: tuple[np.ndarray, ...]
    special: tuple[np.ndarray, ...]
    words: tuple[WordScores, ...]
    f_x: np.ndarray
    f_base: np.ndarray
    delta: np.ndarray
    steps: np.ndarray
    converged: np.ndarray
    evaluations: int
    seconds: float

    def __len__(self) -> int:
        return len(self.targets)

    @property
    def relative_delta(self) -> np.ndarray:
        """|delta| / |f(x) - f(x')| per row (NaN without a delta; inf where f(x) = f(x') but delta != 0)."""
        gap = np.abs(self.f_x - self.f_base)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(gap > 0, np.abs(self.delta) / gap, np.where(np.abs(self.delta) > 0, np.inf, 0.0))

    def steps_histogram(self) -> dict[int, int]:
        """Steps used -> number of rows (IG)."""
        values, counts = np.unique(self.steps, return_counts=True)
        return {int(v): int(c) for v, c in zip(values, counts)}

    def delta_summary(self) -> dict[str, float]:
        """Quantiles of |delta| / |f(x) - f(x')| (median, 90 %, max), share of rows converged, mean steps."""
        rel = self.relative_delta[~np.isnan(self.delta)]
        if not len(rel):
            return {}
        return {"median": float(np.median(rel)), "p90": float(np.quantile(rel, 0.9)), "max": float(rel.max()),
                "converged": float(self.converged.mean()), "mean_steps": float(self.steps.mean())}


def dataset_attributions(
    bundle: ModelBundle,
    rows: Rows,
    method: str = "ig",
    target: str = "predicted",
    evaluation: Evaluation | None = None,
    label_map: Mapping[str, str | int] | None = None,
    match: LabelMatch | None = None,
    group_rows: int = GROUP_ROWS,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    seed: int = 0,
    start: str = "warm",
    quadrature: str = "gausslegendre",
    **options: Any,
) -> DatasetAttributions:
    """Attribute every row's target score to its tokens with `method` (see the module docstring).

    Args:
        evaluation: an `evaluate` result for these rows (its predictions are reused); else one is run.
        label_map, match: for the gold labels, as in `evaluate`.
        start: adaptive IG's first step count: "warm" (`warm_start`, learned from the rows before) or
            "length" (`length_start`, from the row's own length, so a row's result does not depend on
            the other rows: what the chunked and Ray engines use).
        quadrature: adaptive IG's rule: "gausslegendre" (explain.attribution.adaptive; every doubling
            recomputes all points) or "nested" (explain.attribution.nested: Clenshaw-Curtis, a doubling
            reuses the points it has).
        options: the method's options (`attribute`), plus score="prob" | "logit".

    Raises:
        InputError: not a sequence classifier, unknown method/option/target; LabelMismatch.
        Cancelled: `cancel` was set.
    """
    check_classifier(bundle)
    spec = method_spec(method)
    check_option("target", target, TARGETS)
    score = check_option("score", options.pop("score", "prob"), SCORE_KINDS)
    resolved = spec.resolve(options)
    began = time.perf_counter()
    if evaluation is None:
        evaluation = evaluate(bundle, rows, label_map=label_map, match=match, features=False, seed=seed)
    elif len(evaluation) != len(rows) or evaluation.rows.texts != rows.texts:
        raise InputError(_("The evaluation given is of other rows; evaluate these rows first."))
    targets = evaluation.y_pred if target == "predicted" else evaluation.y_true
    if method in BATCHED:
        check_option("start", start, ("warm", "length"))
        check_option("quadrature", quadrature, ("gausslegendre", "nested"))
        out = _batched(bundle, rows, method, targets, resolved, score, group_rows, progress, cancel, seed, start,
                       quadrature)
    else:
        out = _row_by_row(bundle, rows, method, targets, {**resolved, "score": score}, progress, cancel)
    tokens, scores, word_ids, special, f_x, f_base, delta, steps, converged, evaluations = out
    words = tuple(merge_words(s, w, t) for s, w, t in zip(scores, word_ids, tokens))
    return DatasetAttributions(
        model_name=bundle.name, labels=tuple(bundle.labels), method=spec.name, method_key=spec.key,
        options=MappingProxyType({**resolved, "score": score}), rows=rows, target_kind=target,
        targets=_frozen(np.asarray(targets)), tokens=tokens, scores=scores, word_ids=word_ids, special=special,
        words=words, f_x=_frozen(f_x), f_base=_frozen(f_base), delta=_frozen(delta), steps=_frozen(steps),
        converged=_frozen(converged), evaluations=evaluations, seconds=time.perf_counter() - began,
    )


def _batched(bundle, rows, method, targets, options, score, group_rows, progress, cancel, seed, start="warm",
             quadrature="gausslegendre"):
    enc = encode_rows(bundle, rows.texts, rows.pairs if rows.has_pairs else None)
    N = len(rows)
    scores: list = [None] * N
    f_x, f_base, delta = np.full(N, np.nan), np.full(N, np.nan), np.full(N, np.nan)
    steps, converged = np.zeros(N, dtype=np.int64), np.ones(N, dtype=bool)
    word_emb = embeddings_of(bundle.model).word_embeddings
    tracker = Tracker(N, progress, cancel)
    evaluations = 0
    groups = length_batches(enc.lengths, group_rows, 10**9, seed)
    if start == "warm" and groups and len(groups[0]) > FIRST_GROUP:  # learn the warm start from a few rows
        groups[:1] = [groups[0][::2][:FIRST_GROUP], np.setdiff1d(groups[0], groups[0][::2][:FIRST_GROUP])]
    for group in groups:
        tracker.check()
        with torch.no_grad():
            items = [_ig_input(bundle, enc, int(i), int(targets[i]), options.get("baseline"), word_emb)
                     for i in group]
        n_steps = None if options.get("n_steps") == "auto" else options.get("n_steps")
        first = warm_start(steps[steps > 0]) if start == "warm" else [length_start(len(it.x)) for it in items]
        if method == "ig" and quadrature == "nested" and n_steps is None:
            from explain.attribution.nested import integrated_gradients_nested

            results, used = integrated_gradients_nested(bundle, items, score, first,
                                                        on_batch=lambda _rows: tracker.check())
        elif method == "ig":
            results, used = integrated_gradients_rows(
                bundle, items, n_steps, score, options["integration"],
                start_steps=first,
                batch_rows=options["internal_batch_size"], on_batch=lambda _rows: tracker.check(),
            )
        if method == "ig":
            evaluations += used
            for i, r in zip(group, results):
                scores[i], f_x[i], f_base[i], delta[i] = _frozen(r.scores), r.f_x, r.f_base, r.delta
                steps[i], converged[i] = r.steps, r.converged
        else:
            for i, (s, f) in zip(group, _gradient_scores(bundle, items, score, method)):
                scores[i], f_x[i] = _frozen(s), f
        tracker.advance(len(group))
    tokens = tuple(tuple(bundle.tokenizer.convert_ids_to_tokens(ids.tolist())) for ids in enc.input_ids)
    return (tokens, tuple(scores), enc.word_ids, enc.special, f_x, f_base, delta, steps, converged, evaluations)


def length_start(tokens: int) -> int:
    """First step count from a row's length alone: START_STEPS up to LENGTH_STEPS[0] tokens, then doubled
    at each threshold of LENGTH_STEPS (longer rows need more steps to reach 1 %: measured on the shipped
    reviews, docs/notes/scale.md)."""
    return START_STEPS * 2 ** int(np.searchsorted(LENGTH_STEPS, tokens, side="right"))


def warm_start(used: np.ndarray) -> int:
    """First step count for the next group of rows: START_STEPS for the first group, then the median of
    the counts the rows before it needed (a power of two, as every count is). A row that needs fewer
    steps pays a few more than it would from 4; one that needs more skips the rounds it would fail."""
    return START_STEPS if len(used) == 0 else int(max(START_STEPS, 2 ** np.floor(np.log2(np.median(used)))))


def _ig_input(bundle, enc, i: int, target: int, baseline: str | None, word_emb) -> IGInput:
    device = word_emb.weight.device  # the model's device (a Ray GPU actor); numpy arrays are on the CPU
    ids = torch.from_numpy(enc.input_ids[i]).to(device)
    x = word_emb(ids)
    content = torch.from_numpy(~enc.special[i]).to(device)
    if baseline in (None, "zero"):
        xb = torch.where(content[:, None], torch.zeros_like(x), x)
    else:
        tok = bundle.tokenizer
        token_id = tok.pad_token_id if baseline == "pad" else tok.mask_token_id
        if token_id is None:
            raise InputError(_("This tokenizer has no [{kind}] token: choose another baseline.").format(
                kind=baseline.upper()))
        xb = word_emb(torch.where(content, torch.full_like(ids, token_id), ids))
    types = torch.from_numpy(enc.token_type_ids[i]).to(device) if bundle.arch.has_token_types else None
    return IGInput(x, xb, types, target)


def _gradient_scores(bundle, items: list[IGInput], score: str, method: str) -> list[tuple[np.ndarray, float]]:
    """Saliency (|gradient| summed over D) or input x gradient (signed sum) for a batch of rows, with f(x)."""
    scorer = Scorer(bundle, score)
    lengths = [it.x.shape[0] for it in items]
    T = max(lengths)
    embeds = torch.zeros(len(items), T, items[0].x.shape[1], dtype=items[0].x.dtype)
    mask = torch.zeros(len(items), T, dtype=torch.long)
    types = torch.zeros(len(items), T, dtype=torch.long)
    for s, it in enumerate(items):
        embeds[s, : lengths[s]] = it.x
        mask[s, : lengths[s]] = 1
        if it.token_type_ids is not None:
            types[s, : lengths[s]] = it.token_type_ids
    embeds.requires_grad_()
    targets = torch.tensor([it.target for it in items])
    f_x = scorer(embeds, mask, types, targets, torch.zeros(len(items), dtype=torch.long))
    (grad,) = torch.autograd.grad(f_x.sum(), embeds)
    per_dim = grad.abs() if method == "saliency" else grad * embeds.detach()
    f_x = f_x.detach()
    return [(per_dim[s, : lengths[s]].sum(-1).double().cpu().numpy(), float(f_x[s])) for s in range(len(items))]


def _row_by_row(bundle, rows, method, targets, options, progress, cancel):
    N = len(rows)
    tracker = Tracker(N, progress, cancel)
    out = []
    for i in range(N):
        tracker.check()
        out.append(attribute(bundle, rows.texts[i], rows.pairs[i], method=method, target=int(targets[i]), **options))
        tracker.advance(1)
    nan = np.full(N, np.nan)
    has_delta = METHODS[method].has_delta
    f_base = np.array([np.nan if a.baseline_score is None else a.baseline_score for a in out])
    return (
        tuple(a.tokens for a in out), tuple(a.scores for a in out), tuple(a.word_ids for a in out),
        tuple(a.special for a in out), np.array([a.target_score for a in out]), f_base,
        np.array([a.delta for a in out]) if has_delta else nan, np.zeros(N, dtype=np.int64),
        np.ones(N, dtype=bool), 0,
    )
