"""What every attribution method shares: one prepared input, its target score, baselines, private copies.

Shape glossary: B rows of a batch, T tokens (special tokens included), D embedding size, C classes,
F interpretable features (tokens or words), L layers, H heads.

Thread safety: the bundle's model is shared. Code here either runs it hook-free (gradients with
respect to `inputs_embeds`, the word-embedding output, and Hugging Face's own thread-safe output
capture) or works on `private_copy(model)`, whose modules are new objects that share the frozen
weight tensors, so a hook registered on the copy can never fire in another thread's forward pass.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch
from torch import nn

from explain.errors import InputError
from explain.i18n import _
from explain.models.arch import embeddings_of, encoder_of
from explain.models.checkpoint import ModelBundle
from explain.run import encode

SCORE_KINDS = ("prob", "logit")
BASELINES = ("pad", "mask", "zero")
FEATURES = ("token", "word")
CLASSIFICATION_TASKS = ("sequence-classification", "token-classification")


@dataclass(frozen=True, eq=False)
class Prepared:
    """One tokenized input with its resolved target; turns embeddings or ids into target scores.

    Attributes:
        input_ids, attention_mask, position_ids: (1, T) tensors; token_type_ids (1, T) or None.
        special: True at [CLS]/[SEP]-like tokens, (T,). word_ids: word of each token, -1 for specials, (T,).
        target: class index explained; token_index: the explained token (token classification) or None.
        score_kind: "prob" (softmax, or sigmoid for multi-label heads) or "logit".
        logits: the unperturbed input's logits at the explained position, (C,).
    """

    bundle: ModelBundle
    text: str
    text_pair: str | None
    tokens: tuple[str, ...]
    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    position_ids: torch.Tensor
    token_type_ids: torch.Tensor | None
    special: np.ndarray
    word_ids: np.ndarray
    target: int
    token_index: int | None
    score_kind: str
    logits: np.ndarray

    @property
    def num_tokens(self) -> int:
        return self.input_ids.shape[1]

    @property
    def target_label(self) -> str:
        labels = self.bundle.labels
        return labels[self.target] if self.target < len(labels) else f"LABEL_{self.target}"

    @cached_property
    def embeddings(self) -> torch.Tensor:
        """The word-embedding output for the input, (1, T, D), detached."""
        with torch.no_grad():
            return embeddings_of(self.bundle.model).word_embeddings(self.input_ids).detach()

    def baseline_ids(self, kind: str) -> torch.Tensor:
        """Input ids with every non-special token replaced by [PAD] or [MASK], (1, T)."""
        tok = self.bundle.tokenizer
        token_id = tok.pad_token_id if kind == "pad" else tok.mask_token_id
        if token_id is None:
            raise InputError(_("This tokenizer has no {token} token: choose another baseline.").format(
                token=f"[{kind.upper()}]"))
        content = torch.from_numpy(~self.special).unsqueeze(0)
        return torch.where(content, torch.full_like(self.input_ids, token_id), self.input_ids)

    def baseline_embeddings(self, kind: str) -> torch.Tensor:
        """Baseline x' in word-embedding space, (1, T, D); special tokens keep their own embedding."""
        if kind == "zero":
            content = torch.from_numpy(~self.special)[None, :, None]
            return torch.where(content, torch.zeros_like(self.embeddings), self.embeddings)
        with torch.no_grad():
            return embeddings_of(self.bundle.model).word_embeddings(self.baseline_ids(kind)).detach()

    def model_inputs(self, rows: int, attention_mask: torch.Tensor | None = None) -> dict:
        """Everything but the ids/embeddings, expanded to `rows` rows."""
        mask = self.attention_mask if attention_mask is None else attention_mask
        inputs = {
            "attention_mask": mask.expand(rows, -1) if mask.shape[0] == 1 else mask,
            "position_ids": self.position_ids.expand(rows, -1),
        }
        if self.token_type_ids is not None:
            inputs["token_type_ids"] = self.token_type_ids.expand(rows, -1)
        return inputs

    @property
    def target_score(self) -> float:
        """f(x): the target score of the unperturbed input, from the logits `prepare` computed."""
        return float(self._class_scores(torch.from_numpy(self.logits)[None])[0])

    def scores_from_logits(self, logits: torch.Tensor) -> torch.Tensor:
        """(B, C) or (B, T, C) logits -> (B,) target scores."""
        if self.token_index is not None:
            logits = logits[:, self.token_index]
        return self._class_scores(logits)

    def _class_scores(self, logits: torch.Tensor) -> torch.Tensor:
        """(B, C) logits at the explained position -> (B,) target probabilities or logits."""
        if self.score_kind == "prob":
            if self.bundle.config.problem_type == "multi_label_classification":
                logits = torch.sigmoid(logits)
            else:
                logits = torch.softmax(logits, dim=-1)
        return logits[:, self.target]

    def score_embeddings(self, embeds: torch.Tensor, model: nn.Module | None = None) -> torch.Tensor:
        """Target score for word-embedding outputs `embeds` (B, T, D) -> (B,); differentiable.

        `model` defaults to the shared model; pass a private copy to run it with hooks.
        """
        model = self.bundle.model if model is None else model
        out = model(inputs_embeds=embeds, **self.model_inputs(embeds.shape[0]))
        return self.scores_from_logits(out.logits)

    def score_ids(
        self, ids: torch.Tensor, attention_mask: torch.Tensor | None = None, batch_size: int = 64
    ) -> np.ndarray:
        """Target scores of token-id rows (B, T), in batches, without gradients -> (B,)."""
        out = []
        with torch.inference_mode():
            for start in range(0, ids.shape[0], batch_size):
                chunk = ids[start : start + batch_size]
                mask = None if attention_mask is None else attention_mask[start : start + batch_size]
                logits = self.bundle.model(input_ids=chunk, **self.model_inputs(chunk.shape[0], mask)).logits
                out.append(self.scores_from_logits(logits))
        return torch.cat(out).double().numpy()

    def score_rows(self, embeds: torch.Tensor) -> np.ndarray:
        """Target scores of a few embedding rows (B, T, D) without gradients -> (B,)."""
        with torch.inference_mode():
            return self.score_embeddings(embeds).double().numpy()

    def content_groups(self, features: str) -> list[list[int]]:
        """Token positions of each interpretable feature: one per content token, or one per word."""
        content = [i for i in range(self.num_tokens) if not self.special[i]]
        if features == "token":
            return [[i] for i in content]
        groups: list[list[int]] = []
        for i in content:
            same_word = groups and groups[-1][-1] == i - 1 and self.word_ids[i] == self.word_ids[i - 1] >= 0
            if same_word:
                groups[-1].append(i)
            else:
                groups.append([i])
        return groups


