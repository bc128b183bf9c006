"""Perturbations of characters and phrases: typos, punctuation, added phrases, intensifiers and diminishers.

Each function is `fn(text, rng, lexicons, **params) -> Perturbed`; `rng` is a private
numpy Generator (see `explain.behaviour.perturb`), `lexicons` a suite's own word lists.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np

from explain.behaviour.edits import Perturbed, changed, unchanged
from explain.behaviour.lexicons import lexicon
from explain.i18n import N_, deferred

_LETTERS = re.compile(r"[^\W\d_]{3,}")  # a word of 3 or more letters (any script)
_END_MARKS = re.compile(r"[.!?…;:,]+\s*$")
_SENTENCE_END = re.compile(r"[.!?…]\s*$")
TYPO_KINDS = ("swap", "drop", "repeat")


def _typo(word: str, kind: str, rng: np.random.Generator) -> str | None:
    """`word` with one typo: two adjacent letters swapped, one dropped, or one repeated (None: impossible)."""
    if kind == "swap":
        places = [i for i in range(len(word) - 1) if word[i].lower() != word[i + 1].lower()]
        if not places:
            return None
        i = places[int(rng.integers(len(places)))]
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    i = int(rng.integers(len(word)))
    return word[:i] + word[i + 1:] if kind == "drop" else word[:i + 1] + word[i] + word[i + 1:]


def typos(text: str, rng: np.random.Generator, lexicons: Mapping, kinds: Sequence[str] = TYPO_KINDS,
          count: int = 1) -> Perturbed:
    """`count` typos in different words of 3+ letters, each of a kind drawn from `kinds` (swap, drop, repeat)."""
    words = [m for m in _LETTERS.finditer(text)]
    if not words:
        return unchanged(text, deferred(N_("no word of 3 or more letters to put a typo in")))
    chosen = sorted(rng.choice(len(words), size=min(count, len(words)), replace=False).tolist())
    spans, done = [], []
    for w in chosen:
        m = words[w]
        kind = kinds[int(rng.integers(len(kinds)))]
        new = _typo(m.group(), kind, rng)
        if new is not None and new != m.group():
            spans.append((m.start(), m.end(), new))
            done.append(f"{kind}: '{m.group()}' -> '{new}'")
    if not spans:
        return unchanged(text, deferred(N_("no word where a typo of this kind changes the text")))
    return changed(text, spans, deferred(N_("typo ({what})"), what="; ".join(done)))


def typo_swap(text, rng, lexicons, count: int = 1) -> Perturbed:
    return typos(text, rng, lexicons, ("swap",), count)


def typo_drop(text, rng, lexicons, count: int = 1) -> Perturbed:
    return typos(text, rng, lexicons, ("drop",), count)


def typo_repeat(text, rng, lexicons, count: int = 1) -> Perturbed:
    return typos(text, rng, lexicons, ("repeat",), count)


def remove_punctuation(text: str, rng, lexicons) -> Perturbed:
    """The punctuation marks at the end of the text removed ("Great film!" -> "Great film")."""
    m = _END_MARKS.search(text)
    if not m or not text[:m.start()].strip():
        return unchanged(text, deferred(N_("no punctuation at the end to remove")))
    return changed(text, [(m.start(), len(text), "")], deferred(N_("removed '{marks}' at the end"), marks=m.group().strip()))


def add_punctuation(text: str, rng, lexicons, mark: str = ".") -> Perturbed:
    """`mark` added at the end of a text that does not end a sentence ("Great film" -> "Great film.")."""
    if _SENTENCE_END.search(text):
        return unchanged(text, deferred(N_("the text already ends with punctuation")))
    end = len(text.rstrip())
    return changed(text, [(end, len(text), mark)], deferred(N_("added '{mark}' at the end"), mark=mark))


def punctuation(text: str, rng, lexicons) -> Perturbed:
    """Final punctuation removed when there is some, else a full stop added (CheckList's `punctuation`)."""
    removed = remove_punctuation(text, rng, lexicons)
    return removed if removed.changed else add_punctuation(text, rng, lexicons)


def _words_of(value: str | Sequence[str], lexicons: Mapping) -> tuple[str, ...]:
    """A lexicon name, or the list itself."""
    return lexicon(value, lexicons) if isinstance(value, str) else tuple(value)


def add_phrase(text: str, rng, lexicons, phrases: str | Sequence[str] = "neutral_phrase",
               where: str = "end") -> Perturbed:
    """One phrase from `phrases` (a lexicon name or a list) added at the `where` ("start", "end", "either")."""
    pool = _words_of(phrases, lexicons)
    phrase = pool[int(rng.integers(len(pool)))]
    side = ("start", "end")[int(rng.integers(2))] if where == "either" else where
    if side == "start":
        stripped = len(text) - len(text.lstrip())
        return changed(text, [(0, stripped, phrase + " ")], deferred(N_("added '{phrase}' at the start"), phrase=phrase))
    end = len(text.rstrip())
    joint = " " if _SENTENCE_END.search(text[:end]) else ". "
    return changed(text, [(end, len(text), joint + phrase)], deferred(N_("added '{phrase}' at the end"), phrase=phrase))


def add_neutral(text: str, rng, lexicons, where: str = "end") -> Perturbed:
    """A sentence that says nothing about the subject (lexicon neutral_phrase) added at `where`."""
    return add_phrase(text, rng, lexicons, "neutral_phrase", where)


# After one of these the next word is usually the adjective that describes the subject.
_COPULA = re.compile(r"(?<![\w'’])(?:is|was|are|were|am|be|been|seems|seemed|looks|looked|feels|felt|sounds|"
                     r"sounded|remains|remained|becomes|became)\s+([^\W\d_]+)\b|['’](?:s|re)\s+([^\W\d_]+)\b",
                     re.IGNORECASE)
_NOT_ADJECTIVE = frozenset({
    "a", "an", "the", "this", "that", "these", "those", "my", "his", "her", "its", "our", "their", "your",
    "some", "any", "no", "not", "never", "so", "too", "also", "just", "still", "only", "quite", "very",
    "really", "rather", "more", "most", "less", "least", "such", "what", "how", "one", "about", "all", "both",
    "there", "here", "being", "been", "going", "made", "done", "seen", "shown", "told", "given"
})



def _modify(text: str, rng, lexicons, adverbs: str, before: str | Sequence[str] | None, kind: str) -> Perturbed:
    pool = lexicon(adverbs, lexicons)
    skip = _NOT_ADJECTIVE | {w.lower() for w in lexicon("intensifier", lexicons) + lexicon("diminisher", lexicons)}
    target = None
    if before is not None:
        words = sorted(_words_of(before, lexicons), key=len, reverse=True)
        m = re.search(r"(?<!\w)(?:" + "|".join(re.escape(w) for w in words) + r")(?!\w)", text, re.IGNORECASE)
        target = m.start() if m else None
    else:
        for m in _COPULA.finditer(text):
            group = 1 if m.group(1) else 2
            if m.group(group).lower() not in skip:
                target = m.start(group)
                break
    if target is None:
        return unchanged(text, deferred(N_("no adjective after 'is', 'was', 'seems', ... (or from the given words) to "
                                           "put '{kind}' before"), kind=kind))
    adverb = pool[int(rng.integers(len(pool)))]
    return changed(text, [(target, target, adverb + " ")], deferred(N_("added '{adverb}'"), adverb=adverb))


def intensify(text: str, rng, lexicons, before: str | Sequence[str] | None = None) -> Perturbed:
    """An intensifier ("very", "really", ...) before the adjective after a copula, or before a word of `before`."""
    return _modify(text, rng, lexicons, "intensifier", before, "very")


def diminish(text: str, rng, lexicons, before: str | Sequence[str] | None = None) -> Perturbed:
    """A diminisher ("somewhat", "slightly", ...) before the adjective after a copula, or before a word of `before`."""
    return _modify(text, rng, lexicons, "diminisher", before, "somewhat")
