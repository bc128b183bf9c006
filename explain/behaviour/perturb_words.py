"""Perturbations of words: contractions, negation, and names, places and numbers swapped from lexicons.

Each function is `fn(text, rng, lexicons, **params) -> Perturbed` (see `explain.behaviour.perturb`).
The contraction lists follow CheckList's `Perturb.expand_contractions` / `contract` (MIT); negation is
added by rule, after the first auxiliary verb, instead of CheckList's spaCy parse (no parser or
model download needed, and the rule says plainly when it does not apply).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np

from explain.behaviour.edits import Perturbed, changed, unchanged
from explain.behaviour.lexicons import lexicon
from explain.i18n import N_, deferred

_EXPAND = {
    "ain't": "is not", "aren't": "are not", "can't": "cannot", "couldn't": "could not", "could've": "could have",
    "didn't": "did not", "doesn't": "does not", "don't": "do not", "hadn't": "had not", "hasn't": "has not",
    "haven't": "have not", "he'd": "he would", "he'll": "he will", "he's": "he is", "how's": "how is",
    "i'd": "i would", "i'll": "i will", "i'm": "i am", "i've": "i have", "isn't": "is not", "it'd": "it would",
    "it'll": "it will", "it's": "it is", "let's": "let us", "might've": "might have", "mightn't": "might not",
    "must've": "must have", "mustn't": "must not", "needn't": "need not", "shan't": "shall not",
    "she'd": "she would", "she'll": "she will", "she's": "she is", "should've": "should have",
    "shouldn't": "should not", "that'd": "that would", "that's": "that is", "there's": "there is",
    "they'd": "they would", "they'll": "they will", "they're": "they are", "they've": "they have",
    "wasn't": "was not", "we'd": "we would", "we'll": "we will", "we're": "we are", "we've": "we have",
    "weren't": "were not", "what's": "what is", "where's": "where is", "who's": "who is", "won't": "will not",
    "would've": "would have", "wouldn't": "would not", "you'd": "you would", "you'll": "you will",
    "you're": "you are", "you've": "you have",
}
# Contracting is ambiguous the other way ("he would" / "he had" -> "he'd"): only the unambiguous forms.
_CONTRACT = {v: k for k, v in _EXPAND.items() if k not in ("ain't", "let's", "it'd", "that'd")}
_CONTRACT.update({"can not": "can't", "cannot": "can't"})


def _pattern(keys) -> re.Pattern:
    alternatives = sorted(keys, key=len, reverse=True)
    body = "|".join(re.escape(k).replace("'", "['’]").replace(r"\ ", r"\s+") for k in alternatives)
    return re.compile(r"(?<![\w'’])(?:" + body + r")(?![\w'’])", re.IGNORECASE)


_EXPAND_RE = _pattern(_EXPAND)
_CONTRACT_RE = _pattern(_CONTRACT)


def _same_case(old: str, new: str) -> str:
    """`new` with the first letter's case of `old` ("Don't" -> "Do not")."""
    return new[0].upper() + new[1:] if old[:1].isupper() else new


def _key(found: str) -> str:
    return re.sub(r"\s+", " ", found.lower().replace("’", "'"))


def expand_contractions(text: str, rng, lexicons) -> Perturbed:
    """Every contraction expanded ("don't" -> "do not", "it's" -> "it is")."""
    spans = [(m.start(), m.end(), _same_case(m.group(), _EXPAND[_key(m.group())])) for m in _EXPAND_RE.finditer(text)]
    if not spans:
        return unchanged(text, deferred(N_("no contraction to expand")))
    return changed(text, spans, deferred(N_("contractions expanded: {n}"), n=len(spans)))


def contract(text: str, rng, lexicons) -> Perturbed:
    """Every expandable pair contracted ("do not" -> "don't", "it is" -> "it's")."""
    spans = [(m.start(), m.end(), _same_case(m.group(), _CONTRACT[_key(m.group())])) for m in _CONTRACT_RE.finditer(text)]
    if not spans:
        return unchanged(text, deferred(N_("nothing to contract (such as 'do not' or 'it is')")))
    return changed(text, spans, deferred(N_("pairs contracted: {n}"), n=len(spans)))


def contractions(text: str, rng, lexicons) -> Perturbed:
    """Contractions expanded when the text has some, else pairs contracted (CheckList's `contractions`)."""
    expanded = expand_contractions(text, rng, lexicons)
    return expanded if expanded.changed else contract(text, rng, lexicons)


_AUX = re.compile(
    r"(?<![\w'’])(is|was|are|were|am|will|would|can|could|should|must|might|may|does|did|do|has|have|had)"
    r"(?=\s+([^\W\d_]+))|(?<=[^\W\d_])(['’](?:s|re|m))(?=\s+([^\W\d_]+))",
    re.IGNORECASE,
)
_NEGATED = frozenset({"not", "never", "no", "nothing", "nobody", "hardly", "n't"})
_DETERMINER = frozenset({
    "a", "an", "the", "this", "that", "these", "those", "my", "his", "her", "its", "our", "their", "your",
    "some", "any", "every"
})
_POSSESSOR = re.compile(r"^(?:it|that|he|she|there|what|who|here|where)['’]s$", re.IGNORECASE)


