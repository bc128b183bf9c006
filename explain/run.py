"""One forward pass -> one immutable ModelRun that every view reads.

Shape glossary: T tokens (special tokens included), L layers, H heads, D hidden size, C classes.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch

from explain.errors import InputError
from explain.i18n import _
from explain.models.arch import embeddings_of, encoder_of, nsp_head_of
from explain.models.checkpoint import ModelBundle

MAX_TEXT_CHARS = 50_000


@dataclass(frozen=True, eq=False)
class ModelRun:
    """Everything one forward pass of `model_name` on (text, text_pair) produced, on CPU, read-only.

    Attributes:
        tokens: WordPiece (or BPE) tokens, (T,).
        input_ids, token_type_ids, position_ids: int arrays (T,).
        segment: 0 for text A, 1 for text B (also for models without token types), (T,).
        special: True at [CLS]/[SEP]/[PAD]-like tokens, (T,).
        word_ids: index of the word each token belongs to, -1 for special tokens, (T,).
        attentions: softmax weights, rows sum to 1, (L, H, T, T) as [layer, head, query, key].
        hidden_states: embedding output then each layer's output, (L + 1, T, D).
        word_part, position_part, type_part: the embedding sum's three terms before LayerNorm, (T, D).
        head_logits: classification logits, (C,) or (T, C) for token classification; None otherwise.
        nsp_logits: next-sentence logits [is next, is random], (2,), when the model has that head.
        truncated_from: the token count before truncation, or None when nothing was cut.
        masked: positions replaced by the mask token on request (not typed [MASK]s), with
        original_ids: the ids that stood there, (len(masked),).
    """

    model_name: str
    text: str
    text_pair: str | None
    tokens: tuple[str, ...]
    input_ids: np.ndarray
    token_type_ids: np.ndarray
    position_ids: np.ndarray
    segment: np.ndarray
    special: np.ndarray
    word_ids: np.ndarray
    attentions: np.ndarray
    hidden_states: np.ndarray
    word_part: np.ndarray
    position_part: np.ndarray
    type_part: np.ndarray
    head_logits: np.ndarray | None = None
    nsp_logits: np.ndarray | None = None
    truncated_from: int | None = None
    masked: tuple[int, ...] = ()
    original_ids: tuple[int, ...] = ()

    @property
    def num_tokens(self) -> int:
        return len(self.tokens)

    @property
    def num_layers(self) -> int:
        return self.attentions.shape[0]

    @property
    def num_heads(self) -> int:
        return self.attentions.shape[1]

    @property
    def nbytes(self) -> int:
        """Memory held by the run's arrays, in bytes (attentions dominate: L x H x T x T x 4)."""
        return sum(v.nbytes for v in vars(self).values() if isinstance(v, np.ndarray))


def check_text(text: str | None) -> str:
    """The text, stripped of surrounding space; raises InputError when nothing is left to analyse."""
    if text is None or not text.strip():
        raise InputError(_("The text is empty: type a sentence to analyse."))
    return text.strip()


def encode(bundle: ModelBundle, text: str, text_pair: str | None = None) -> tuple[dict, int | None]:
    """Tokenizer output as tensors, truncated to the model's maximum, and the length before truncation."""
    text = check_text(text)[:MAX_TEXT_CHARS]
    text_pair = text_pair.strip()[:MAX_TEXT_CHARS] if text_pair and text_pair.strip() else None
    tok = bundle.tokenizer
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = len(tok(text, text_pair, truncation=False, verbose=False)["input_ids"])
    enc = tok(
        text,
        text_pair,
        truncation=True,
        max_length=bundle.max_tokens,
        return_tensors="pt",
        return_special_tokens_mask=True,
    )
    content = int((enc["special_tokens_mask"][0] == 0).sum())
    if content == 0:
        raise InputError(_(
            "Nothing is left of this text after tokenization (only spaces, control characters or "
            "symbols the tokenizer drops): type some words."
        ))
    return enc, (full if full > enc["input_ids"].shape[1] else None)


