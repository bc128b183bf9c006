"""Masked-token predictions: fill-mask, predictions layer by layer (logit lens), pseudo-log-likelihood, NSP.

All read the ModelRun's hidden states and apply the bundle's MLM head; nothing runs the encoder again
except the pseudo-log-likelihood, which needs one masked copy of the input per token.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from explain.errors import InputError
from explain.i18n import _
from explain.models.arch import encoder_of, mlm_head_of
from explain.models.checkpoint import ModelBundle
from explain.run import ModelRun, encode
from explain.settings import check_pll_tokens

# Bound on batch x heads x T x T attention elements per chunk of the PLL batch (~200 MB of float32).
_PLL_CHUNK_ELEMENTS = 50_000_000


@dataclass(frozen=True)
class FillMask:
    """Top-k predictions at each mask.

    positions: (M,) token positions; top_ids, top_probs: (M, k); top_tokens: M tuples of k strings;
    filled_text: the input with each mask replaced by its top-1 token.
    """

    positions: np.ndarray
    top_ids: np.ndarray
    top_probs: np.ndarray
    top_tokens: tuple[tuple[str, ...], ...]
    filled_text: str


@dataclass(frozen=True)
class LayerLens:
    """The MLM head applied to every layer's hidden state at one position ("logit lens").

    top_tokens: (L + 1) tuples of k strings; top_probs: (L + 1, k); target_rank / target_prob: rank
    (0 = top) and probability of `target_id` at each layer, or None when there is no target.
    """

    position: int
    top_tokens: tuple[tuple[str, ...], ...]
    top_probs: np.ndarray
    target_id: int | None
    target_rank: np.ndarray | None
    target_prob: np.ndarray | None


@dataclass(frozen=True)
class PseudoLikelihood:
    """Per-token log-probabilities with each token masked in turn (Salazar et al., ACL 2020).

    positions: scored (non-special) positions, (N,); log_probs: natural-log P(token | rest), (N,);
    surprisal: -log2 P in bits, (N,); pll: sum of log_probs; pseudo_perplexity: exp(-pll / N).
    """

    tokens: tuple[str, ...]
    positions: np.ndarray
    log_probs: np.ndarray
    surprisal: np.ndarray
    pll: float
    pseudo_perplexity: float


def _head(bundle: ModelBundle):
    head = mlm_head_of(bundle.model) if bundle.has_mlm else None
    if head is None:
        raise InputError(_(
            "{model} has no masked-language-model head: choose a model with one "
            "(the shipped MLM head, SPLADE-tiny, or a hub MLM checkpoint)."
        ).format(model=_(bundle.name)))
    return head


def vocab_probs(bundle: ModelBundle, hidden: np.ndarray) -> np.ndarray:
    """Softmax over the vocabulary of the MLM head at each given hidden state. (N, D) -> (N, V)."""
    head = _head(bundle)
    with torch.inference_mode():
        logits = head(torch.tensor(hidden, dtype=torch.float32))
        return torch.softmax(logits.double(), dim=-1).numpy()


def _check_top_k(bundle: ModelBundle, top_k) -> int:
    """top_k as an int from 1 to the vocabulary size, else InputError."""
    vocab = int(bundle.config.vocab_size)
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or not 1 <= top_k <= vocab:
        raise InputError(
            _("The number of predictions must be a whole number from 1 to {vocab}; got {value!r}.").format(
                vocab=vocab, value=top_k
            )
        )
    return int(top_k)


def mask_positions(bundle: ModelBundle, run: ModelRun) -> np.ndarray:
    """Positions holding the mask token, typed or requested."""
    mask_id = bundle.tokenizer.mask_token_id
    return np.flatnonzero(run.input_ids == mask_id) if mask_id is not None else np.array([], dtype=int)


def fill_mask(bundle: ModelBundle, run: ModelRun, top_k: int = 10) -> FillMask:
    """Top-k tokens at every mask of the run. Raises InputError when the text has no mask."""
    top_k = _check_top_k(bundle, top_k)
    positions = mask_positions(bundle, run)
    if len(positions) == 0:
        raise InputError(_(
            "There is no {mask} in the text. Type {mask} where a word should be predicted, or choose a token to mask."
        ).format(mask=bundle.mask_token))
    probs = vocab_probs(bundle, run.hidden_states[-1][positions])
    top_ids = np.argsort(-probs, axis=1)[:, :top_k]
    top_probs = np.take_along_axis(probs, top_ids, axis=1)
    tok = bundle.tokenizer
    top_tokens = tuple(tuple(tok.convert_ids_to_tokens(row.tolist())) for row in top_ids)
    filled = run.input_ids.copy()
    filled[positions] = top_ids[:, 0]
    body = filled[~run.special]
    return FillMask(positions, top_ids, top_probs, top_tokens, tok.decode(body.tolist()))


def layer_lens(bundle: ModelBundle, run: ModelRun, position: int, top_k: int = 5, target_id: int | None = None) -> LayerLens:
    """Apply the MLM head to hidden_states[l][position] for every l = 0..L.

    `target_id` defaults to the original token when the position was masked on request.
    """
    top_k = _check_top_k(bundle, top_k)
    if not 0 <= position < run.num_tokens:
        raise InputError(_("Position {position} is outside the {n} tokens.").format(position=position, n=run.num_tokens))
    if target_id is None and position in run.masked:
        target_id = run.original_ids[run.masked.index(position)]
    probs = vocab_probs(bundle, run.hidden_states[:, position])
    top_ids = np.argsort(-probs, axis=1)[:, :top_k]
    tok = bundle.tokenizer
    rank = prob = None
    if target_id is not None:
        prob = probs[:, target_id]
        rank = (probs > prob[:, None]).sum(axis=1)
    return LayerLens(
        position=position,
        top_tokens=tuple(tuple(tok.convert_ids_to_tokens(r.tolist())) for r in top_ids),
        top_probs=np.take_along_axis(probs, top_ids, axis=1),
        target_id=target_id,
        target_rank=rank,
        target_prob=prob,
    )


def pseudo_log_likelihood(bundle: ModelBundle, text: str, text_pair: str | None = None) -> PseudoLikelihood:
    """Mask each word token in turn, all copies in one batch (chunked only for long inputs).

    Special tokens and mask tokens typed in the text are not scored. Raises InputError when the text
    has more tokens than this server's `max_pll_tokens` (explain.settings).

    Only the masked position's hidden state goes through the vocabulary projection.
    """
    head = _head(bundle)
    enc = encode(bundle, text, text_pair)[0]
    ids = enc["input_ids"][0]
    T = len(ids)
    check_pll_tokens(T)
    scored = (enc["special_tokens_mask"][0] == 0) & (ids != bundle.tokenizer.mask_token_id)
    positions = torch.nonzero(scored).flatten()
    if len(positions) == 0:
        raise InputError(_("Nothing to score: the text has no word tokens besides masks."))
    batch = ids.repeat(len(positions), 1)
    rows = torch.arange(len(positions))
    batch[rows, positions] = bundle.tokenizer.mask_token_id
    extra = {k: enc[k].expand(len(positions), -1) for k in ("token_type_ids",) if k in enc and bundle.arch.has_token_types}
    extra["position_ids"] = (torch.arange(T) + bundle.arch.position_offset).expand(len(positions), -1)
    chunk = max(1, _PLL_CHUNK_ELEMENTS // (bundle.num_heads * T * T))
    log_probs = []
    with torch.inference_mode():
        for start in range(0, len(positions), chunk):
            sl = slice(start, start + chunk)
            hidden = encoder_of(bundle.model)(input_ids=batch[sl], **{k: v[sl] for k, v in extra.items()}).last_hidden_state
            at_mask = hidden[torch.arange(hidden.shape[0]), positions[sl]]
            logp = torch.log_softmax(head(at_mask).double(), dim=-1)
            log_probs.append(logp[torch.arange(logp.shape[0]), ids[positions[sl]]])
    lp = torch.cat(log_probs).numpy()
    pll = float(lp.sum())
    return PseudoLikelihood(
        tokens=tuple(bundle.tokenizer.convert_ids_to_tokens(ids.tolist())),
        positions=positions.numpy(),
        log_probs=lp,
        surprisal=-lp / np.log(2),
        pll=pll,
        pseudo_perplexity=float(np.exp(-pll / len(lp))),
    )


def next_sentence_probability(run: ModelRun) -> float | None:
    """P(text B follows text A) from BERT's NSP head, or None without a pair or without the head."""
    if run.nsp_logits is None or run.text_pair is None:
        return None
    z = run.nsp_logits.astype(np.float64)
    e = np.exp(z - z.max())
    return float(e[0] / e.sum())
