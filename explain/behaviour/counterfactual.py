"""What would flip this prediction? The smallest set of word substitutions (up to k) that changes it.

    cf = counterfactual(bundle, "A gripping, beautifully shot film.", mlm=mlm_bundle)
    cf.found, cf.edited_text, cf.edits, cf.label_after, cf.attributions.difference

1. One forward and backward pass gives the gradient g (T, D) of log p(target) - log p(predicted) with
   respect to the input word embeddings (`inputs_embeds`: no hook on the shared model).
2. HotFlip (Ebrahimi et al., ACL 2018), first order: replacing word w (pieces P_w, first piece p) by the
   single token v changes that objective by about E[v]·g_p - sum over P_w of E[x_q]·g_q.
3. Replacements: with a masked LM that shares the classifier's vocabulary (`mlm`), the MLM's top
   `mlm_top` fills of the word masked out (fluent words), else every whole-word token of the vocabulary;
   ranked by the first-order gain. The `positions` words with the best gain keep their `per_position`
   best replacements.
4. Search: every single substitution is rerun through the model (batched); if none flips the
   prediction, a beam of the `beam` best edits so far (by the rerun margin) grows by one word at a
   time, up to `k` words, with the 2 x `beam` single substitutions whose rerun moved the margin
   most. Only edits the rerun confirms are returned: the first size that flips gives the answer
   (the flip with the highest probability of its new class). Exhaustive over the candidates for one
   word, a beam beyond: as LIT's HotFlip, minimal in the sense that no smaller set among those tried
   flipped.
5. Integrated Gradients toward the originally predicted class on both texts (one batched, adaptive
   run, `explain.attribution.adaptive`), merged into words and aligned word by word, with their difference.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from explain.attribution.core import prepare
from explain.behaviour.compare import WordComparison, compare_attributions
from explain.behaviour.edits import replace_spans
from explain.behaviour.predict import predict_texts
from explain.errors import BertLensError, InputError
from explain.i18n import _
from explain.models.arch import embeddings_of, encoder_of, mlm_head_of
from explain.models.checkpoint import ModelBundle
from explain.run import _frozen


@dataclass(frozen=True)
class WordEdit:
    """Word `word` (its index among the text's words) `old` at characters [start, end) replaced by `new`."""

    word: int
    old: str
    new: str
    start: int
    end: int


@dataclass(frozen=True, eq=False)
class Counterfactual:
    """The result of `counterfactual`.

    Attributes:
        text: the text (stripped). found: a flip was confirmed. edited_text: the flipped text, or None.
        edits: the substitutions, in text order. label_before / probs_before (C,): the model on `text`;
        label_after / probs_after: on `edited_text` (None when not found). target_label: the class the
        gradient pushed toward. proposals: "masked LM" or "vocabulary". reruns: texts run to confirm.
        seconds: wall time (attributions included). attributions: WordComparison, or None.
    """

    text: str
    found: bool
    edited_text: str | None
    edits: tuple[WordEdit, ...]
    label_before: str
    probs_before: np.ndarray
    label_after: str | None
    probs_after: np.ndarray | None
    target_label: str
    proposals: str
    reruns: int
    seconds: float
    attributions: WordComparison | None = None


@dataclass(frozen=True)
class _Word:
    index: int
    text: str
    start: int
    end: int
    pieces: tuple[int, ...]


def counterfactual(bundle: ModelBundle, text: str, k: int = 3, target: int | str | None = None,
                   mlm: ModelBundle | None = None, positions: int = 8, per_position: int = 4, beam: int = 8,
                   mlm_top: int = 40, attributions: bool = True) -> Counterfactual:
    """The smallest set of up to `k` word substitutions that changes `bundle`'s prediction on `text`.

    Args:
        bundle: a sequence classifier (shared; never modified).
        target: the class to push toward (default: the most probable other class); any change of the
            predicted class counts as a flip.
        mlm: a masked-LM bundle with the same vocabulary (the shipped MLM model for MiniLM heads), to
            propose fluent replacements; None proposes from the whole vocabulary.
        positions, per_position, beam, mlm_top: the search's breadth (see the module docstring).
        attributions: also compare the IG attributions of both texts (word by word).

    Raises:
        InputError: not a sequence classifier, an MLM with another vocabulary, an empty text, k < 1.
    """
    start = time.perf_counter()
    if bundle.task != "sequence-classification" or len(bundle.labels) < 2:
        raise InputError(_("The counterfactual search needs a text classifier with at least two classes; '{name}' "
                           "is not one.").format(name=_(bundle.name)))
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= 10:
        raise InputError(_("k (words to change) must be from 1 to 10; got {k}.").format(k=repr(k)))
    if mlm is not None:
        _check_mlm(bundle, mlm)
    prep = prepare(bundle, text)
    text = prep.text.strip()
    probs = torch.softmax(torch.from_numpy(prep.logits), -1).numpy()
    c0 = int(np.argmax(probs))
    goal = _target(bundle, target, probs, c0)
    words = _words(bundle, text, prep)
    if not words:
        raise InputError(_("The text has no word that could be replaced."))
    grad = _gradient(bundle, prep, goal, c0)
    cand = _candidates(bundle, prep, words, grad, mlm, positions, per_position, mlm_top)
    found, reruns = _search(bundle, text, words, cand, c0, goal, int(k), beam)
    labels = tuple(bundle.labels)
    if found is None:
        return Counterfactual(text, False, None, (), labels[c0], _frozen(probs), None, None, labels[goal],
                              _proposals(mlm), reruns, time.perf_counter() - start)
    edits, edited, new_probs = found
    comparison = compare_attributions(bundle, text, edited, c0, [e.word for e in edits]) if attributions else None
    return Counterfactual(text, True, edited, edits, labels[c0], _frozen(probs), labels[int(np.argmax(new_probs))],
                          _frozen(new_probs), labels[goal], _proposals(mlm), reruns, time.perf_counter() - start,
                          comparison)


def proposal_model(bundle: ModelBundle) -> str | None:
    """The shipped masked-LM head on the same base encoder as `bundle` (same vocabulary), to propose fluent
    replacements ('all-MiniLM-L6-v2 + BERT Lens MLM head' for the MiniLM heads); None when there is none
    (the search then proposes from the whole vocabulary). Only cards are read: nothing is loaded."""
    from explain.models.heads import read_card, shipped_heads

    base = bundle.card.get("base") if bundle.card else None
    if not base:
        return None
    for name, folder in shipped_heads().items():
        try:
            card = read_card(folder)
        except BertLensError:
            continue
        if card["task"] == "masked-lm" and card["base"] == base:
            return name
    return None


def _proposals(mlm) -> str:
    return "masked LM" if mlm is not None else "vocabulary"


def _check_mlm(bundle: ModelBundle, mlm: ModelBundle) -> None:
    if not mlm.has_mlm:
        raise InputError(_("'{name}' has no masked-LM head to propose replacements.").format(name=_(mlm.name)))
    if mlm.tokenizer.get_vocab() != bundle.tokenizer.get_vocab():
        raise InputError(_("'{mlm}' and '{model}' do not share a vocabulary, so the masked LM cannot propose words "
                           "for this classifier.").format(mlm=_(mlm.name), model=_(bundle.name)))


def _target(bundle, target, probs: np.ndarray, c0: int) -> int:
    if target is None:
        order = np.argsort(-probs)
        return int(order[1]) if order[0] == c0 else int(order[0])
    labels = list(bundle.labels)
    goal = labels.index(target) if isinstance(target, str) and target in labels else target
    if not isinstance(goal, (int, np.integer)) or not 0 <= goal < len(labels) or goal == c0:
        raise InputError(_("target must be a class other than the predicted '{label}': one of {labels}.").format(
            label=labels[c0], labels=", ".join(l for i, l in enumerate(labels) if i != c0)))
    return int(goal)


def _words(bundle: ModelBundle, text: str, prep) -> list[_Word]:
    """The text's words that can be replaced (letters only), with their pieces and character spans."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        enc = bundle.tokenizer(text, truncation=True, max_length=bundle.max_tokens, return_offsets_mapping=True)
    if list(enc["input_ids"]) != prep.input_ids[0].tolist():
        raise InputError(_("This tokenizer gives no character offsets that match its tokens; the counterfactual "
                           "search cannot map words back to the text."))
    groups: dict[int, list[int]] = {}
    for pos, w in enumerate(prep.word_ids):
        if w >= 0 and not prep.special[pos]:
            groups.setdefault(int(w), []).append(pos)
    out = []
    for i, (_w, pieces) in enumerate(sorted(groups.items())):
        s, e = enc["offset_mapping"][pieces[0]][0], enc["offset_mapping"][pieces[-1]][1]
        if text[s:e].isalpha():
            out.append(_Word(i, text[s:e], s, e, tuple(pieces)))
    return out


def _gradient(bundle: ModelBundle, prep, goal: int, c0: int) -> torch.Tensor:
    """d(log p(goal) - log p(c0)) / d(word embeddings), (T, D), hook-free on the shared model."""
    x = prep.embeddings.clone().requires_grad_(True)
    with torch.enable_grad():
        logits = bundle.model(inputs_embeds=x, **prep.model_inputs(1)).logits[0]
        lp = torch.log_softmax(logits.double(), -1)
        (grad,) = torch.autograd.grad(lp[goal] - lp[c0], x)
    return grad[0].detach()


@lru_cache(maxsize=8)
def _whole_words(tokenizer) -> tuple[np.ndarray, tuple[str, ...]]:
    """The vocabulary's whole-word tokens of 2+ letters, as ids (V',) and the words they write.

    WordPiece: tokens that are not '##' continuations; byte-level BPE / SentencePiece: tokens that
    start a word ('Ġ' or '▁' first), written without the marker. Specials and [unused] are left out.
    """
    tokens = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
    special = set(tokenizer.all_special_ids)
    wordpiece = any(t and t.startswith("##") for t in tokens)
    ids, words = [], []
    for i, t in enumerate(tokens):
        word = t if wordpiece else (t[1:] if t and t[0] in "Ġ▁" else "")
        if word and word.isalpha() and len(word) > 1 and i not in special:
            ids.append(i)
            words.append(word)
    return np.array(ids, dtype=np.int64), tuple(words)


def _candidates(bundle, prep, words, grad, mlm, positions, per_position, mlm_top) -> list[tuple[_Word, list[str]]]:
    """The `positions` most promising words, each with its `per_position` best replacements (strings)."""
    emb = embeddings_of(bundle.model).word_embeddings.weight.detach()
    ids = prep.input_ids[0]
    vocab_ids, vocab_words = _whole_words(bundle.tokenizer)
    word_of = dict(zip(vocab_ids.tolist(), vocab_words))
    vocab = torch.from_numpy(vocab_ids)
    firsts = torch.tensor([w.pieces[0] for w in words])
    removed = torch.stack([(emb[ids[list(w.pieces)]] * grad[list(w.pieces)]).sum() for w in words])  # (W,)
    if mlm is None:
        gain = emb[vocab] @ grad[firsts].T - removed  # (V', W)
        pools = [vocab.numpy()] * len(words)
        scores = [gain[:, j].numpy() for j in range(len(words))]
    else:
        pools = _mlm_fills(mlm, ids, words, mlm_top)
        scores = [(emb[torch.from_numpy(p)] @ grad[w.pieces[0]] - removed[j]).numpy() for j, (w, p) in
                  enumerate(zip(words, pools))]
    ranked = []
    for w, pool, score in zip(words, pools, scores):
        order = np.argsort(-score)
        names = []
        for i in order:
            token = word_of[int(pool[i])]
            if token.lower() != w.text.lower():
                names.append(_cased(token, w.text))
            if len(names) == per_position:
                break
        if names:
            ranked.append((float(score[order[0]]), w, names))
    ranked.sort(key=lambda r: -r[0])
    return [(w, names) for _gain, w, names in ranked[:positions]]


def _cased(token: str, like: str) -> str:
    return token.capitalize() if like[:1].isupper() else token


def _mlm_fills(mlm: ModelBundle, ids: torch.Tensor, words, top: int) -> list[np.ndarray]:
    """Per word: the masked LM's `top` whole-word fills when the word is replaced by one mask, (<=top,) ids."""
    mask_id = mlm.tokenizer.mask_token_id
    rows = [torch.cat([ids[: w.pieces[0]], torch.tensor([mask_id]), ids[w.pieces[-1] + 1:]]) for w in words]
    T = max(len(r) for r in rows)
    pad = mlm.tokenizer.pad_token_id or 0
    batch = torch.full((len(rows), T), pad, dtype=torch.long)
    attention = torch.zeros((len(rows), T), dtype=torch.long)
    for i, r in enumerate(rows):
        batch[i, : len(r)], attention[i, : len(r)] = r, 1
    allowed = np.zeros(len(mlm.tokenizer), dtype=bool)
    allowed[_whole_words(mlm.tokenizer)[0]] = True
    with torch.inference_mode():
        inputs = {"input_ids": batch, "attention_mask": attention,
                  "position_ids": (torch.arange(T) + mlm.arch.position_offset).expand(len(rows), -1)}
        hidden = encoder_of(mlm.model)(**inputs).last_hidden_state
        at_mask = hidden[torch.arange(len(rows)), torch.tensor([w.pieces[0] for w in words])]
        logits = mlm_head_of(mlm.model)(at_mask).float().numpy()  # (W, V)
    logits[:, ~allowed[: logits.shape[1]]] = -np.inf
    return [np.argsort(-row)[:top] for row in logits]


