"""The model on many texts in one batched pass: class probabilities, or the entities a tagger finds.

Texts are tokenized as the single-text pages tokenize them and run in length-bucketed, padded
batches (`explain.dataset.batching`), with no gradient, through the shared model (no hook, no state
change); padding changes no result beyond float summation order (~1e-6).
Taggers: a word's tag is the tag at its first piece (as `explain.dataset.tagging`); entities are read
from the word tags with the conlleval rules (`explain.dataset.entities`) and located by the
tokenizer's character offsets.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from explain.behaviour.results import Entity
from explain.dataset.batching import MAX_POSITIONS, MAX_ROWS, encode_rows, length_batches, pad_batch
from explain.dataset.entities import entities as bio_entities
from explain.dataset.progress import Progress, Tracker
from explain.i18n import ngettext
from explain.models.checkpoint import ModelBundle
from explain.run import _frozen


@dataclass(frozen=True, eq=False)
class Predictions:
    """The model's output on N distinct texts.

    Attributes:
        texts: (N,). probs: class probabilities (N, C), float64, for classifiers; None for taggers.
        entities: per text the entities found (taggers), else None.
        n_tokens: tokens read per text, special tokens included, (N,). truncated: cut at max_tokens, (N,).
        max_tokens: the truncation limit. notices: remarks (texts cut at the limit).
    """

    texts: tuple[str, ...]
    probs: np.ndarray | None
    entities: tuple[tuple[Entity, ...], ...] | None
    n_tokens: np.ndarray
    truncated: np.ndarray
    max_tokens: int
    notices: tuple[str, ...] = ()


def predict_texts(
    bundle: ModelBundle,
    texts: Sequence[str],
    max_tokens: int | None = None,
    batch_rows: int = MAX_ROWS,
    max_positions: int = MAX_POSITIONS,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    seed: int = 0,
) -> Predictions:
    """Run `bundle` on every text (texts as unit of `progress`; Cancelled when `cancel` is set)."""
    texts = tuple(texts)
    tagger = bundle.task == "token-classification"
    enc = encode_rows(bundle, texts, max_tokens=max_tokens)
    N, C = len(texts), len(bundle.labels) or bundle.config.num_labels
    probs = np.zeros((N, C)) if not tagger else None
    found: list = [()] * N
    offsets = _offsets(bundle, texts, enc.max_tokens) if tagger else None
    tracker = Tracker(N, progress, cancel)
    with torch.inference_mode():
        for index in length_batches(enc.lengths, batch_rows, max_positions, seed):
            tracker.check()
            logits = bundle.model(**pad_batch(bundle, enc, index)).logits.double()
            if tagger:
                tags = logits.argmax(-1).numpy()
                for b, i in enumerate(index):
                    found[i] = _entities(texts[i], tags[b, : enc.lengths[i]], offsets[i], bundle.labels)
            else:
                probs[index] = torch.softmax(logits, -1).numpy()
            tracker.advance(len(index))
    return Predictions(texts=texts, probs=None if probs is None else _frozen(probs),
                       entities=tuple(found) if tagger else None, n_tokens=_frozen(enc.lengths),
                       truncated=_frozen(enc.truncated), max_tokens=enc.max_tokens,
                       notices=cut_notice(enc.truncated, enc.max_tokens))


def cut_notice(truncated: np.ndarray, limit: int) -> tuple[str, ...]:
    """A notice about the texts cut at the token limit, if any."""
    cut = int(np.sum(truncated))
    if not cut:
        return ()
    return (ngettext("{n} text is longer than {limit} tokens and was cut there.",
                     "{n} texts are longer than {limit} tokens and were cut there.", cut).format(n=cut, limit=limit),)


def _offsets(bundle: ModelBundle, texts: tuple[str, ...], limit: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per text: the word id of every token (-1 for specials) and its character span, (T, 2)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        enc = bundle.tokenizer([t.strip() for t in texts], truncation=True, max_length=limit,
                               return_offsets_mapping=True, verbose=False)
    out = []
    for k in range(len(texts)):
        words = np.array([-1 if w is None else w for w in enc.word_ids(k)], dtype=np.int64)
        out.append((words, np.asarray(enc["offset_mapping"][k], dtype=np.int64)))
    return out


def _entities(text: str, tags: np.ndarray, offsets: tuple[np.ndarray, np.ndarray], labels) -> tuple[Entity, ...]:
    """Entities from token tags (T,): each word tagged at its first piece, spans from the offsets."""
    words, spans = offsets
    lead = len(text) - len(text.lstrip())  # offsets are into the stripped text
    n = min(len(words), len(tags))
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for pos in range(n):
        w = int(words[pos])
        if w >= 0:
            first.setdefault(w, pos)
            last[w] = pos
    order = sorted(first)
    word_tags = [labels[int(tags[first[w]])] for w in order]
    out = []
    for kind, a, b in bio_entities(word_tags):
        start = int(spans[first[order[a]]][0]) + lead
        end = int(spans[last[order[b]]][1]) + lead
        out.append(Entity(kind, start, end, text[start:end]))
    return tuple(out)
