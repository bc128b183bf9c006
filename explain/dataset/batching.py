"""Tokenize many rows at once and batch them by length, so padding costs little and changes nothing.

`encode_rows` tokenizes exactly as `explain.run.encode` does for one text (same stripping, same
truncation to the model's maximum, pairs cut longest-first), so a row's tokens here are the tokens
the single-sentence pages show. `length_batches` sorts rows by token count and cuts the sorted list
into batches of at most `max_rows` rows and `max_positions` padded positions; the batches are then
visited in a seeded random order, so "rows done" grows evenly with time (an honest time-left
estimate) instead of racing through the short rows first. `pad_batch` right-pads one batch with the
attention mask, token types and explicit position ids (RoBERTa's start at 2): padded keys get
attention weight exactly 0, so every real position computes what it computes alone (up to float
summation order, ~1e-7).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from explain.i18n import ngettext
from explain.models.checkpoint import ModelBundle
from explain.run import MAX_TEXT_CHARS

if TYPE_CHECKING:
    from explain.dataset.reader import Rows

MAX_ROWS = 32  # rows per batch: 32 rows of ~26 tokens ran 10 % faster per CPU-second than 64 here
MAX_POSITIONS = 8192


@dataclass(frozen=True, eq=False)
class EncodedRows:
    """Token ids of N rows, unpadded.

    Attributes:
        input_ids, token_type_ids, special, word_ids: one int/bool array per row, (T_i,) each;
            word_ids is -1 at special tokens; token_type_ids are zeros for families without them.
        lengths: T_i per row, (N,). full_lengths: the count before truncation, (N,).
        max_tokens: the truncation limit used.
    """

    input_ids: tuple[np.ndarray, ...]
    token_type_ids: tuple[np.ndarray, ...]
    special: tuple[np.ndarray, ...]
    word_ids: tuple[np.ndarray, ...]
    lengths: np.ndarray
    full_lengths: np.ndarray
    max_tokens: int

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def truncated(self) -> np.ndarray:
        return self.full_lengths > self.lengths

    @property
    def empty(self) -> np.ndarray:
        """True for rows with no token besides the special ones (only spaces or dropped symbols)."""
        return np.array([bool(s.all()) for s in self.special], dtype=bool)


def token_limit(bundle: ModelBundle, max_tokens: int | None) -> int:
    """`max_tokens` capped at what the model reads (`bundle.max_tokens`, the single-sentence pages' limit)."""
    return bundle.max_tokens if max_tokens is None else max(4, min(int(max_tokens), bundle.max_tokens))


def encode_rows(
    bundle: ModelBundle,
    texts: Sequence[str] | Sequence[list[str]],
    pairs: Sequence[str | None] | None = None,
    max_tokens: int | None = None,
    split_into_words: bool = False,
) -> EncodedRows:
    """Tokenize rows in a few batched tokenizer calls, as `explain.run.encode` does one text.

    Args:
        texts: strings, or lists of words with `split_into_words` (token classification).
        pairs: second texts (None where a row has none), or None.
        max_tokens: truncation limit (default and cap: `bundle.max_tokens`).
    """
    limit = token_limit(bundle, max_tokens)
    n = len(texts)
    pairs = [None] * n if pairs is None else list(pairs)
    if split_into_words:
        firsts = [list(words) for words in texts]
    else:
        firsts = [t.strip()[:MAX_TEXT_CHARS] for t in texts]
    seconds = [p.strip()[:MAX_TEXT_CHARS] if p and p.strip() else None for p in pairs]
    out: list[tuple | None] = [None] * n
    full = np.zeros(n, dtype=np.int64)
    single = [i for i in range(n) if seconds[i] is None]
    paired = [i for i in range(n) if seconds[i] is not None]
    for group, with_pair in ((single, False), (paired, True)):
        if not group:
            continue
        args = ([firsts[i] for i in group],) + (([seconds[i] for i in group],) if with_pair else ())
        enc = _tokenize(bundle, args, split_into_words, truncation=False)
        long_rows = []
        for k, i in enumerate(group):
            full[i] = len(enc["input_ids"][k])
            if full[i] > limit:
                long_rows.append(k)
            else:
                out[i] = _row(bundle, enc, k)
        if long_rows:
            cut_args = tuple([a[k] for k in long_rows] for a in args)
            cut = _tokenize(bundle, cut_args, split_into_words, truncation=True, max_length=limit)
            for j, k in enumerate(long_rows):
                out[group[k]] = _row(bundle, cut, j)
    ids, types, special, words = zip(*out) if n else ((), (), (), ())
    return EncodedRows(
        input_ids=tuple(ids),
        token_type_ids=tuple(types),
        special=tuple(special),
        word_ids=tuple(words),
        lengths=np.array([len(i) for i in ids], dtype=np.int64),
        full_lengths=full,
        max_tokens=limit,
    )


def _tokenize(bundle: ModelBundle, args: tuple, split_into_words: bool, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bundle.tokenizer(
            *args, is_split_into_words=split_into_words, return_special_tokens_mask=True, verbose=False, **kwargs
        )


def _row(bundle: ModelBundle, enc, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    ids = np.asarray(enc["input_ids"][k], dtype=np.int64)
    types = enc.get("token_type_ids")
    types = np.asarray(types[k], dtype=np.int64) if types is not None and bundle.arch.has_token_types else np.zeros_like(ids)
    special = np.asarray(enc["special_tokens_mask"][k], dtype=bool)
    words = np.array([-1 if w is None else w for w in enc.word_ids(k)], dtype=np.int64)
    return ids, types, special, words


def length_batches(
    lengths: np.ndarray, max_rows: int = MAX_ROWS, max_positions: int = MAX_POSITIONS, seed: int | None = 0
) -> list[np.ndarray]:
    """Row indices grouped into batches of similar length, (B_k,) each; every row in exactly one batch.

    Rows are sorted by length; a batch closes when one more row would exceed `max_rows` rows or
    `max_positions` padded positions (rows x the longest row). With `seed` (not None) the batches
    are returned in a seeded random order, else shortest first.
    """
    lengths = np.asarray(lengths)
    order = np.argsort(lengths, kind="stable")
    batches: list[np.ndarray] = []
    start = 0
    for end in range(1, len(order) + 1):
        at_end = end == len(order)
        if not at_end:
            rows, longest = end + 1 - start, int(lengths[order[end]])
            if rows <= max_rows and rows * longest <= max_positions:
                continue
        batches.append(order[start:end])
        start = end
    if seed is not None and len(batches) > 1:
        batches = [batches[i] for i in np.random.default_rng(seed).permutation(len(batches))]
    return batches


def pad_batch(bundle: ModelBundle, encoded: EncodedRows, index: Sequence[int] | np.ndarray) -> dict[str, torch.Tensor]:
    """Model inputs for the rows `index`, right-padded to the longest: input_ids, attention_mask,
    position_ids (+ token_type_ids for families that have them), each (B, T_max)."""
    index = [int(i) for i in index]
    T = max(int(encoded.lengths[i]) for i in index)
    pad_id = bundle.tokenizer.pad_token_id or 0
    ids = torch.full((len(index), T), pad_id, dtype=torch.long)
    types = torch.zeros((len(index), T), dtype=torch.long)
    mask = torch.zeros((len(index), T), dtype=torch.long)
    for b, i in enumerate(index):
        n = int(encoded.lengths[i])
        ids[b, :n] = torch.from_numpy(encoded.input_ids[i])
        types[b, :n] = torch.from_numpy(encoded.token_type_ids[i])
        mask[b, :n] = 1
    inputs = {
        "input_ids": ids,
        "attention_mask": mask,
        "position_ids": (torch.arange(T) + bundle.arch.position_offset).expand(len(index), -1),
    }
    if bundle.arch.has_token_types:
        inputs["token_type_ids"] = types
    return inputs


def length_notices(rows: Rows, enc) -> tuple[str, ...]:
    """Notices about rows cut at the token limit and rows with no word token."""
    notices = []
    cut = np.flatnonzero(enc.truncated)
    if len(cut):
        notices.append(
            ngettext("{n} row is longer than {limit} tokens and was cut there (as on the other pages); line {lines}.",
                     "{n} rows are longer than {limit} tokens and were cut there (as on the other pages); lines "
                     "{lines}.", len(cut)).format(n=len(cut), limit=enc.max_tokens, lines=_first_lines(rows, cut))
        )
    empty = np.flatnonzero(enc.empty)
    if len(empty):
        notices.append(
            ngettext("{n} row has no word token left after tokenization (line {lines}); its prediction comes from "
                     "the special tokens alone.",
                     "{n} rows have no word token left after tokenization (lines {lines}); their predictions come "
                     "from the special tokens alone.", len(empty)).format(n=len(empty), lines=_first_lines(rows, empty))
        )
    return tuple(notices)


def _first_lines(rows: Rows, index: np.ndarray) -> str:
    shown = ", ".join(str(rows.lines[i]) for i in index[:5])
    return shown + (", ..." if len(index) > 5 else "")
