"""Evaluate a token-classification model (e.g. the Rampart PII tagger) on word-tagged rows.

Data: each row's `text` is its words separated by whitespace, and its `label` (or `tags`) one BIO
tag per word (a space-separated string; in JSONL also a list), e.g.
    {"text": "Call Maria Garcia in London .", "tags": "O B-GIVEN_NAME B-SURNAME O B-CITY O"}
Tags are per WORD, as in CoNLL files and seqeval: the words are tokenized with
`is_split_into_words=True` and a word's predicted tag is the model's tag at the word's first
sub-token (the usual convention of Hugging Face token-classification training; later pieces are
ignored). Words cut off by the token limit are predicted "O" and counted in a notice. Gold tags are
matched to the model's labels like class labels (`explain.dataset.labels`: name, case, id, label_map).
Metrics: entity-level precision/recall/F1 per type and micro/macro (`explain.dataset.entities`,
seqeval's default mode) and word-level tag accuracy.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch

from explain.dataset.batching import MAX_POSITIONS, MAX_ROWS, encode_rows, length_batches, length_notices, pad_batch
from explain.dataset.entities import EntityMetrics, entity_metrics
from explain.dataset.labels import LabelMatch, resolve_match
from explain.dataset.progress import Progress, Tracker
from explain.dataset.reader import Rows
from explain.errors import InputError
from explain.i18n import _, ngettext
from explain.models.checkpoint import ModelBundle
from explain.run import _frozen


@dataclass(frozen=True, eq=False)
class TaggingEvaluation:
    """A token classifier on N word-tagged rows.

    Attributes:
        model_name, labels (the model's tags in logit order, (C,)), rows, match: as in Evaluation.
        words: each row's words, (N,) tuples of (W_i,).
        gold, predicted: tag ids per word, (N,) tuples of int arrays (W_i,).
        confidence: probability of the predicted tag per word, (N,) tuples of (W_i,).
        loss: mean cross-entropy of the gold tags over the row's words read by the model, (N,).
        correct: every word of the row tagged right, (N,). n_tokens, truncated: (N,).
        entities: entity-level metrics. word_accuracy: share of words tagged right.
        seconds, max_tokens, notices: as in Evaluation.
    """

    model_name: str
    labels: tuple[str, ...]
    rows: Rows
    match: LabelMatch
    words: tuple[tuple[str, ...], ...]
    gold: tuple[np.ndarray, ...]
    predicted: tuple[np.ndarray, ...]
    confidence: tuple[np.ndarray, ...]
    loss: np.ndarray
    correct: np.ndarray
    n_tokens: np.ndarray
    truncated: np.ndarray
    entities: EntityMetrics
    word_accuracy: float
    max_tokens: int
    seconds: float
    notices: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.words)

    @property
    def errors(self) -> np.ndarray:
        return np.flatnonzero(~self.correct)

    def records(self):
        """One JSON-ready dict per row: line, text, gold and predicted tags, confidences, loss, correct."""
        for i in range(len(self)):
            yield {
                "line": self.rows.lines[i], "text": self.rows.texts[i],
                "gold": [self.labels[t] for t in self.gold[i]],
                "prediction": [self.labels[t] for t in self.predicted[i]],
                "confidence": [float(c) for c in self.confidence[i]], "loss": float(self.loss[i]),
                "correct": bool(self.correct[i]), "tokens": int(self.n_tokens[i]), "truncated": bool(self.truncated[i]),
            }


def evaluate_tagging(
    bundle: ModelBundle,
    rows: Rows,
    label_map: Mapping[str, str | int] | None = None,
    match: LabelMatch | None = None,
    max_tokens: int | None = None,
    batch_rows: int = MAX_ROWS,
    max_positions: int = MAX_POSITIONS,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    seed: int = 0,
) -> TaggingEvaluation:
    """Tag every row's words in length-sorted padded batches and score the tags (see the module docstring).

    Raises:
        InputError: not a token classifier, a row whose word and tag counts differ; LabelMismatch.
        Cancelled: `cancel` was set.
    """
    if bundle.task != "token-classification":
        raise InputError(_("'{name}' is not a token-classification model.").format(name=bundle.name))
    start = time.perf_counter()
    words = tuple(tuple(t.split()) for t in rows.texts)
    tags = tuple(tuple(l.split()) for l in rows.labels)
    _check_counts(rows, words, tags)
    match = resolve_match([t for row in tags for t in row], bundle, label_map, match)
    gold = tuple(_frozen(match.indices(row)) for row in tags)
    enc = encode_rows(bundle, [list(w) for w in words], max_tokens=max_tokens, split_into_words=True)
    N = len(rows)
    predicted: list = [None] * N
    confidence: list = [None] * N
    loss = np.zeros(N)
    cut_words = 0
    outside = _outside_id(bundle.labels)
    tracker = Tracker(N, progress, cancel)
    with torch.inference_mode():
        for index in length_batches(enc.lengths, batch_rows, max_positions, seed):
            tracker.check()
            log_probs = torch.log_softmax(bundle.model(**pad_batch(bundle, enc, index)).logits.double(), -1).numpy()
            for b, i in enumerate(index):
                first = _first_pieces(enc.word_ids[i], len(words[i]))
                read = first >= 0
                cut_words += int((~read).sum())
                lp = log_probs[b, np.maximum(first, 0)]  # (W, C); rows of unread words are ignored below
                pred = np.where(read, lp.argmax(-1), outside)
                predicted[i] = _frozen(pred)
                confidence[i] = _frozen(np.where(read, np.exp(lp.max(-1)), 0.0))
                loss[i] = float(-lp[read, gold[i][read]].mean()) if read.any() else float("nan")
            tracker.advance(len(index))
    names = bundle.labels
    metrics = entity_metrics([[names[t] for t in g] for g in gold], [[names[t] for t in p] for p in predicted])
    right = np.array([bool((p == g).all()) for p, g in zip(predicted, gold)])
    n_words = sum(len(g) for g in gold)
    notices = length_notices(rows, enc)
    if cut_words:
        notices += (ngettext("{n} word has no token the model reads (cut at the token limit, or dropped by the "
                             "tokenizer); it is predicted 'O'.",
                             "{n} words have no token the model reads (cut at the token limit, or dropped by the "
                             "tokenizer); they are predicted 'O'.", cut_words).format(n=cut_words),)
    return TaggingEvaluation(
        model_name=bundle.name, labels=tuple(names), rows=rows, match=match, words=words, gold=gold,
        predicted=tuple(predicted), confidence=tuple(confidence), loss=_frozen(loss), correct=_frozen(right),
        n_tokens=_frozen(enc.lengths), truncated=_frozen(enc.truncated), entities=metrics,
        word_accuracy=float(sum(int((p == g).sum()) for p, g in zip(predicted, gold)) / max(n_words, 1)),
        max_tokens=enc.max_tokens, seconds=time.perf_counter() - start, notices=notices,
    )


def _first_pieces(word_ids: np.ndarray, n_words: int) -> np.ndarray:
    """Token position of each word's first piece, -1 for words cut off, (W,)."""
    first = np.full(n_words, -1, dtype=np.int64)
    for pos in range(len(word_ids) - 1, -1, -1):
        w = word_ids[pos]
        if w >= 0:
            first[w] = pos
    return first


def _outside_id(labels: tuple[str, ...]) -> int:
    return labels.index("O") if "O" in labels else 0


def _check_counts(rows: Rows, words, tags) -> None:
    bad = [i for i, (w, t) in enumerate(zip(words, tags)) if len(w) != len(t)]
    if bad:
        i = bad[0]
        raise InputError(
            _("Line {line} has {words} words but {tags} tags: give one tag per word (words are separated by "
              "spaces), e.g. text 'Call Maria' with tags 'O B-GIVEN_NAME'.").format(
                line=rows.lines[i], words=len(words[i]), tags=len(tags[i])
            )
        )
