"""English and 简体中文 for every user-facing string: GNU gettext catalogues, extracted and compiled with Babel.

Mark a string where it is shown or raised with `_()`; mark a constant with `N_()` and pass it through
`_()` when it is shown. Interpolate after translating, never inside: `_("{n} tokens").format(n=n)`, not
`_(f"{n} tokens")` (an f-string cannot be extracted). The language is a context variable that the app
sets at the start of every run of a session, so one server can serve an English and a Chinese class
at once; threads started for a session copy it with `contextvars.copy_context()`.

Catalogue: explain/locale/<lang>/LC_MESSAGES/bertlens.po, compiled to .mo by `make translations`
(pybabel extract + update + compile; see babel.cfg).
"""

from __future__ import annotations

import gettext
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path

DOMAIN = "bertlens"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGES = {"en": "English", "zh": "简体中文"}
DEFAULT_LANGUAGE = "en"
_GETTEXT_CODES = {"zh": "zh_CN"}

_current: ContextVar[str] = ContextVar("bertlens_language", default=DEFAULT_LANGUAGE)


@lru_cache(maxsize=None)
def translations(lang: str) -> gettext.NullTranslations:
    """The compiled catalogue of `lang` (English is the source language: no catalogue)."""
    if lang not in _GETTEXT_CODES:
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[_GETTEXT_CODES[lang]], fallback=True)


def normalize_language(value: str | None) -> str:
    """'zh', 'zh-CN', 'zh_Hans', '简体中文' -> 'zh'; anything else -> 'en'."""
    v = (value or "").strip().lower()
    return "zh" if v.startswith("zh") or v == LANGUAGES["zh"] else DEFAULT_LANGUAGE


def set_language(lang: str) -> None:
    """Make `lang` the language of this context (the current session's run)."""
    _current.set(normalize_language(lang))


def get_language() -> str:
    return _current.get()


@contextmanager
def language(lang: str) -> Iterator[None]:
    """Translate into `lang` inside the block (CLI, tests), then restore the previous language."""
    token = _current.set(normalize_language(lang))
    try:
        yield
    finally:
        _current.reset(token)


def _(message: str) -> str:
    """`message` in the current language (itself when no translation exists)."""
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark a constant for extraction without translating it now."""
    return message
