"""Where a test's texts come from: templates filled from lexicons, a list in the suite, or a data file.

Each function takes `where`, whose `error(field, message)` builds the InputError that names the suite
file, the test and the field (explain.behaviour.suite).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from explain.behaviour.lexicons import known_lexicons, lexicon
from explain.errors import InputError
from explain.i18n import _

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Slot:
    """Where a template placeholder's value sits in one filled text: [start, end)."""

    placeholder: str
    start: int
    end: int
    value: str


def fill_templates(where, template: Any, lexicons: dict, max_cases: int, rng: np.random.Generator):
    templates = [template] if isinstance(template, str) else template
    if not isinstance(templates, list) or not templates or not all(isinstance(t, str) and t.strip() for t in templates):
        raise where.error("template", _("must be a text with {placeholders}, or a list of them."))
    combos = []
    for t in templates:
        names = list(dict.fromkeys(PLACEHOLDER.findall(t)))
        values = []
        for placeholder in names:
            base = placeholder.rstrip("0123456789") or placeholder
            try:
                values.append(lexicon(placeholder if placeholder in lexicons else base, lexicons))
            except KeyError:
                raise where.error("template", _("no lexicon for {{{name}}}; known: {known}.").format(
                    name=placeholder, known=", ".join(known_lexicons(lexicons)))) from None
        combos.append((t.strip(), names, values))
    sizes = [int(np.prod([len(v) for v in values])) if values else 1 for _t, _n, values in combos]
    total = sum(sizes)
    chosen = range(total) if total <= max_cases else sorted(rng.choice(total, size=max_cases, replace=False).tolist())
    texts, slots = [], []
    starts = np.cumsum([0] + sizes)
    for index in chosen:
        k = int(np.searchsorted(starts, index, side="right") - 1)
        t, names, values = combos[k]
        picks = _unrank(int(index - starts[k]), [len(v) for v in values])
        fill = {n: values[i][p] for i, (n, p) in enumerate(zip(names, picks))}
        text, where_filled = _substitute(t, fill)
        texts.append(text)
        slots.append(where_filled)
    return tuple(texts), tuple(slots)


def _unrank(index: int, radices: list[int]) -> list[int]:
    """The combination number `index` in itertools.product order over ranges of `radices` (last varies fastest)."""
    out = []
    for r in reversed(radices):
        index, rest = divmod(index, r)
        out.append(rest)
    return out[::-1]


def _substitute(template: str, fill: Mapping[str, str]) -> tuple[str, tuple[Slot, ...]]:
    out, slots, pos = [], [], 0
    length = 0
    for m in PLACEHOLDER.finditer(template):
        out.append(template[pos:m.start()])
        length += m.start() - pos
        value = fill[m.group(1)]
        slots.append(Slot(m.group(1), length, length + len(value), value))
        out.append(value)
        length += len(value)
        pos = m.end()
    out.append(template[pos:])
    return "".join(out), tuple(slots)


def listed_texts(where, texts: Any, max_cases: int) -> tuple[str, ...]:
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) and t.strip() for t in texts):
        raise where.error("texts", _("must be a non-empty list of non-empty texts."))
    return tuple(t.strip() for t in texts[:max_cases])


def data_texts(where, spec: Any, folder: Path, max_cases: int) -> tuple[str, ...]:
    from explain.dataset.parse import decoded_lines, detect_format, records

    spec = {"file": spec} if isinstance(spec, str) else spec
    if not isinstance(spec, dict) or not isinstance(spec.get("file"), str):
        raise where.error("data", _("must be a file path (relative to the suite) or {file: ..., max_words: N}."))
    extra = [k for k in spec if k not in ("file", "max_words")]
    if extra:
        raise where.error(f"data.{extra[0]}", _("unknown field; data takes file and max_words."))
    max_words = spec.get("max_words")
    if max_words is not None and (isinstance(max_words, bool) or not isinstance(max_words, int) or max_words < 1):
        raise where.error("data.max_words", _("must be a whole number, 1 or more."))
    path = (folder / spec["file"]).resolve()
    if not path.is_file():
        raise where.error("data", _("no file at '{path}'.").format(path=path))
    texts = []
    try:
        with open(path, "rb") as f:
            first = f.readline()
            f.seek(0)
            for record in records(decoded_lines(f), detect_format(path.name, first), require_label=False):
                text = record.text.strip()
                if text and (max_words is None or len(text.split()) <= max_words):
                    texts.append(text)
                    if len(texts) >= max_cases:
                        break
    except InputError as err:
        raise where.error("data", str(err)) from None
    if not texts:
        raise where.error("data", _("'{path}' has no text that fits (max_words).").format(path=path))
    return tuple(texts)


def lexicons_from_lines(text: str) -> dict[str, list[str]]:
    """Lexicons written one per line as `name: word, word, ...` (a form field); blank lines are skipped.

    >>> lexicons_from_lines("thing: film, plot\\nadj: good, dull")
    {'thing': ['film', 'plot'], 'adj': ['good', 'dull']}

    Raises:
        InputError: a line without 'name:' or without words, naming the line.
    """
    out: dict[str, list[str]] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        name, colon, words = line.partition(":")
        entries = [w.strip() for w in words.split(",") if w.strip()]
        if not colon or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name.strip()) or not entries:
            raise InputError(_("Lexicons, line {line}: write a name, a colon and words separated by commas, e.g. "
                               "'thing: film, plot, acting'; got {value}.").format(line=number,
                                                                                    value=repr(line.strip())))
        out[name.strip()] = entries
    return out