def check_bundle(bundle: ModelBundle) -> None:
    if bundle.task not in CLASSIFICATION_TASKS:
        raise InputError(_(
            "'{model}' has no classification head (task: {task}); attributions explain a class score. Choose a "
            "sequence- or token-classification model."
        ).format(model=bundle.name, task=bundle.task))


def prepare(
    bundle: ModelBundle,
    text: str,
    text_pair: str | None = None,
    target: int | str | None = None,
    token_index: int | None = None,
    score: str = "prob",
) -> Prepared:
    """Tokenize, run once, and resolve target (predicted class by default) and token_index."""
    check_bundle(bundle)
    check_option("score", score, SCORE_KINDS)
    if bundle.config.num_labels == 1:
        score = "logit"  # a regression head: its one output is the score itself
    enc = encode(bundle, text, text_pair)[0]
    ids = enc["input_ids"]
    T = ids.shape[1]
    special = enc["special_tokens_mask"][0].numpy().astype(bool)
    token_types = enc.get("token_type_ids") if bundle.arch.has_token_types else None
    if bundle.arch.has_token_types and token_types is None:
        token_types = torch.zeros_like(ids)
    if bundle.task == "token-classification":
        token_index = _check_token_index(token_index, special, T)
    elif token_index is not None:
        raise InputError(_("token_index applies to token-classification models only; leave it empty."))
    position_ids = torch.arange(T).unsqueeze(0) + bundle.arch.position_offset
    inputs = {"attention_mask": enc["attention_mask"], "position_ids": position_ids}
    if token_types is not None:
        inputs["token_type_ids"] = token_types
    with torch.inference_mode():
        logits = bundle.model(input_ids=ids, **inputs).logits[0]
    logits = (logits if token_index is None else logits[token_index]).double().numpy()
    return Prepared(
        bundle=bundle,
        text=text,
        text_pair=text_pair,
        tokens=tuple(bundle.tokenizer.convert_ids_to_tokens(ids[0].tolist())),
        input_ids=ids,
        attention_mask=enc["attention_mask"],
        position_ids=position_ids,
        token_type_ids=token_types,
        special=special,
        word_ids=np.array([-1 if w is None else w for w in enc.word_ids(0)], dtype=np.int64),
        target=_check_target(target, bundle, predicted=int(np.argmax(logits))),
        token_index=token_index,
        score_kind=score,
        logits=logits,
    )


