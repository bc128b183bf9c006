"""Read a user's labelled CSV (text,label) for training a head: every bad case gets a clear message."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from explain.errors import InputError
from explain.i18n import N_, _, deferred, ngettext


@dataclass(frozen=True)
class LabelledData:
    """Texts with their class names, the classes in order of first appearance, and notices for the user
    (Deferred: the app shows them with _() in each reader's language, even from a cache)."""

    texts: tuple[str, ...]
    labels: tuple[str, ...]
    classes: tuple[str, ...]
    notices: tuple[str, ...] = ()

    @property
    def counts(self) -> dict[str, int]:
        counts = Counter(self.labels)
        return {c: counts[c] for c in self.classes}


def read_labelled_csv(
    file_or_bytes: bytes | str | Path | BinaryIO,
    max_rows: int = 5000,
    max_bytes: int = 5_000_000,
    min_per_class: int = 10,
    max_classes: int = 50,
    seed: int = 0,
    require_label: bool = True,
) -> LabelledData:
    """Read a CSV with columns `text` and `label` (any case, any order, other columns ignored).

    Accepts raw bytes, a path, or a binary file object (e.g. a Streamlit upload). Commas, semicolons
    or tabs as separators; quoted fields may hold commas, quotes and newlines. Over `max_rows`
    rows, a seeded random sample of `max_rows` is kept (with a notice), so no class is cut off.
    With `require_label=False`, the label column is optional and its values are not checked as classes.

    Raises:
        InputError: too large, not UTF-8, no text/label column, empty texts or labels, fewer than 2
            classes, a class with fewer than `min_per_class` examples, more than `max_classes` classes.
    """
    raw = _read_bytes(file_or_bytes, max_bytes)
    text = _decode(raw)
    if not text.strip():
        raise InputError(_("The CSV file is empty: it needs a header row 'text,label' and one row per example."))
    delimiter = _delimiter(text, require_label)
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(rows)
        names = [h.strip().lower() for h in header]
        if "text" not in names or ("label" not in names and require_label):
            found = ", ".join(f"'{h.strip()}'" for h in header if h.strip()) or _("none")
            message = (_("The CSV needs a 'text' and a 'label' column; its header has {found}.") if require_label
                       else _("The CSV needs a 'text' column; its header has {found}."))
            raise InputError(message.format(found=found))
        ti, li = names.index("text"), names.index("label") if "label" in names else None
        data = [
            (r[ti] if ti < len(r) else "", r[li] if li is not None and li < len(r) else "", rows.line_num)
            for r in rows
            if any(c.strip() for c in r)
        ]
    except csv.Error as err:
        raise InputError(_("The CSV could not be parsed near line {line}: {reason}. Check its quotes.").format(
            line=rows.line_num, reason=err)) from None
    notices = []
    if not data:
        raise InputError(_("The CSV has a header but no rows."))
    empty = [line for t, l, line in data if not t.strip()]
    if empty:
        raise InputError(ngettext("{n} row has an empty text (lines {lines}): fill it in or remove it.",
                                  "{n} rows have an empty text (lines {lines}): fill them in or remove them.",
                                  len(empty)).format(n=len(empty), lines=_lines(empty)))
    unlabelled = [line for t, l, line in data if not l.strip()] if li is not None else []
    if unlabelled:
        raise InputError(ngettext("{n} row has no label (lines {lines}): fill it in or remove it.",
                                  "{n} rows have no label (lines {lines}): fill them in or remove them.",
                                  len(unlabelled)).format(n=len(unlabelled), lines=_lines(unlabelled)))
    if len(data) > max_rows:
        keep = np.sort(np.random.default_rng(seed).choice(len(data), max_rows, replace=False))
        notices.append(deferred(N_("The file has {n:,} rows; a random sample of {kept:,} is used."),
                                n=len(data), kept=max_rows))
        data = [data[i] for i in keep]
    texts = tuple(t.strip() for t, _label, _line in data)
    labels = tuple(l.strip() for _text, l, _line in data) if li is not None else ()
    classes = tuple(dict.fromkeys(labels))
    if not require_label:  # labels are optional and not checked as classes
        return LabelledData(texts=texts, labels=labels, classes=classes, notices=tuple(notices))
    if len(classes) < 2:
        raise InputError(_("Every row has the label '{label}': a classifier needs at least 2 different labels.").format(
            label=classes[0]))
    if len(classes) > max_classes:
        raise InputError(_(
            "The label column has {n:,} different values; a head can learn at most {limit}. "
            "Is the 'label' column the right one?"
        ).format(n=len(classes), limit=max_classes))
    counts = Counter(labels)
    few = [f"'{c}' ({counts[c]})" for c in classes if counts[c] < min_per_class]
    if few:
        raise InputError(_(
            "Each label needs at least {n} examples (some are held out to measure accuracy); too few for {labels}."
        ).format(n=min_per_class, labels=", ".join(few[:10])))
    clashes = _conflicts(texts, labels)
    if clashes:
        notices.append(deferred(N_("{n} texts appear with more than one label; they are kept as given."), n=clashes))
    return LabelledData(texts=texts, labels=labels, classes=classes, notices=tuple(notices))


def _delimiter(text: str, require_label: bool = True) -> str:
    """The first of , ; tab whose header row holds a text and (if required) a label column (default ,)."""
    for delimiter in (",", ";", "\t"):
        try:
            header = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
        except (csv.Error, StopIteration):
            continue
        if ({"text", "label"} if require_label else {"text"}) <= {h.strip().lower() for h in header}:
            return delimiter
    return ","


def _read_bytes(source, max_bytes: int) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        raw = bytes(source)
    elif isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise InputError(_("No file at '{path}'.").format(path=path))
        with open(path, "rb") as f:
            raw = f.read(max_bytes + 1)
    elif hasattr(source, "read"):
        if hasattr(source, "seek"):
            source.seek(0)
        raw = source.read(max_bytes + 1)
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
    else:
        raise InputError(_("Give the CSV as bytes, a file path or an open file."))
    if len(raw) > max_bytes:
        raise InputError(_("The file is larger than {mb:g} MB: keep fewer rows or shorter texts.").format(
            mb=max_bytes / 1e6))
    return raw


def _decode(raw: bytes) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(_("The file is UTF-16 text; save it as UTF-8 (in Excel: 'CSV UTF-8 (Comma delimited)')."))
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputError(_(
            "The file is not UTF-8 text (byte {byte} at position {position}). Save it with UTF-8 encoding (in Excel: "
            "'CSV UTF-8 (Comma delimited)'; in LibreOffice: character set 'Unicode (UTF-8)')."
        ).format(byte=f"0x{raw[err.start]:02x}", position=err.start)) from None


def _lines(lines: list[int]) -> str:
    return ", ".join(str(n) for n in lines[:5]) + (", ..." if len(lines) > 5 else "")


def _conflicts(texts: Sequence[str], labels: Sequence[str]) -> int:
    seen: dict[str, set[str]] = {}
    for t, l in zip(texts, labels):
        seen.setdefault(t, set()).add(l)
    return sum(len(v) > 1 for v in seen.values())
