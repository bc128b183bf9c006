"""BERT's masked-LM pre-training procedure on one input, and what the model predicts at each chosen token.

Devlin et al. 2019, sec. 3.1 ("Task #1: Masked LM") and appendix A.1, as the reference implementation
(create_pretraining_data.py) does it: round(15 %) of the tokens are chosen (at least one; [CLS], [SEP]
and padding never), then each chosen token is replaced by the mask token 80 % of the time, by a random
token 10 % of the time, and kept unchanged 10 % of the time. The model must predict the original token at
every chosen position, including the kept ones: it never knows which tokens were tampered with.

Draws use a private `numpy.random.Generator` seeded by the caller (a lesson re-draws with another seed);
torch's global RNG is never touched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from explain.errors import InputError
from explain.i18n import _
from explain.mlm import _head
from explain.models.arch import encoder_of
from explain.models.checkpoint import ModelBundle
from explain.run import ModelRun, _frozen

MASK, RANDOM, KEEP = "mask", "random", "keep"
_UNUSED = re.compile(r"^[\[<]unused\d+[\]>]$")


@dataclass(frozen=True)
class MaskingDraw:
    """One draw of the procedure on a ModelRun's tokens.

    tokens, input_ids: the original input (T,); corrupted_ids, corrupted_tokens: what the model reads
    (T,); token_type_ids: segments (T,); positions: the chosen positions, sorted (K,); actions: MASK,
    RANDOM or KEEP for each chosen position (K,); candidates: how many tokens could be chosen (the
    non-special ones); seed, rate, mask_share, random_share: the draw's settings.
    """

    seed: int
    rate: float
    mask_share: float
    random_share: float
    tokens: tuple[str, ...]
    input_ids: np.ndarray
    token_type_ids: np.ndarray
    corrupted_ids: np.ndarray
    corrupted_tokens: tuple[str, ...]
    positions: np.ndarray
    actions: tuple[str, ...]
    candidates: int

    @property
    def targets(self) -> np.ndarray:
        """The original ids at the chosen positions, (K,): what the model must predict."""
        return self.input_ids[self.positions]

    def count(self, action: str) -> int:
        return sum(a == action for a in self.actions)


@dataclass(frozen=True)
class MaskedPredictions:
    """What the model predicts at each chosen position of a draw, from one forward pass.

    top_ids, top_probs: (K, k); top_tokens: K tuples of k strings; target_probs: P(original token), (K,);
    target_ranks: its rank among all tokens (0 = top), (K,); loss: mean -log P(original) in nats over the
    chosen positions (BERT's MLM loss for this input); accuracy: share of positions whose top-1 is the original.
    """

    draw: MaskingDraw
    top_ids: np.ndarray
    top_probs: np.ndarray
    top_tokens: tuple[tuple[str, ...], ...]
    target_probs: np.ndarray
    target_ranks: np.ndarray
    loss: float
    accuracy: float


@lru_cache(maxsize=8)
def replacement_ids(tokenizer) -> np.ndarray:
    """Ids a random replacement is drawn from: the whole vocabulary except special and [unusedN] tokens."""
    special = set(tokenizer.all_special_ids)
    vocab = tokenizer.get_vocab()
    ids = sorted(i for t, i in vocab.items() if i not in special and not _UNUSED.match(t))
    return _frozen(np.array(ids, dtype=np.int64))


def draw_masking(
    bundle: ModelBundle,
    run: ModelRun,
    seed: int,
    rate: float = 0.15,
    mask_share: float = 0.8,
    random_share: float = 0.1,
) -> MaskingDraw:
    """Choose round(rate x non-special tokens) positions (at least one) and corrupt them 80/10/10.

    >>> draw = draw_masking(bundle, run, seed=0)
    >>> draw.positions, draw.actions            # e.g. [3 9], ('mask', 'random')
    """
    tok = bundle.tokenizer
    if tok.mask_token_id is None:
        raise InputError(_("{model}'s tokenizer has no mask token.").format(model=_(bundle.name)))
    if not (0 < rate <= 1 and 0 <= mask_share and 0 <= random_share and mask_share + random_share <= 1):
        raise InputError(_("The masking rate must be in (0, 1] and the 80/10/10 shares must add up to at most 1."))
    candidates = np.flatnonzero(~run.special)
    if len(candidates) == 0:
        raise InputError(_("The text has no word tokens to mask: type a sentence."))
    rng = np.random.default_rng(seed)
    k = min(len(candidates), max(1, round(rate * len(candidates))))
    positions = np.sort(rng.choice(candidates, size=k, replace=False))
    r = rng.random(k)
    actions = np.where(r < mask_share, MASK, np.where(r < mask_share + random_share, RANDOM, KEEP))
    corrupted = run.input_ids.copy()
    corrupted[positions[actions == MASK]] = tok.mask_token_id
    swap = positions[actions == RANDOM]
    corrupted[swap] = rng.choice(replacement_ids(tok), size=len(swap))
    return MaskingDraw(
        seed=seed,
        rate=rate,
        mask_share=mask_share,
        random_share=random_share,
        tokens=run.tokens,
        input_ids=_frozen(run.input_ids.copy()),
        token_type_ids=_frozen(run.token_type_ids.copy()),
        corrupted_ids=_frozen(corrupted),
        corrupted_tokens=tuple(tok.convert_ids_to_tokens(corrupted.tolist())),
        positions=_frozen(positions),
        actions=tuple(str(a) for a in actions),
        candidates=len(candidates),
    )


def predict_masked(bundle: ModelBundle, draw: MaskingDraw, top_k: int = 5) -> MaskedPredictions:
    """One forward pass on the corrupted input; the MLM head's distribution at each chosen position.

    Raises InputError when the model has no MLM head. `draw` must come from this bundle's tokenizer.
    """
    head = _head(bundle)
    ids = torch.tensor(draw.corrupted_ids)[None]
    inputs = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
    if bundle.arch.has_token_types:
        inputs["token_type_ids"] = torch.tensor(draw.token_type_ids)[None]
    with torch.inference_mode():
        hidden = encoder_of(bundle.model)(**inputs).last_hidden_state[0, torch.tensor(draw.positions)]
        log_probs = torch.log_softmax(head(hidden).double(), dim=-1).numpy()
    targets = draw.targets
    target_lp = log_probs[np.arange(len(targets)), targets]
    top_ids = np.argsort(-log_probs, axis=1, kind="stable")[:, :top_k]
    ranks = (log_probs > target_lp[:, None]).sum(axis=1)
    tok = bundle.tokenizer
    return MaskedPredictions(
        draw=draw,
        top_ids=_frozen(top_ids),
        top_probs=_frozen(np.exp(np.take_along_axis(log_probs, top_ids, axis=1))),
        top_tokens=tuple(tuple(tok.convert_ids_to_tokens(row.tolist())) for row in top_ids),
        target_probs=_frozen(np.exp(target_lp)),
        target_ranks=_frozen(ranks),
        loss=float(-target_lp.mean()),
        accuracy=float((top_ids[:, 0] == targets).mean()),
    )