def _check_token_index(token_index: int | None, special: np.ndarray, T: int) -> int:
    if token_index is None:
        return int(np.flatnonzero(~special)[0])  # the first word piece
    if not isinstance(token_index, (int, np.integer)) or not 0 <= token_index < T:
        raise InputError(_("token_index must be a token position from 0 to {last}, not {value}.").format(
            last=T - 1, value=repr(token_index)))
    return int(token_index)


def _check_target(target: int | str | None, bundle: ModelBundle, predicted: int) -> int:
    num_labels = bundle.config.num_labels
    if target is None:
        return predicted
    if isinstance(target, str):
        if target not in bundle.labels:
            raise InputError(_("'{target}' is not a label of this model; its labels are {labels}.").format(
                target=target, labels=", ".join(bundle.labels)))
        return bundle.labels.index(target)
    if not isinstance(target, (int, np.integer)) or not 0 <= target < num_labels:
        raise InputError(_("target must be a class index from 0 to {last} or a label name, not {value}.").format(
            last=num_labels - 1, value=repr(target)))
    return int(target)


@contextmanager
def private_copy(model: nn.Module) -> Iterator[nn.Module]:
    """A copy of `model`'s modules that shares its (frozen) weight and buffer tensors.

    Hooks belong to modules, so hooks registered on the copy never fire in the shared model; the
    tensors are shared read-only, which keeps the copy cheap (module objects only, no weights).
    """
    _install_output_capture(model)
    shared = {id(t): t for t in itertools.chain(model.parameters(), model.buffers())}
    yield copy.deepcopy(model, shared)


def _install_output_capture(model: nn.Module) -> None:
    """Let Hugging Face install its own output-capturing hooks (once, under its lock) before a copy
    reads the module dicts, so the lazy first install cannot race with `deepcopy`."""
    try:
        from transformers.utils.output_capturing import maybe_install_capturing_hooks
    except ImportError:  # older transformers: no lazily installed hooks
        return
    maybe_install_capturing_hooks(encoder_of(model))


def hook_snapshot(model: nn.Module) -> dict[str, tuple[tuple[str, ...], ...]]:
    """Module name -> names of its forward, forward-pre and backward hook functions (for checks and tests)."""

    def names(hooks) -> tuple[str, ...]:
        return tuple(sorted(getattr(h, "__qualname__", repr(h)) for h in hooks.values()))

    return {
        name: (names(m._forward_hooks), names(m._forward_pre_hooks), names(m._backward_hooks))
        for name, m in model.named_modules()
    }


def check_option(name: str, value, allowed):
    """`value` if it is one of `allowed`, else InputError naming the choices."""
    if value not in allowed:
        raise InputError(_("{name} must be one of {allowed}; got {value}.").format(
            name=name, allowed=", ".join(map(str, allowed)), value=repr(value)))
    return value


def check_count(name: str, value, low: int, high: int) -> int:
    """`value` as an int if it is a whole number in [low, high], else InputError."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
        raise InputError(_("{name} must be a whole number from {low} to {high}; got {value}.").format(
            name=name, low=low, high=high, value=repr(value)))
    return int(value)
