"""Word lists the perturbations and the suite templates draw from, shipped in assets/lexicons/.

Each file is JSON with `source`, `licence`, `notes` and `lexicons` (name -> list of strings):
  checklist.json  male_name, female_name, last_name, city, country: the first 100 entries of
                  CheckList's lexicons (Ribeiro et al. 2020; MIT, LICENSE-checklist beside it);
  english.json    neutral_phrase, intensifier, diminisher: written for BERT Lens.
`lexicon_sources()` lists where every lexicon comes from, for the report and the README.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType

from explain.errors import InputError
from explain.i18n import _
from explain.paths import ASSETS

LEXICONS_DIR = ASSETS / "lexicons"
SUITES_DIR = ASSETS / "suites"

# Lexicons made of others: a first name of either sex.
_UNIONS = {"first_name": ("male_name", "female_name")}


@lru_cache(maxsize=1)
def _files() -> tuple[tuple[str, dict], ...]:
    found = []
    for path in sorted(LEXICONS_DIR.glob("*.json")):
        try:
            found.append((path.name, json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError) as err:
            raise InputError(_("The lexicon file '{file}' is not readable JSON ({reason}).").format(
                file=path, reason=err)) from None
    return tuple(found)


@lru_cache(maxsize=1)
def shipped_lexicons() -> Mapping[str, tuple[str, ...]]:
    """Lexicon name -> its entries (tuple of strings), from every file in assets/lexicons/."""
    out: dict[str, tuple[str, ...]] = {}
    for _name, data in _files():
        for key, words in data.get("lexicons", {}).items():
            out[key] = tuple(str(w) for w in words)
    for key, parts in _UNIONS.items():
        if all(p in out for p in parts):
            out[key] = tuple(w for p in parts for w in out[p])
    return MappingProxyType(out)


def lexicon_sources() -> list[dict]:
    """One dict per lexicon: name, entries, file, source, licence (for the report and the notes)."""
    rows = []
    for file, data in _files():
        for key, words in data.get("lexicons", {}).items():
            rows.append({"lexicon": key, "entries": len(words), "file": file, "source": data.get("source", ""),
                         "licence": data.get("licence", "")})
    return rows


def lexicon(name: str, extra: Mapping[str, tuple[str, ...]] | None = None) -> tuple[str, ...]:
    """The entries of lexicon `name`: a suite's own (`extra`) first, else a shipped one; KeyError if neither."""
    if extra and name in extra:
        return tuple(extra[name])
    return shipped_lexicons()[name]


def known_lexicons(extra: Mapping[str, tuple[str, ...]] | None = None) -> list[str]:
    return sorted(set(shipped_lexicons()) | set(extra or ()))
