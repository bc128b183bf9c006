"""Feed-forward neurons (Geva et al., EMNLP 2021, "Transformer Feed-Forward Layers Are Key-Value Memories").

A layer's feed-forward block is FFN(a) = W_out act(W_in a + b_in) + b_out; neuron j of the layer is row j
of W_in (its key) and column j of W_out (its value). Its activation on a token is act(W_in a + b_in)_j.

- `ffn_activations`: the activations of every layer for the run on screen, recomputed from the run's
  hidden states through each layer's own attention and intermediate modules (pure: no hook, the shared
  model is only called). (L, T, d_ff).
- `neuron_view`: for one layer, the top neurons of each token and the top tokens of each chosen neuron.
- `nmf_factors`: Ecco's view: non-negative matrix factorisation of a layer's activations over the tokens
  (negative GELU outputs, at most 0.17 in size, are clipped to 0, as Ecco does), A ~ W H with W (T, k)
  the factor weight of each token (the coloured text) and H (k, d_ff); the reconstruction error is
  ||A - W H||_F, also relative to ||A||_F.
- `neuron_vocabulary`: what a neuron writes: its column of W_out through the model's MLM head, the top
  tokens of the vocabulary (where the model has an MLM head).
- `class_neurons`: over a data set's rows, the neurons with the highest mean activation per class (or its
  contrast with the other classes), and each row's mean activation of those neurons.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from explain.errors import InputError
from explain.i18n import _
from explain.models.arch import encoder_of, layers_of, mlm_head_of
from explain.models.checkpoint import ModelBundle
from explain.run import ModelRun


class _ReadOnly:
    """Makes every numpy array field of a frozen dataclass read-only (a view, so no copy)."""

    def __post_init__(self):
        for name, value in vars(self).items():
            if isinstance(value, np.ndarray):
                value = value.view()
                value.setflags(write=False)
                object.__setattr__(self, name, value)


@dataclass(frozen=True)
class FFNActivations(_ReadOnly):
    """activations: (len(layers), T, d_ff) float32, the feed-forward activations of `layers` for `tokens`."""

    tokens: tuple[str, ...]
    activations: np.ndarray
    special: np.ndarray
    layers: tuple[int, ...]

    def of_layer(self, layer: int) -> np.ndarray:
        """(T, d_ff) activations of one computed layer; InputError for a layer not computed."""
        if layer not in self.layers:
            raise InputError(_("Layer {layer} does not exist: the model has layers 0 to {last}.").format(
                layer=layer, last=max(self.layers)) if not 0 <= layer <= max(self.layers) else
                _("The activations of layer {layer} were not computed.").format(layer=layer))
        return self.activations[self.layers.index(layer)]

    @property
    def num_neurons(self) -> int:
        return self.activations.shape[2]


@dataclass(frozen=True)
class NeuronView(_ReadOnly):
    """One layer: top_neurons / top_values (T, k) per token; neurons (N,) the layer's most active neurons
    (highest activation on any non-special token), neuron_top_positions / neuron_top_values (N, k)."""

    layer: int
    tokens: tuple[str, ...]
    top_neurons: np.ndarray
    top_values: np.ndarray
    neurons: np.ndarray
    neuron_top_positions: np.ndarray
    neuron_top_values: np.ndarray


@dataclass(frozen=True)
class NMFFactors(_ReadOnly):
    """A ~ token_weights @ components. token_weights (T', k), components (k, d_ff) for the tokens at
    `positions` (T',); error = ||A - W H||_F and relative_error = error / ||A||_F; iterations: of the
    solver (at most 400)."""

    layer: int
    positions: np.ndarray
    tokens: tuple[str, ...]
    token_weights: np.ndarray
    components: np.ndarray
    error: float
    relative_error: float
    n_factors: int
    iterations: int
    clipped: str = "activations clipped at 0 (GELU's small negative outputs)"


@dataclass(frozen=True)
class NeuronVocabulary(_ReadOnly):
    """top_tokens / top_ids / top_logits (N, k): the MLM head's highest logits for each neuron's W_out column."""

    layer: int
    neurons: np.ndarray
    top_ids: np.ndarray
    top_tokens: tuple[tuple[str, ...], ...]
    top_logits: np.ndarray


@dataclass(frozen=True)
class ClassNeurons(_ReadOnly):
    """Per class, the neurons of `layer` that fire most for it (activation averaged over a row's non-special
    tokens, then over the class's rows): neurons, mean_activation, score (C, k); rows per class (C,);
    contrast: True when score = class mean - mean over the other classes, False when score = class mean;
    shown (M,): the distinct neurons of `neurons`, ascending; row_activation (n_rows, M): each row's mean
    activation of those neurons (which rows a shown neuron fires most on)."""

    layer: int
    classes: tuple[str, ...]
    neurons: np.ndarray
    mean_activation: np.ndarray
    score: np.ndarray
    rows: np.ndarray
    contrast: bool
    shown: np.ndarray
    row_activation: np.ndarray

    def of_row(self, neuron: int) -> np.ndarray:
        """(n_rows,) each row's mean activation of a shown neuron; InputError for a neuron not shown."""
        where = np.flatnonzero(self.shown == int(neuron))
        if not where.size:
            raise InputError(_("Neuron {n} is not among the top neurons shown.").format(n=neuron))
        return self.row_activation[:, int(where[0])]


def _check_layer(bundle: ModelBundle, layer: int) -> int:
    if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)) or not 0 <= layer < bundle.num_layers:
        raise InputError(_("Layer {layer} does not exist: the model has layers 0 to {last}.").format(
            layer=layer, last=bundle.num_layers - 1))
    return int(layer)


def _intermediate(bundle: ModelBundle, layer: int, h: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """The feed-forward activations of `layer` from its input hidden states h (B, T, D) -> (B, T, d_ff).
    mask: (B, T) bool, True at real tokens (None: all real)."""
    block = layers_of(bundle.model)[layer]
    if hasattr(block, "sa_layer_norm"):  # DistilBERT
        m = torch.ones(h.shape[:2], dtype=torch.bool) if mask is None else mask
        sa = block.attention(query=h, key=h, value=h, mask=m)[0]
        a = block.sa_layer_norm(sa + h)
        return block.ffn.activation(block.ffn.lin1(a))
    bias = None
    if mask is not None:
        bias = torch.zeros(mask.shape[0], 1, 1, mask.shape[1]).masked_fill(~mask[:, None, None, :],
                                                                         torch.finfo(h.dtype).min)
    a = block.attention(h, attention_mask=bias)[0]
    return block.intermediate(a)


def w_out(bundle: ModelBundle, layer: int) -> torch.Tensor:
    """The layer's feed-forward output matrix W_out, (D, d_ff): column j is what neuron j writes."""
    block = layers_of(bundle.model)[_check_layer(bundle, layer)]
    return block.ffn.lin2.weight if hasattr(block, "sa_layer_norm") else block.output.dense.weight


def ffn_activations(bundle: ModelBundle, run: ModelRun, layers: Sequence[int] | None = None) -> FFNActivations:
    """Feed-forward activations of `layers` (default: every layer) for `run`, from its hidden states
    (len(layers), T, d_ff). A view of one layer needs only that layer: compute only what is shown."""
    if run.hidden_states.shape[0] != bundle.num_layers + 1:
        raise InputError(_("This run does not belong to {model}.").format(model=_(bundle.name)))
    layers = tuple(range(bundle.num_layers)) if layers is None else tuple(_check_layer(bundle, l) for l in layers)
    with torch.inference_mode():
        acts = torch.cat([_intermediate(bundle, i, torch.tensor(np.array(run.hidden_states[i : i + 1])), None)
                          for i in layers])
    out = np.ascontiguousarray(acts.numpy())
    out.setflags(write=False)
    return FFNActivations(run.tokens, out, run.special, layers)


def neuron_view(acts: FFNActivations, layer: int, k: int = 5, n_neurons: int = 10) -> NeuronView:
    """Top-k neurons of every token, and the top-k tokens of the layer's n most active neurons."""
    A = acts.of_layer(layer)  # (T, d_ff)
    k = max(1, min(int(k), A.shape[1]))
    top = np.argsort(-A, axis=1)[:, :k]
    words = ~np.asarray(acts.special)
    if not words.any():
        words = np.ones(len(words), bool)
    peak = np.where(words[:, None], A, -np.inf).max(axis=0)
    neurons = np.argsort(-peak, kind="stable")[: max(1, min(int(n_neurons), A.shape[1]))]
    kt = min(k, int(words.sum()))
    cols = np.where(words[:, None], A[:, neurons], -np.inf)  # (T, N)
    positions = np.argsort(-cols, axis=0, kind="stable")[:kt].T  # (N, kt)
    return NeuronView(
        layer=layer,
        tokens=acts.tokens,
        top_neurons=top,
        top_values=np.take_along_axis(A, top, axis=1),
        neurons=neurons,
        neuron_top_positions=positions,
        neuron_top_values=np.take_along_axis(A[:, neurons].T, positions, axis=1),
    )


def nmf_factors(acts: FFNActivations, layer: int, n_factors: int = 4, skip_special: bool = True,
                seed: int = 0) -> NMFFactors:
    """NMF of one layer's activations over the tokens (scikit-learn, nndsvda init, seeded)."""
    from sklearn.decomposition import NMF

    layer_acts = acts.of_layer(layer)
    keep = ~np.asarray(acts.special) if skip_special else np.ones(len(acts.tokens), bool)
    positions = np.flatnonzero(keep)
    if isinstance(n_factors, bool) or not isinstance(n_factors, (int, np.integer)) or not 1 <= n_factors <= len(positions):
        raise InputError(_("The number of factors must be a whole number from 1 to {n} (the tokens shown).").format(
            n=len(positions)))
    A = np.clip(layer_acts[positions], 0.0, None).astype(np.float64)
    model = NMF(n_components=int(n_factors), init="nndsvda", random_state=seed, max_iter=400, tol=1e-4)
    from threadpoolctl import threadpool_limits  # a scikit-learn dependency

    # One BLAS thread: the matrix is small (T x d_ff), and two BLAS threads on a busy 2-core machine were
    # 28x slower than one (1,007 ms vs 36 ms at 126 tokens, benchmarks/probing.py).
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore")  # a fit that stops at max_iter still reports its true error below
        W = model.fit_transform(A)
    H = model.components_
    error = float(np.linalg.norm(A - W @ H))
    norm = float(np.linalg.norm(A))
    return NMFFactors(layer, positions, tuple(acts.tokens[p] for p in positions), W, H, error,
                      error / norm if norm else 0.0, int(n_factors), int(model.n_iter_))


def neuron_vocabulary(bundle: ModelBundle, layer: int, neurons: Sequence[int], k: int = 10) -> NeuronVocabulary:
    """Each neuron's W_out column through the MLM head: its top-k vocabulary tokens (Geva et al.)."""
    head = mlm_head_of(bundle.model) if bundle.has_mlm else None
    if head is None:
        raise InputError(_(
            "{model} has no masked-language-model head, so what a neuron writes cannot be read as words: "
            "choose a model with one (the shipped MLM head)."
        ).format(model=_(bundle.name)))
    W = w_out(bundle, layer)
    neurons = np.asarray(neurons, dtype=np.int64)
    if neurons.size == 0 or neurons.min() < 0 or neurons.max() >= W.shape[1]:
        raise InputError(_("Neurons are numbered 0 to {last}.").format(last=W.shape[1] - 1))
    with torch.inference_mode():
        logits = head(W[:, torch.tensor(neurons)].T.float())  # (N, V)
        top = torch.topk(logits, k=min(int(k), logits.shape[1]), dim=-1)
    ids = top.indices.numpy()
    tok = bundle.tokenizer
    return NeuronVocabulary(layer, neurons, ids, tuple(tuple(tok.convert_ids_to_tokens(r.tolist())) for r in ids),
                            top.values.numpy())


def class_neurons(bundle: ModelBundle, texts: Sequence[str], labels: Sequence[str], layer: int, k: int = 10,
                  contrast: bool = True, max_batch_tokens: int = 4096, progress=None, cancel=None) -> ClassNeurons:
    """Mean activation of every neuron of `layer` over each row's non-special tokens, one batched pass
    (length-bucketed, padded and masked); per class, the k neurons with the highest score over its rows:
    the class mean, or with `contrast` the class mean minus the mean over the other classes' rows (so
    neurons that fire on every text do not top every class). progress(done, total) in rows and cancel (a
    threading.Event) as in explain.dataset.progress."""
    from explain.dataset.progress import Tracker

    layer = _check_layer(bundle, layer)
    if len(texts) != len(labels) or not texts:
        raise InputError(_("Give one label per row, and at least one row."))
    d_ff = int(w_out(bundle, layer).shape[1])
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= d_ff:
        raise InputError(_("The number of neurons per class must be a whole number from 1 to {n}.").format(n=d_ff))
    tracker = Tracker(len(texts), progress, cancel)
    enc = bundle.tokenizer(list(texts), truncation=True, max_length=bundle.max_tokens,
                           return_special_tokens_mask=True)
    lengths = np.array([len(x) for x in enc["input_ids"]])
    order = np.argsort(lengths, kind="stable")
    per_row: np.ndarray | None = None
    encoder = encoder_of(bundle.model)
    start = 0
    while start < len(order):
        tracker.check()
        stop = start + 1
        while stop < len(order) and (stop - start + 1) * lengths[order[stop]] <= max_batch_tokens:
            stop += 1
        batch = order[start:stop]
        T = int(lengths[batch].max())
        ids = torch.zeros(len(batch), T, dtype=torch.long)
        mask = torch.zeros(len(batch), T, dtype=torch.bool)
        words = torch.zeros(len(batch), T, dtype=torch.bool)
        for b, i in enumerate(batch):
            ids[b, : lengths[i]] = torch.tensor(enc["input_ids"][i])
            mask[b, : lengths[i]] = True
            words[b, : lengths[i]] = torch.tensor(enc["special_tokens_mask"][i]) == 0
        inputs = {"input_ids": ids, "attention_mask": mask.long(),
                  "position_ids": (torch.arange(T) + bundle.arch.position_offset).expand(len(batch), -1)}
        with torch.inference_mode():
            h = encoder(**inputs, output_hidden_states=True).hidden_states[layer]
            act = _intermediate(bundle, layer, h, mask)  # (B, T, d_ff)
            w = words.float()
            mean = (act * w[..., None]).sum(1) / w.sum(1).clamp(min=1)[:, None]
        if per_row is None:
            per_row = np.zeros((len(texts), mean.shape[1]), dtype=np.float64)
        per_row[batch] = mean.double().numpy()
        tracker.advance(len(batch))
        start = stop
    labels = np.asarray([str(l) for l in labels])
    classes = tuple(dict.fromkeys(labels))
    means = np.stack([per_row[labels == c].mean(axis=0) for c in classes])  # (C, d_ff)
    score = means
    if contrast and len(classes) > 1:
        score = means - np.stack([per_row[labels != c].mean(axis=0) for c in classes])
    top = np.argsort(-score, axis=1, kind="stable")[:, : int(k)]
    shown = np.unique(top)
    return ClassNeurons(layer=layer, classes=classes, neurons=top,
                        mean_activation=np.take_along_axis(means, top, axis=1),
                        score=np.take_along_axis(score, top, axis=1),
                        rows=np.array([(labels == c).sum() for c in classes]), contrast=contrast and len(classes) > 1,
                        shown=shown, row_activation=np.ascontiguousarray(per_row[:, shown]))