def _edit(text: str, words, chosen: tuple[tuple[int, str], ...]) -> tuple[str, tuple[WordEdit, ...]]:
    spans = [(words[j].start, words[j].end, new) for j, new in chosen]
    edited, _spans = replace_spans(text, spans)
    edits = tuple(sorted((WordEdit(words[j].index, words[j].text, new, words[j].start, words[j].end)
                          for j, new in chosen), key=lambda e: e.start))
    return edited, edits


def _search(bundle, text, words, cand, c0: int, goal: int, k: int, beam: int):
    """Confirmed flips by increasing size; ((edits, edited text, probs) or None, texts rerun)."""
    index = {w.index: j for j, w in enumerate(words)}
    singles = [((index[w.index], new),) for w, names in cand for new in names]
    frontier, seen, reruns = singles, set(), 0
    for size in range(1, k + 1):
        frontier = [c for c in frontier if frozenset(c) not in seen and len({j for j, _n in c}) == size]
        if not frontier:
            break
        seen.update(frozenset(c) for c in frontier)
        edited = [_edit(text, words, c) for c in frontier]
        probs = predict_texts(bundle, [e[0] for e in edited]).probs
        reruns += len(frontier)
        flipped = np.flatnonzero(probs.argmax(1) != c0)
        if len(flipped):
            best = max(flipped, key=lambda i: probs[i].max())
            return (edited[best][1], edited[best][0], probs[best]), reruns
        margin = np.log(probs[:, goal] + 1e-12) - np.log(probs[:, c0] + 1e-12)
        order = np.argsort(-margin)
        keep = [frontier[i] for i in order[:beam]]
        if size == 1:  # grow with the singles that moved the model most, by their rerun margin
            singles = [frontier[i] for i in order[: 2 * beam]]
        frontier = [tuple(sorted(c + s)) for c in keep for s in singles if s[0][0] not in {j for j, _n in c}]
    return None, reruns
