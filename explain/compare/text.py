"""Compare models A and B on one text: attention per head, hidden states per layer, predictions, attributions.

Shape glossary: T tokens (the same for A and B, since they share a tokenizer), L layers, H heads,
D hidden size, C classes. Layer k of the hidden states is the embedding output for k = 0 and the
output of encoder layer k - 1 otherwise (so hidden state k is the input of layer k).

Built on `explain.run.run_model` (one forward pass per model) and
`explain.attribution.methods.attribute`. Kovaleva et al. 2019 ("Revealing the Dark Secrets of BERT")
and Merchant et al. 2020 ("What Happens To BERT Embeddings During Fine-tuning?") compare a model with
its fine-tuned version in the same terms: per-head attention change and per-layer similarity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from explain.compare.compat import Compatibility, check_compatible
from explain.compare.metrics import cka_matrix, cosine_rows, head_js, spearman
from explain.errors import InputError
from explain.i18n import _
from explain.models.checkpoint import ModelBundle
from explain.run import ModelRun, _frozen, run_model

if TYPE_CHECKING:  # Captum is imported only when attributions are asked for
    from explain.attribution.methods import Attribution

CLASSIFICATION_TASKS = ("sequence-classification", "token-classification")


@dataclass(frozen=True, eq=False)
class Prediction:
    """A classifier's output on one text.

    Attributes:
        labels: class names in logit order, (C,).
        probs: softmax probabilities, (C,) for sequence classification or (T, C) per token.
        task: "sequence-classification" or "token-classification".
    """

    labels: tuple[str, ...]
    probs: np.ndarray
    task: str

    @property
    def predicted(self) -> np.ndarray:
        """Index of the most probable class: a 0-d array, or (T,) per token."""
        return np.argmax(self.probs, axis=-1)

    @property
    def label(self) -> str:
        """The predicted class name (sequence classification) or the first token's (token classification)."""
        return self.labels[int(np.ravel(self.predicted)[0])]


def prediction_of(bundle: ModelBundle, run: ModelRun) -> Prediction | None:
    """The classifier's probabilities from the run's logits, or None when the model has no classification head."""
    if run.head_logits is None or bundle.task not in CLASSIFICATION_TASKS:
        return None
    z = np.asarray(run.head_logits, dtype=np.float64)
    e = np.exp(z - z.max(-1, keepdims=True))
    labels = bundle.labels or tuple(f"LABEL_{i}" for i in range(z.shape[-1]))
    return Prediction(labels=labels, probs=_frozen(e / e.sum(-1, keepdims=True)), task=bundle.task)


@dataclass(frozen=True, eq=False)
class TextComparison:
    """A and B on one text. Arrays are read-only; None where the shapes do not allow it (see compat).

    Attributes:
        run_a, run_b: the two forward passes (attentions (L, H, T, T), hidden states (L + 1, T, D)).
        compat: the models' shapes and what they allow.
        js_tokens: Jensen-Shannon divergence in bits, base 2, in [0, 1], between A's and B's attention
            rows, per layer, head and query token, (L, H, T).
        js: js_tokens averaged over the query tokens (special tokens included), (L, H).
        cosine: cosine similarity of each token's hidden state in A and B, (L + 1, T).
        cka_matrix: linear CKA (Kornblith et al. 2019) between A's hidden state i and B's hidden state j
            over the T tokens, (La + 1, Lb + 1).
        prediction_a, prediction_b: each model's classifier output, None without a classification head.
    """

    run_a: ModelRun
    run_b: ModelRun
    compat: Compatibility
    js_tokens: np.ndarray | None
    js: np.ndarray | None
    cosine: np.ndarray | None
    cka_matrix: np.ndarray
    prediction_a: Prediction | None
    prediction_b: Prediction | None

    @property
    def tokens(self) -> tuple[str, ...]:
        return self.run_a.tokens

    @property
    def cka(self) -> np.ndarray | None:
        """CKA between hidden state k of A and hidden state k of B, (L + 1,); None when depths differ."""
        return np.diagonal(self.cka_matrix).copy() if self.compat.same_layers else None

    @property
    def cosine_mean(self) -> np.ndarray | None:
        """Mean cosine over the tokens, per hidden state, (L + 1,)."""
        return None if self.cosine is None else np.nanmean(self.cosine, axis=1)

    def attention_difference(self, layer: int, head: int) -> np.ndarray:
        """A's attention minus B's for one head, (T, T); rows sum to 0."""
        if not self.compat.same_heads:
            raise InputError(_("A and B have different numbers of layers or heads: no per-head difference."))
        return self.run_a.attentions[layer, head] - self.run_b.attentions[layer, head]

    def top_heads(self, k: int = 10) -> list[tuple[int, int, float]]:
        """The k heads whose attention changed most, as (layer, head, JS), largest first."""
        return top_heads(self.js, k)

    @property
    def same_labels(self) -> bool:
        pa, pb = self.prediction_a, self.prediction_b
        return pa is not None and pb is not None and pa.labels == pb.labels and pa.task == pb.task


