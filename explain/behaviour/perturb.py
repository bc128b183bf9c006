"""Perturbations for invariance (INV) and directional (DIR) tests, by name, deterministic under a seed.

    p = perturb("typo_swap", "The acting is wooden.", seed=0)
    p.text, p.changed, p.note, p.edits        # 'The actnig is wooden.', True, "typo (swap: ...)", (Edit,)

Every call draws from a private numpy Generator seeded with (seed, CRC-32 of the text, CRC-32 of the
perturbation's name): a case's perturbation depends on nothing else (not on the other cases, their
order or the global RNG), so a suite gives the same cases on every machine and run. Text a
perturbation cannot change comes back as it was, with changed=False and a note saying why.

PERTURBATIONS (name: what it does; parameters with defaults):
  typo_swap, typo_drop, typo_repeat (count=1): adjacent letters swapped / a letter dropped / repeated,
      in `count` different words of 3+ letters; typos (kinds=[swap, drop, repeat], count=1): a kind drawn per typo.
  punctuation: final punctuation removed, or a full stop added when there is none;
      remove_punctuation; add_punctuation (mark=".").
  contractions: contractions expanded, or pairs contracted when there is none; expand_contractions; contract.
  swap_name (first names, same sex), swap_last_name, swap_city, swap_country, swap (lexicon=NAME):
      one entry found in the text replaced everywhere by another of its lexicon (explain.behaviour.lexicons);
  swap_number: one whole number moved by up to 20 %.
  add_neutral (where=end|start|either): a neutral sentence added; add_phrase (phrases=LEXICON or list, where).
  add_negation: 'not' after the first auxiliary verb.
  intensify / diminish (before=None, or a lexicon name or list): an intensifier ("very") or diminisher
      ("somewhat") before the adjective after a copula, or before the first word of `before`.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from explain.behaviour import perturb_text as pt
from explain.behaviour import perturb_words as pw
from explain.behaviour.edits import Perturbed
from explain.behaviour.lexicons import known_lexicons
from explain.errors import InputError
from explain.i18n import N_, _


class ParameterError(ValueError):
    """A perturbation parameter is wrong: `param` names it ('' for the perturbation's name)."""

    def __init__(self, param: str, message: str):
        super().__init__(message)
        self.param = param


def _count(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10:
        raise ValueError(_("a whole number from 1 to 10"))
    return value


def _choice(*allowed: str) -> Callable[[Any], str]:
    def check(value):
        if value not in allowed:
            raise ValueError(_("one of {allowed}").format(allowed=", ".join(allowed)))
        return value

    return check


def _kinds(value) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not value or any(v not in pt.TYPO_KINDS for v in value):
        raise ValueError(_("a list of {allowed}").format(allowed=", ".join(pt.TYPO_KINDS)))
    return tuple(value)


def _words(optional: bool):
    def check(value):
        if value is None and optional:
            return None
        if isinstance(value, str) and value.strip():
            return value
        if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) and v.strip() for v in value):
            return tuple(value)
        raise ValueError(_("a lexicon name or a list of words"))

    return check


def _name(value) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(_("a lexicon name"))
    return value


def _mark(value) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(_("a punctuation mark such as '.'"))
    return value


@dataclass(frozen=True)
class Perturbation:
    """A named perturbation: fn(text, rng, lexicons, **params) -> Perturbed, its parameters' defaults and checks."""

    name: str
    fn: Callable[..., Perturbed]
    description: str
    defaults: Mapping[str, Any] = field(default_factory=dict)
    checks: Mapping[str, Callable[[Any], Any]] = field(default_factory=dict)

    def resolve(self, params: Mapping[str, Any], lexicons: Mapping[str, tuple[str, ...]] | None = None) -> dict:
        """Defaults overridden by `params`, each checked; ParameterError names a wrong one."""
        unknown = sorted(set(params) - set(self.defaults))
        if unknown:
            raise ParameterError(unknown[0], _("{name} takes {allowed}, not '{param}'.").format(
                name=self.name, allowed=", ".join(self.defaults) or _("no parameters"), param=unknown[0]))
        resolved = dict(self.defaults)
        for key, value in params.items():
            try:
                resolved[key] = self.checks[key](value)
            except ValueError as err:
                raise ParameterError(key, _("must be {what}; got {value}.").format(what=err, value=repr(value))) from None
        for key in ("phrases", "before", "lexicon"):
            name = resolved.get(key)
            if isinstance(name, str) and name not in known_lexicons(lexicons):
                raise ParameterError(key, _("there is no lexicon '{name}'; known: {known}.").format(
                    name=name, known=", ".join(known_lexicons(lexicons))))
        return resolved

    def __call__(self, text: str, seed: int = 0, lexicons: Mapping | None = None, **params) -> Perturbed:
        resolved = self.resolve(params, lexicons)
        return self.fn(text, rng_for(seed, text, self.name), lexicons or {}, **resolved)