def add_negation(text: str, rng, lexicons) -> Perturbed:
    """'not' after the first auxiliary verb that is not negated yet ("The plot is clever." -> "The plot is not
    clever."; "It's fun" -> "It's not fun"). Not applied: questions that start with the verb, "has/have/had" that
    are not followed by a past participle, "do/does/did" followed by a determiner (main verbs, "did a good job")."""
    for m in _AUX.finditer(text):
        aux = m.group(1) or m.group(3)
        nxt = (m.group(2) or m.group(4)).lower()
        if nxt in _NEGATED:
            continue
        start = m.start(1) if m.group(1) else m.start(3)
        before = text[:start].rstrip()
        if m.group(1) and (not before or before[-1] in ".!?…"):  # "Is it good?": a question
            continue
        if m.group(3):  # 's: only "it's", "that's", ... (not a possessive "film's")
            word = re.search(r"[^\W\d_]+$", text[:start])
            if aux.lower().endswith("s") and not (word and _POSSESSOR.match(word.group() + aux)):
                continue
        lower = aux.lower()
        if lower in ("has", "have", "had") and not (nxt == "been" or nxt.endswith(("ed", "en"))):
            continue
        if lower in ("do", "does", "did") and nxt in _DETERMINER:
            continue
        end = m.end(1) if m.group(1) else m.end(3)
        return changed(text, [(end, end, " not")], deferred(N_("added 'not' after '{aux}'"), aux=aux))
    return unchanged(text, deferred(N_("no auxiliary verb (is, was, can, will, ...) left to negate")))


def _entry_pattern(entries) -> re.Pattern:
    body = "|".join(re.escape(e) for e in sorted(set(entries), key=len, reverse=True))
    return re.compile(r"(?<![\w-])(?:" + body + r")(?![\w-])")


def swap_lexicon(text: str, rng: np.random.Generator, lexicons: Mapping, lexicon_name: str = "city",
                 groups: tuple[str, ...] = ()) -> Perturbed:
    """Every occurrence of one lexicon entry found in the text (drawn when there are several) replaced by another
    entry of the same lexicon, or of the same group (`groups`: lexicon names, e.g. male and female first names).
    Entries match whole words, case-sensitively ("Paris", not "paris")."""
    pools = [lexicon(g, lexicons) for g in groups] or [lexicon(lexicon_name, lexicons)]
    found = list(_entry_pattern([e for p in pools for e in p]).finditer(text))
    if not found:
        return unchanged(text, deferred(N_("no entry of the lexicon '{lexicon}' in the text"), lexicon=lexicon_name))
    names = list(dict.fromkeys(m.group() for m in found))
    old = names[int(rng.integers(len(names)))]
    pool = next(p for p in pools if old in p)
    options = [e for e in dict.fromkeys(pool) if e != old]
    new = options[int(rng.integers(len(options)))]
    spans = [(m.start(), m.end(), new) for m in found if m.group() == old]
    return changed(text, spans, deferred(N_("'{old}' -> '{new}'"), old=old, new=new))


def swap_name(text, rng, lexicons) -> Perturbed:
    """A first name replaced by another of the same sex (lexicons male_name, female_name)."""
    return swap_lexicon(text, rng, lexicons, "first_name", ("male_name", "female_name"))


def swap_last_name(text, rng, lexicons) -> Perturbed:
    return swap_lexicon(text, rng, lexicons, "last_name")


def swap_city(text, rng, lexicons) -> Perturbed:
    return swap_lexicon(text, rng, lexicons, "city")


def swap_country(text, rng, lexicons) -> Perturbed:
    return swap_lexicon(text, rng, lexicons, "country")


def swap(text, rng, lexicons, lexicon: str = "city") -> Perturbed:
    """Entries of any lexicon (a suite's own or a shipped one) swapped for one another."""
    return swap_lexicon(text, rng, lexicons, lexicon)


_NUMBER = re.compile(r"(?<![\w.,])\d+(?![\w]|[.,]\d)")


def swap_number(text: str, rng: np.random.Generator, lexicons) -> Perturbed:
    """One whole number x replaced by another at most int(0.2 x) + 1 away, as CheckList's `change_number`;
    "2" and "4" are left alone ("this is 4 you")."""
    found = [m for m in _NUMBER.finditer(text) if m.group() not in ("2", "4")]
    if not found:
        return unchanged(text, deferred(N_("no number to change")))
    m = found[int(rng.integers(len(found)))]
    x = int(m.group())
    step = int(x * 0.2) + 1
    deltas = [d for d in range(-step, step + 1) if d and x + d >= 0]
    new = str(x + deltas[int(rng.integers(len(deltas)))])
    return changed(text, [(m.start(), m.end(), new)], deferred(N_("'{old}' -> '{new}'"), old=m.group(), new=new))
