"""Token scores summed into word scores: WordPiece '##' pieces, BPE 'Ġ' and SentencePiece '▁' words.

Shapes: T tokens, W words.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from explain.attribution.methods import Attribution
from explain.errors import InputError
from explain.i18n import _
from explain.run import _frozen


@dataclass(frozen=True, eq=False)
class WordScores:
    """Token scores summed per word.

    Attributes:
        words: display strings with WordPiece '##' (and BPE 'Ġ'/'▁') markers removed, (W,).
        scores: sum of the word's token scores, (W,).
        special: True for special tokens, each kept as its own entry, (W,).
        token_to_word: index into words of each token, (T,).
    """

    words: tuple[str, ...]
    scores: np.ndarray
    special: np.ndarray
    token_to_word: np.ndarray


def merge_words(
    attribution_or_scores: Attribution | Sequence[float] | np.ndarray,
    word_ids: Sequence[int] | np.ndarray | None = None,
    tokens: Sequence[str] | None = None,
) -> WordScores:
    """Sum WordPiece scores into word scores.

    Args:
        attribution_or_scores: an Attribution (word_ids and tokens default to its own) or scores (T,).
        word_ids: word of each token, -1 (or None) for special tokens, (T,), as the tokenizer's
            `word_ids()`. A word is a run of consecutive tokens with the same id, so the ids that
            restart at 0 in the second text of a pair are handled.
        tokens: the tokens, (T,).

    >>> merge_words([0.5, 0.25, 0.25, 0.0], [None, 0, 0, None], ["[CLS]", "play", "##ing", "[SEP]"]).words
    ('[CLS]', 'playing', '[SEP]')
    """
    if isinstance(attribution_or_scores, Attribution):
        a = attribution_or_scores
        scores = a.scores
        word_ids = a.word_ids if word_ids is None else word_ids
        tokens = a.tokens if tokens is None else tokens
    else:
        scores = np.asarray(attribution_or_scores, dtype=np.float64)
    if word_ids is None or tokens is None:
        raise InputError(_("merge_words needs word_ids and tokens along with plain scores."))
    ids = [-1 if w is None else int(w) for w in word_ids]
    if not len(ids) == len(tokens) == len(scores):
        raise InputError(_(
            "scores ({scores}), word_ids ({word_ids}) and tokens ({tokens}) must have one entry per token."
        ).format(scores=len(scores), word_ids=len(ids), tokens=len(tokens)))
    words: list[list[str]] = []
    merged: list[float] = []
    special: list[bool] = []
    token_to_word = np.zeros(len(ids), dtype=np.int64)
    for i, (w, tok, s) in enumerate(zip(ids, tokens, scores)):
        if w >= 0 and i > 0 and ids[i - 1] == w:
            words[-1].append(tok)
            merged[-1] += float(s)
        else:
            words.append([tok])
            merged.append(float(s))
            special.append(w < 0)
        token_to_word[i] = len(words) - 1
    return WordScores(
        words=tuple(pieces[0] if sp else _join_pieces(pieces) for pieces, sp in zip(words, special)),
        scores=_frozen(np.array(merged)),
        special=_frozen(np.array(special, dtype=bool)),
        token_to_word=_frozen(token_to_word),
    )


def _join_pieces(pieces: list[str]) -> str:
    return "".join(p.removeprefix("##").lstrip("Ġ▁") for p in pieces)