def top_heads(js: np.ndarray | None, k: int = 10) -> list[tuple[int, int, float]]:
    """(layer, head, value) of the k largest entries of an (L, H) grid, largest first (ties: lower layer first)."""
    if js is None:
        return []
    flat = np.asarray(js).ravel()
    order = np.argsort(-flat, kind="stable")[:k]
    H = js.shape[1]
    return [(int(i // H), int(i % H), float(flat[i])) for i in order]


def compare_text(
    a: ModelBundle,
    b: ModelBundle,
    text: str,
    text_pair: str | None = None,
    *,
    compat: Compatibility | None = None,
    run_a: ModelRun | None = None,
    run_b: ModelRun | None = None,
) -> TextComparison:
    """Compare A and B on one text (pair): attention per head, hidden states per layer, predictions.

    `compat` (from `check_compatible`) and the two runs (from `run_model`) can be given when already
    at hand (the app caches them); otherwise they are computed here: one forward pass per model.

    Raises:
        InputError: A and B do not share a tokenizer; the text is empty; the models truncate it to
            different lengths.

    >>> c = compare_text(load_model(SENTIMENT), load_model(DEFAULT_MODEL), "A gripping film.")
    >>> c.js.shape, float(c.js[:4].max())  # layers 0-3 were not adapted
    ((6, 12), 0.0)
    """
    compat = compat or check_compatible(a, b)
    run_a = run_a or run_model(a, text, text_pair)
    run_b = run_b or run_model(b, text, text_pair)
    if not np.array_equal(run_a.input_ids, run_b.input_ids):
        raise InputError(
            _("A reads at most {na} tokens and B {nb}, so they see different inputs: shorten the text to {n} tokens.")
            .format(na=a.max_tokens, nb=b.max_tokens, n=min(a.max_tokens, b.max_tokens))
        )
    js_tokens = js = cosine = None
    if compat.same_heads:
        js_tokens = head_js(run_a.attentions, run_b.attentions)
        js = js_tokens.mean(-1)
    if compat.same_width:
        cosine = cosine_rows(run_a.hidden_states, run_b.hidden_states)
    return TextComparison(
        run_a=run_a,
        run_b=run_b,
        compat=compat,
        js_tokens=None if js_tokens is None else _frozen(js_tokens),
        js=None if js is None else _frozen(js),
        cosine=None if cosine is None else _frozen(cosine),
        cka_matrix=_frozen(cka_matrix(run_a.hidden_states, run_b.hidden_states)),
        prediction_a=prediction_of(a, run_a),
        prediction_b=prediction_of(b, run_b),
    )


@dataclass(frozen=True, eq=False)
class AttributionComparison:
    """The same attribution method on A and B, and how alike their token rankings are.

    Attributes:
        a, b: the two `Attribution`s (scores (T,) each).
        spearman: Spearman rank correlation of the scores over the non-special tokens (nan when fewer
            than 2 or when one side is constant).
        same_target: both explain the same class (same label set); else each explains its own prediction.
    """

    a: Attribution
    b: Attribution
    spearman: float
    same_target: bool

    @property
    def content(self) -> np.ndarray:
        """Positions of the tokens the correlation is computed on (non-special), (K,)."""
        return np.flatnonzero(~np.asarray(self.a.special))


def compare_attributions(
    a: ModelBundle,
    b: ModelBundle,
    text: str,
    text_pair: str | None = None,
    method: str = "ig",
    target: str | None = None,
    token_index: int | None = None,
    **options,
) -> AttributionComparison:
    """Attribute A's and B's scores with the same method and options, and rank-correlate the token scores.

    With the same label set, both explain `target` (a class name; default A's predicted class).
    With different label sets, each explains its own predicted class (`same_target` is False).

    Raises:
        InputError: a model has no classification head, or they have different kinds of heads.
    """
    from explain.attribution.methods import attribute

    for name, bundle in ((_("A"), a), (_("B"), b)):
        if bundle.task not in CLASSIFICATION_TASKS:
            raise InputError(
                _("{which} ({name}) has no classification head, so it has no score to attribute.").format(
                    which=name, name=_(bundle.name))
            )
    if a.task != b.task:
        raise InputError(_("A has a {ta} head and B a {tb} head: attributions need the same kind.").format(
            ta=a.task, tb=b.task))
    same = tuple(a.labels) == tuple(b.labels)
    attr_a = attribute(a, text, text_pair, method=method, target=target, token_index=token_index, **options)
    target_b = attr_a.target_label if same else None
    attr_b = attribute(b, text, text_pair, method=method, target=target_b, token_index=token_index, **options)
    content = ~np.asarray(attr_a.special)
    rho = spearman(attr_a.scores[content], attr_b.scores[content])
    return AttributionComparison(a=attr_a, b=attr_b, spearman=rho, same_target=same)