def rng_for(seed: int, text: str, name: str) -> np.random.Generator:
    """The private generator of one (seed, text, perturbation) case."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(text.encode("utf-8")), zlib.crc32(name.encode())])


def _p(name, fn, description, **params) -> Perturbation:
    defaults = {k: v[0] for k, v in params.items()}
    checks = {k: v[1] for k, v in params.items()}
    return Perturbation(name, fn, description, MappingProxyType(defaults), MappingProxyType(checks))


_COUNT = (1, _count)
_WHERE = ("end", _choice("end", "start", "either"))
PERTURBATIONS: Mapping[str, Perturbation] = MappingProxyType({p.name: p for p in (
    _p("typo_swap", pt.typo_swap, N_("two adjacent letters swapped in a word"), count=_COUNT),
    _p("typo_drop", pt.typo_drop, N_("a letter dropped from a word"), count=_COUNT),
    _p("typo_repeat", pt.typo_repeat, N_("a letter repeated in a word"), count=_COUNT),
    _p("typos", pt.typos, N_("typos of the given kinds"), kinds=(pt.TYPO_KINDS, _kinds), count=_COUNT),
    _p("punctuation", pt.punctuation, N_("final punctuation removed, or a full stop added")),
    _p("remove_punctuation", pt.remove_punctuation, N_("final punctuation removed")),
    _p("add_punctuation", pt.add_punctuation, N_("a punctuation mark added at the end"), mark=(".", _mark)),
    _p("contractions", pw.contractions, N_("contractions expanded, or contracted when there are none")),
    _p("expand_contractions", pw.expand_contractions, N_("contractions expanded")),
    _p("contract", pw.contract, N_("pairs such as 'do not' contracted")),
    _p("swap_name", pw.swap_name, N_("a first name replaced by another of the same sex")),
    _p("swap_last_name", pw.swap_last_name, N_("a last name replaced by another")),
    _p("swap_city", pw.swap_city, N_("a city replaced by another")),
    _p("swap_country", pw.swap_country, N_("a country replaced by another")),
    _p("swap", pw.swap, N_("an entry of a lexicon replaced by another"), lexicon=("city", _name)),
    _p("swap_number", pw.swap_number, N_("a number changed by up to 20 %")),
    _p("add_neutral", pt.add_neutral, N_("a neutral sentence added"), where=_WHERE),
    _p("add_phrase", pt.add_phrase, N_("a phrase added"), phrases=("neutral_phrase", _words(False)), where=_WHERE),
    _p("add_negation", pw.add_negation, N_("'not' added after the first auxiliary verb")),
    _p("intensify", pt.intensify, N_("an intensifier added before the adjective"), before=(None, _words(True))),
    _p("diminish", pt.diminish, N_("a diminisher added before the adjective"), before=(None, _words(True))),
)})


def perturbation(name: str) -> Perturbation:
    """The perturbation called `name`; InputError naming the known ones."""
    if name not in PERTURBATIONS:
        raise InputError(_("Unknown perturbation '{name}'; known: {known}.").format(
            name=name, known=", ".join(PERTURBATIONS)))
    return PERTURBATIONS[name]


def perturb(name: str, text: str, seed: int = 0, lexicons: Mapping | None = None, **params) -> Perturbed:
    """`text` perturbed by the perturbation `name` (see the module docstring), deterministic under `seed`."""
    try:
        return perturbation(name)(text, seed, lexicons, **params)
    except ParameterError as err:
        raise InputError(_("{name}: parameter '{param}' {message}").format(name=name, param=err.param,
                                                                           message=err)) from None
