"""English and 简体中文 for every user-facing string: GNU gettext catalogues, extracted and compiled with Babel.

Mark a string where it is shown or raised with `_()`; mark a constant with `N_()` and pass it through
`_()` when it is shown. Interpolate after translating, never inside: `_("{n} tokens").format(n=n)`, not
`_(f"{n} tokens")` (an f-string cannot be extracted). The language is a context variable that the app
sets at the start of every run of a session, so one server can serve an English and a Chinese class
at once; threads started for a session copy it with `contextvars.copy_context()`.

Text made once and shown to many sessions (a model's notes, a cached result's notices) is a `Deferred`:
an English str that remembers its message id and arguments, so `_()` shows it in each reader's language.

Catalogue: explain/locale/<lang>/LC_MESSAGES/bertlens.po, compiled to .mo by `make translations`
(pybabel extract + update + compile; see babel.cfg; JSON assets through explain/i18n_extract.py).
"""

from __future__ import annotations

import gettext
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import Self, TypeVar

DOMAIN = "bertlens"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGES = {"en": "English", "zh": "简体中文"}
DEFAULT_LANGUAGE = "en"
_GETTEXT_CODES = {"zh": "zh_CN"}

T = TypeVar("T")
_current: ContextVar[str] = ContextVar("bertlens_language", default=DEFAULT_LANGUAGE)


@cache
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


class Deferred(str):
    """English text that can be shown later in any language: `deferred(N_("{n} rows"), n=3)`.

    It is the formatted English string (so it compares, joins and prints as before); `_()` formats its
    message id's translation instead. Use it for text stored where sessions of different languages
    read it: a shared model's notes, the notices of a cached result.
    """

    msgid: str
    kwargs: dict

    def __new__(cls, msgid: str, kwargs: dict | None = None) -> Self:
        kwargs = dict(kwargs or {})
        obj = super().__new__(cls, msgid.format(**kwargs) if kwargs else msgid)
        obj.msgid, obj.kwargs = msgid, kwargs
        return obj

    def __reduce__(self):  # st.cache_data pickles results: keep the message id and arguments
        return Deferred, (self.msgid, self.kwargs)

    def translated(self) -> str:
        text = translations(_current.get()).gettext(self.msgid)
        return text.format(**self.kwargs) if self.kwargs else text


def deferred(msgid: str, **kwargs) -> Deferred:
    """Mark the message id with N_() where it is written: `deferred(N_("Layers {l} adapted."), l="4, 5")`."""
    return Deferred(msgid, kwargs)


def keep_language(func: Callable[..., T]) -> Callable[..., T]:
    """`func`, run in the language current now: for callbacks that may run outside the session's run
    (a widget's format_func, which streamlit.testing calls from the test's thread)."""
    lang = get_language()

    def in_language(*args, **kwargs) -> T:
        with language(lang):
            return func(*args, **kwargs)

    return in_language


def _(message: str) -> str:
    """`message` in the current language (itself when no translation exists); a Deferred is formatted after."""
    if isinstance(message, Deferred):
        return message.translated()
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark a constant for extraction without translating it now."""
    return message