def run_model(
    bundle: ModelBundle, text: str, text_pair: str | None = None, mask_positions: tuple[int, ...] = ()
) -> ModelRun:
    """Run `bundle` once on (text, text_pair) with attentions and hidden states.

    `mask_positions` replaces those tokens by the mask token first (to ask the MLM what belongs there).

    >>> run = run_model(bundle, "The bank raised rates.")
    >>> run.attentions.shape  # (layers, heads, query, key)
    (6, 12, 8, 8)
    """
    enc, truncated_from = encode(bundle, text, text_pair)
    ids = enc["input_ids"].clone()
    T = ids.shape[1]
    masked = tuple(sorted(set(int(p) for p in mask_positions)))
    original_ids = tuple(int(ids[0, p]) for p in masked if 0 <= p < T)
    if len(original_ids) != len(masked):
        raise InputError(_("Cannot mask positions {positions}: the input has {n} tokens.").format(
            positions=", ".join(map(str, masked)), n=T))
    if masked:
        if bundle.tokenizer.mask_token_id is None:
            raise InputError(_("The tokenizer of {model} has no mask token.").format(model=_(bundle.name)))
        if any(enc["special_tokens_mask"][0, p] for p in masked):
            raise InputError(_("Special tokens ([CLS], [SEP]) cannot be masked; choose a word token."))
        ids[0, list(masked)] = bundle.tokenizer.mask_token_id
    arch = bundle.arch
    emb = embeddings_of(bundle.model)
    token_types = enc.get("token_type_ids")
    if token_types is None:
        token_types = torch.zeros_like(ids)
    # Explicit positions: RoBERTa-like models would otherwise skip a typed pad token when they count.
    position_ids = torch.arange(T).unsqueeze(0) + arch.position_offset
    model_inputs = {"input_ids": ids, "attention_mask": enc["attention_mask"], "position_ids": position_ids}
    if arch.has_token_types:
        model_inputs["token_type_ids"] = token_types

    head_logits = nsp_logits = None
    with torch.inference_mode():
        if bundle.task in ("masked-lm", "pretraining", "next-sentence", "encoder"):
            out = encoder_of(bundle.model)(**model_inputs, output_attentions=True, output_hidden_states=True)
            nsp = nsp_head_of(bundle.model) if bundle.has_nsp else None
            if nsp is not None and out.pooler_output is not None:
                nsp_logits = nsp(out.pooler_output)[0].numpy()
        else:
            out = bundle.model(**model_inputs, output_attentions=True, output_hidden_states=True)
            head_logits = out.logits[0].numpy()
        word = emb.word_embeddings(ids)[0]
        pos = emb.position_embeddings(position_ids)[0]
        types = emb.token_type_embeddings(token_types)[0] if arch.has_token_types else torch.zeros_like(word)

    special = enc["special_tokens_mask"][0].numpy().astype(bool)
    word_ids = np.array([-1 if w is None else w for w in enc.word_ids(0)], dtype=np.int64)
    return ModelRun(
        model_name=bundle.name,
        text=text,
        text_pair=text_pair,
        tokens=tuple(bundle.tokenizer.convert_ids_to_tokens(ids[0].tolist())),
        input_ids=_frozen(ids[0].numpy()),
        token_type_ids=_frozen(token_types[0].numpy()),
        position_ids=_frozen(position_ids[0].numpy()),
        segment=_frozen(_segments(enc)),
        special=_frozen(special),
        word_ids=_frozen(word_ids),
        attentions=_frozen(torch.stack(out.attentions)[:, 0].float().numpy()),
        hidden_states=_frozen(torch.stack(out.hidden_states)[:, 0].float().numpy()),
        word_part=_frozen(word.numpy()),
        position_part=_frozen(pos.numpy()),
        type_part=_frozen(types.numpy()),
        head_logits=None if head_logits is None else _frozen(head_logits),
        nsp_logits=None if nsp_logits is None else _frozen(nsp_logits),
        truncated_from=truncated_from,
        masked=masked,
        original_ids=original_ids,
    )


def _segments(enc) -> np.ndarray:
    """0 for text A and its specials, 1 for text B, from the tokenizer's sequence ids."""
    seq = enc.sequence_ids(0)
    seg = np.zeros(len(seq), dtype=np.int64)
    seen_b = False
    for i, s in enumerate(seq):
        seen_b = seen_b or s == 1
        seg[i] = 1 if seen_b else 0
    return seg


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a
