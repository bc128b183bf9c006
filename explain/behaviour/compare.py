"""Two texts' word attributions side by side: what changed in the explanation when the text changed.

    cmp = compare_attributions(bundle, "The plot is clever.", "The plot is not clever.", target="fresh")
    cmp.words_before, cmp.words_after, cmp.scores_before, cmp.scores_after, cmp.difference, cmp.edited

Integrated Gradients (Sundararajan et al. 2017) toward one class on both texts, in one batched run with
adaptive Gauss-Legendre steps (`explain.attribution.adaptive`, completeness gap under 1 %), merged into
words (`explain.attribution.words.merge_words`) and aligned word by word: position by position when
both texts have as many words, else where the texts differ (difflib's opcodes over the words) the
shorter side is padded with empty words scored 0, so a typo,
an added "not" or a swapped name lines up with the words around it. Used by the counterfactual search
and by the Stress tests page for a failed case (original and perturbed text).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from explain.errors import InputError
from explain.i18n import _
from explain.models.checkpoint import ModelBundle
from explain.run import _frozen


@dataclass(frozen=True, eq=False)
class WordComparison:
    """Word attributions before and after an edit, aligned: (W,) each; difference = after - before.

    `edited` marks the aligned words that changed (replaced, inserted or removed); an inserted word
    has '' on the side without it, scored 0. `target_label` is the class explained, `steps` the IG
    steps used for each text.
    """

    words_before: tuple[str, ...]
    words_after: tuple[str, ...]
    scores_before: np.ndarray
    scores_after: np.ndarray
    difference: np.ndarray
    edited: np.ndarray
    target_label: str
    steps: tuple[int, int]


def compare_attributions(bundle: ModelBundle, text: str, other: str, target: int | str,
                         edited_words: Iterable[int] | None = None) -> WordComparison:
    """IG toward `target` (a class index or label) on `text` and `other`, merged into words and aligned.

    `edited_words` (indices into `text`'s words) marks the edited words when the caller knows them (the
    counterfactual's substitutions); by default the words difflib finds different are marked.

    Raises:
        InputError: not a sequence classifier, or an unknown target.
    """
    from explain.attribution.adaptive import IGInput, integrated_gradients_rows
    from explain.attribution.core import prepare
    from explain.attribution.words import merge_words

    if bundle.task != "sequence-classification":
        raise InputError(_("Word attributions of two texts side by side need a text classifier; '{name}' is not "
                           "one.").format(name=_(bundle.name)))
    labels = list(bundle.labels)
    c = labels.index(target) if isinstance(target, str) and target in labels else target
    if isinstance(c, str) or not 0 <= int(c) < len(labels):
        raise InputError(_("'{label}' is not a label of the model; its labels are {labels}.").format(
            label=target, labels=", ".join(labels)))
    c = int(c)
    preps = [prepare(bundle, t, target=c) for t in (text, other)]
    inputs = [IGInput(p.embeddings[0], p.baseline_embeddings("pad")[0],
                      None if p.token_type_ids is None else p.token_type_ids[0], c) for p in preps]
    results, _evaluations = integrated_gradients_rows(bundle, inputs)
    merged = [merge_words(r.scores, p.word_ids, p.tokens) for r, p in zip(results, preps)]
    before, after = (_content(m) for m in merged)
    if len(before[0]) == len(after[0]):  # word for word (substitutions, typos): no alignment needed
        (wb, sb), (wa, sa) = before, after
        changed = [x != y for x, y in zip(wb, wa)]
    else:  # words added or removed: align on the unchanged ones
        (wb, sb), (wa, sa), changed = _align(before, after)
    if edited_words is not None:
        marked = set(edited_words)
        changed = [i in marked for i in range(len(wb))]
    sb, sa = np.asarray(sb, dtype=float), np.asarray(sa, dtype=float)
    return WordComparison(wb, wa, _frozen(sb), _frozen(sa), _frozen(sa - sb), _frozen(np.asarray(changed, dtype=bool)),
                          labels[c], (results[0].steps, results[1].steps))


def _content(ws) -> tuple[tuple[str, ...], list[float]]:
    keep = [i for i in range(len(ws.words)) if not ws.special[i]]
    return tuple(ws.words[i] for i in keep), [float(ws.scores[i]) for i in keep]


def _align(before, after):
    """Both sides padded with empty words where difflib says the texts differ; and which positions differ."""
    from difflib import SequenceMatcher

    wb, sb = before
    wa, sa = after
    out_b, out_a, score_b, score_a, changed = [], [], [], [], []
    for op, i1, i2, j1, j2 in SequenceMatcher(a=wb, b=wa, autojunk=False).get_opcodes():
        n = max(i2 - i1, j2 - j1)
        for d in range(n):
            i, j = i1 + d, j1 + d
            out_b.append(wb[i] if i < i2 else "")
            score_b.append(sb[i] if i < i2 else 0.0)
            out_a.append(wa[j] if j < j2 else "")
            score_a.append(sa[j] if j < j2 else 0.0)
            changed.append(op != "equal")
    return (tuple(out_b), score_b), (tuple(out_a), score_a), changed
