"""Every layer's hidden state for every word, from one batched pass over many sentences.

Sentences are sorted by token length and cut into padded batches of at most `max_batch_tokens` tokens
(length buckets keep the padding small); padding is masked, so a word's features do not depend on its
batch (within float32 noise: 1e-5). Word pieces are merged into words by taking the first piece (as
BERT's NER fine-tuning does) or the mean of the pieces.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from explain.errors import InputError
from explain.i18n import _
from explain.models.arch import encoder_of
from explain.models.checkpoint import ModelBundle

MERGES = ("first", "mean")


@dataclass(frozen=True)
class WordFeatures:
    """Hidden states per word.

    features: (L + 1, N, D) float32, layer 0 = the embedding output; sentence, word: (N,) the sentence
    and the word index in it of each row; merge: "first" or "mean"; dropped_words: words with no piece
    left (cut by the model's maximum length, or dropped by the tokenizer).
    """

    features: np.ndarray
    sentence: np.ndarray
    word: np.ndarray
    merge: str
    dropped_words: int

    @property
    def num_layers(self) -> int:
        return self.features.shape[0]


def word_features(
    bundle: ModelBundle, sentences: Sequence[Sequence[str]], merge: str = "first", max_batch_tokens: int = 4096
) -> WordFeatures:
    """Hidden states of every layer for every word of `sentences` (lists of words), one batched pass.

    >>> wf = word_features(bundle, [["The", "bank", "raised", "rates", "."]])
    >>> wf.features.shape  # (layers + 1, words, hidden size)
    (7, 5, 384)
    """
    if merge not in MERGES:
        raise InputError(_("Word pieces merge by 'first' or 'mean', not '{merge}'.").format(merge=merge))
    if not sentences:
        raise InputError(_("No sentences to probe."))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            enc = bundle.tokenizer([list(s) for s in sentences], is_split_into_words=True, truncation=True,
                                   max_length=bundle.max_tokens)
        except (ValueError, TypeError, AssertionError) as err:  # e.g. a byte-level BPE without add_prefix_space
            raise InputError(_("The tokenizer of {model} cannot take text already split into words ({reason}).").format(
                model=_(bundle.name), reason=str(err).splitlines()[0][:200])) from None
    word_ids = [enc.word_ids(i) for i in range(len(sentences))]
    lengths = np.array([len(ids) for ids in enc["input_ids"]])
    order = np.argsort(lengths, kind="stable")
    per_sentence: list[np.ndarray | None] = [None] * len(sentences)
    encoder = encoder_of(bundle.model)
    offset = bundle.arch.position_offset
    start = 0
    while start < len(order):
        stop = start + 1
        while stop < len(order) and (stop - start + 1) * lengths[order[stop]] <= max_batch_tokens:
            stop += 1
        batch = order[start:stop]
        T = int(lengths[batch].max())
        ids = torch.full((len(batch), T), bundle.tokenizer.pad_token_id or 0, dtype=torch.long)
        mask = torch.zeros((len(batch), T), dtype=torch.long)
        types = torch.zeros((len(batch), T), dtype=torch.long)
        for b, i in enumerate(batch):
            n = lengths[i]
            ids[b, :n] = torch.tensor(enc["input_ids"][i])
            mask[b, :n] = 1
        inputs = {"input_ids": ids, "attention_mask": mask,
                  "position_ids": (torch.arange(T) + offset).expand(len(batch), -1)}
        if bundle.arch.has_token_types:
            inputs["token_type_ids"] = types
        with torch.inference_mode():
            hidden = torch.stack(encoder(**inputs, output_hidden_states=True).hidden_states, dim=1)  # (B, L+1, T, D)
        for b, i in enumerate(batch):
            per_sentence[i] = _merge(hidden[b, :, : lengths[i]].numpy(), word_ids[i], len(sentences[i]), merge)
        start = stop
    rows_s, rows_w, feats = [], [], []
    dropped = 0
    for i, (got, n_words) in enumerate(zip(per_sentence, (len(s) for s in sentences))):
        kept, f = got
        dropped += n_words - len(kept)
        rows_s.append(np.full(len(kept), i))
        rows_w.append(kept)
        feats.append(f)
    features = np.concatenate(feats, axis=1).astype(np.float32)
    return WordFeatures(_frozen(features), _frozen(np.concatenate(rows_s)), _frozen(np.concatenate(rows_w)),
                        merge, dropped)


def _merge(hidden: np.ndarray, word_ids: list[int | None], n_words: int, merge: str):
    """(L+1, T, D) token states -> (kept word indices, (L+1, W, D)) word states."""
    pieces: dict[int, list[int]] = {}
    for t, w in enumerate(word_ids):
        if w is not None:
            pieces.setdefault(w, []).append(t)
    kept = np.array(sorted(w for w in pieces if w < n_words), dtype=np.int64)
    if merge == "first":
        out = hidden[:, [pieces[w][0] for w in kept]]
    else:
        out = np.stack([hidden[:, pieces[w]].mean(axis=1) for w in kept], axis=1) if len(kept) else hidden[:, :0]
    return kept, out


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a
