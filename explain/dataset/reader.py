"""Read labelled data: a CSV for training a head, and CSV/TSV/JSONL files for evaluating one.

Public API:
    read_labelled_csv(source) -> LabelledData: a small CSV (text,label) for the Train page; checks
        what training needs (2+ classes, 10+ examples each).
    read_rows(source, name=None) -> Rows: an upload or file of CSV, TSV or JSONL rows with `text`,
        optional `text_pair` and `label` (or `tags`), read whole (up to `max_bytes`).
    scan_rows(source) -> RowsSummary: one streaming pass over a file (a path, or an upload's bytes) of
        any size: checks every row (the same messages as read_rows) and counts rows and labels, in flat
        memory. Call it first: it fails fast, gives the total for a progress bar and the labels to match.
    stream_rows(source, chunk_rows) -> Iterator[Rows]: the rows in chunks, in file order, in flat memory.
    capped_sample(n, max_rows, seed) -> the row indices read_rows keeps when a file has over max_rows rows.

Every bad case is an InputError whose message says what to do (see `explain.dataset.parse` for the
columns and the JSONL keys). Labels stay strings here; `explain.dataset.labels` matches them to a
model's classes.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import BinaryIO

import numpy as np

from explain.dataset.parse import Record, decoded_lines, detect_format, empty_file, records
from explain.errors import InputError
from explain.i18n import N_, _, deferred, ngettext
from explain.local_files import existing_file

MAX_BYTES = 5_000_000  # an upload read whole (the Data set page streams larger ones: scan_rows / stream_rows)
CHUNK_ROWS = 1000


@dataclass(frozen=True)
class LabelledData:
    """Texts with their class names, the classes in order of first appearance, and notices for the user."""

    texts: tuple[str, ...]
    labels: tuple[str, ...]
    classes: tuple[str, ...]
    notices: tuple[str, ...] = ()

    @property
    def counts(self) -> dict[str, int]:
        counts = Counter(self.labels)
        return {c: counts[c] for c in self.classes}


@dataclass(frozen=True)
class Rows:
    """Labelled rows as read (texts and labels stripped), in file order.

    Attributes:
        texts: (N,). pairs: second texts, None where a row has none, (N,).
        labels: label strings as written (a token-tagging row: its tags joined by spaces), (N,).
        lines: the file line where each row ends (1-based), (N,), for messages and links back.
        start: index of the first row in the whole file (0 unless this is a streamed chunk).
        notices: remarks for the user (e.g. a sample was drawn).
        format: "csv" | "tsv" | "jsonl".
    """

    texts: tuple[str, ...]
    labels: tuple[str, ...]
    pairs: tuple[str | None, ...]
    lines: tuple[int, ...]
    start: int = 0
    notices: tuple[str, ...] = ()
    format: str = "csv"

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def has_pairs(self) -> bool:
        return any(p is not None for p in self.pairs)

    @property
    def classes(self) -> tuple[str, ...]:
        """Distinct labels in order of first appearance."""
        return tuple(dict.fromkeys(self.labels))

    @property
    def counts(self) -> dict[str, int]:
        counts = Counter(self.labels)
        return {c: counts[c] for c in self.classes}

    def subset(self, index: Sequence[int] | np.ndarray) -> Rows:
        """The rows at `index` (in that order), e.g. a seeded sample or the errors."""
        index = [int(i) for i in index]
        return Rows(
            texts=tuple(self.texts[i] for i in index),
            labels=tuple(self.labels[i] for i in index),
            pairs=tuple(self.pairs[i] for i in index),
            lines=tuple(self.lines[i] for i in index),
            start=self.start,
            notices=self.notices,
            format=self.format,
        )


@dataclass(frozen=True)
class RowsSummary:
    """What one pass over a file found: its format, row count, label counts and whether pairs occur."""

    path: str
    format: str
    rows: int
    label_counts: Mapping[str, int]
    has_pairs: bool

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(self.label_counts)


def rows_from_texts(
    texts: Sequence[str], labels: Sequence[str | int], pairs: Sequence[str | None] | None = None
) -> Rows:
    """Rows built in code (tests, notebooks, the shipped held-out samples), checked like a file's."""
    if len(texts) != len(labels) or (pairs is not None and len(pairs) != len(texts)):
        raise InputError(_("Give one label (and one pair, if any) per text."))
    pairs = [None] * len(texts) if pairs is None else pairs
    found = [
        Record(i + 1, str(t or ""), p if p and p.strip() else None, "" if l is None else str(l))
        for i, (t, p, l) in enumerate(zip(texts, pairs, labels))
    ]
    return _rows(found, start=0, fmt="jsonl")


def read_rows(
    source: bytes | str | Path | BinaryIO,
    name: str | None = None,
    format: str | None = None,
    max_rows: int | None = None,
    max_bytes: int = MAX_BYTES,
    seed: int = 0,
    require_label: bool = True,
) -> Rows:
    """Read a whole CSV, TSV or JSONL upload or file into Rows.

    Args:
        source: raw bytes, a path, or a binary file object (e.g. a Streamlit upload).
        name: the file's name, whose extension gives the format (.csv, .tsv, .jsonl/.ndjson/.json);
            a path's own name is used when None. Without either, a first line starting with '{'
            means JSONL, anything else CSV (comma, semicolon or tab, from the header).
        format: "csv" | "tsv" | "jsonl" to override the detection.
        max_rows: over this many rows, a seeded random sample is kept (with a notice), in file order.
        max_bytes: larger inputs are refused (read whole, so this bounds memory).
        require_label: False lets rows (or the whole file) go without a label (label "").

    Raises:
        InputError: too large, not UTF-8, empty, no text/label column or key, a bad JSONL line, a
            CSV quoting error, empty texts, rows without a label.
    """
    raw = _read_bytes(source, max_bytes)
    if name is None and isinstance(source, (str, Path)):
        name = str(source)
    fmt = format or detect_format(name, raw[:4096].lstrip()[:200])
    lines = io.BytesIO(raw)
    found = list(records(decoded_lines(lines), fmt, require_label))
    rows = _rows(found, start=0, fmt=fmt, require_label=require_label)
    if max_rows is not None and len(rows) > max_rows:
        n = len(rows)
        rows = rows.subset(capped_sample(n, max_rows, seed))
        rows = Rows(rows.texts, rows.labels, rows.pairs, rows.lines, 0, (sampled_notice(n, max_rows),), fmt)
    return rows


def capped_sample(n: int, max_rows: int, seed: int = 0) -> np.ndarray:
    """The sorted indices of the seeded random sample of `max_rows` of n rows that `read_rows` keeps, (max_rows,)."""
    return np.sort(np.random.default_rng(seed).choice(n, max_rows, replace=False))


def sampled_notice(n: int, k: int) -> str:
    return deferred(N_("The file has {n:,} rows; a random sample of {k:,} is used."), n=n, k=k)


def _source(source: str | Path | bytes | bytearray | memoryview, name: str | None) -> tuple[BinaryIO, str | None]:
    """An open binary stream over a path or an upload's bytes (not copied), and the name for the format."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return io.BytesIO(source), name
    path = _check_path(source)
    return open(path, "rb"), name or path.name


def _format_from(stream: BinaryIO, name: str | None) -> str:
    fmt = detect_format(name, stream.read(4096).lstrip()[:200])
    stream.seek(0)
    return fmt


def scan_rows(source: str | Path | bytes, format: str | None = None, name: str | None = None) -> RowsSummary:
    """Check every row of a file of any size in one streaming pass, and count rows and labels.

    source: a path, or the raw bytes of an upload (then `name` gives the format). Memory stays flat
    (one line at a time). Raises the InputError `read_rows` would raise, naming up to five lines of
    each kind of problem across the whole file.
    """
    path = str(_check_path(source)) if isinstance(source, (str, Path)) else (name or "")
    stream, name = _source(source, name)
    counts: Counter[str] = Counter()
    empty: list[int] = []
    unlabelled: list[int] = []
    n_empty = n_unlabelled = n = 0
    has_pairs = False
    with stream as f:
        fmt = format or _format_from(f, name)
        for record in records(decoded_lines(f), fmt):
            if not record.text.strip():
                n_empty += 1
                empty += [record.line] if len(empty) < 5 else []
            elif not record.label.strip():
                n_unlabelled += 1
                unlabelled += [record.line] if len(unlabelled) < 5 else []
            else:
                counts[record.label.strip()] += 1
                has_pairs = has_pairs or record.pair is not None
            n += 1
    _raise_problems(n, fmt, empty, n_empty, unlabelled, n_unlabelled)
    return RowsSummary(str(path), fmt, n, MappingProxyType(dict(counts)), has_pairs)


def stream_rows(source: str | Path | bytes, chunk_rows: int = CHUNK_ROWS, format: str | None = None,
                name: str | None = None) -> Iterator[Rows]:
    """The rows of a file of any size (a path, or an upload's bytes with its `name`), `chunk_rows` at a
    time, in file order; memory stays flat.

    Each chunk is checked like `read_rows` (run `scan_rows` first to refuse a bad file before any
    work is done); `Rows.start` is the chunk's first row index in the file.
    """
    if chunk_rows < 1:
        raise InputError(_("chunk_rows must be at least 1."))
    stream, name = _source(source, name)
    start = 0
    chunk: list[Record] = []
    with stream as f:
        fmt = format or _format_from(f, name)
        for record in records(decoded_lines(f), fmt):
            chunk.append(record)
            if len(chunk) == chunk_rows:
                yield _rows(chunk, start, fmt)
                start += len(chunk)
                chunk = []
    if chunk or start == 0:
        yield _rows(chunk, start, fmt)


def _rows(found: list[Record], start: int, fmt: str, require_label: bool = True) -> Rows:
    empty = [r.line for r in found if not r.text.strip()]
    unlabelled = [r.line for r in found if r.text.strip() and not r.label.strip()] if require_label else []
    _raise_problems(len(found) + start, fmt, empty[:5], len(empty), unlabelled[:5], len(unlabelled))
    return Rows(
        texts=tuple(r.text.strip() for r in found),
        labels=tuple(r.label.strip() for r in found),
        pairs=tuple(r.pair.strip() if r.pair else None for r in found),
        lines=tuple(r.line for r in found),
        start=start,
        format=fmt,
    )


def _raise_problems(n: int, fmt: str, empty: list[int], n_empty: int, unlabelled: list[int], n_unlabelled: int):
    if n == 0:
        if fmt == "jsonl":
            raise empty_file(fmt)
        raise InputError(_("The CSV has a header but no rows."))
    if n_empty:
        raise InputError(
            ngettext("{n} row has an empty text (lines {lines}): fill them in or remove them.",
                     "{n} rows have an empty text (lines {lines}): fill them in or remove them.", n_empty).format(
                n=n_empty, lines=_lines(empty, n_empty)
            )
        )
    if n_unlabelled:
        raise InputError(
            ngettext("{n} row has no label (lines {lines}): fill them in or remove them.",
                     "{n} rows have no label (lines {lines}): fill them in or remove them.", n_unlabelled).format(
                n=n_unlabelled, lines=_lines(unlabelled, n_unlabelled)
            )
        )


def _check_path(path: str | Path) -> Path:
    return existing_file(path)


def read_labelled_csv(
    file_or_bytes: bytes | str | Path | BinaryIO,
    max_rows: int = 5000,
    max_bytes: int = MAX_BYTES,
    min_per_class: int = 10,
    max_classes: int = 50,
    seed: int = 0,
) -> LabelledData:
    """Read a CSV with columns `text` and `label` (any case, any order, other columns ignored), for training.

    Accepts raw bytes, a path, or a binary file object (e.g. a Streamlit upload). Commas, semicolons
    or tabs as separators; quoted fields may hold commas, quotes and newlines. Over `max_rows`
    rows, a seeded random sample of `max_rows` is kept (with a notice), so no class is cut off.

    Raises:
        InputError: the cases of `read_rows`, plus fewer than 2 classes, a class with fewer than
            `min_per_class` examples, more than `max_classes` classes.
    """
    rows = read_rows(file_or_bytes, format="csv", max_rows=max_rows, max_bytes=max_bytes, seed=seed)
    notices = list(rows.notices)
    classes = rows.classes
    if len(classes) < 2:
        raise InputError(
            _("Every row has the label '{label}': a classifier needs at least 2 different labels.").format(
                label=classes[0]
            )
        )
    if len(classes) > max_classes:
        raise InputError(
            _("The label column has {n:,} different values; a head can learn at most {k}. "
              "Is the 'label' column the right one?").format(n=len(classes), k=max_classes)
        )
    counts = rows.counts
    few = [f"'{c}' ({counts[c]})" for c in classes if counts[c] < min_per_class]
    if few:
        raise InputError(
            _("Each label needs at least {k} examples (some are held out to measure accuracy); "
              "too few for {few}.").format(k=min_per_class, few=", ".join(few[:10]))
        )
    clashes = _conflicts(rows.texts, rows.labels)
    if clashes:
        notices.append(deferred(N_("{n} texts appear with more than one label; they are kept as given."), n=clashes))
    return LabelledData(texts=rows.texts, labels=rows.labels, classes=classes, notices=tuple(notices))


def _read_bytes(source, max_bytes: int) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        raw = bytes(source)
    elif isinstance(source, (str, Path)):
        with open(_check_path(source), "rb") as f:
            raw = f.read(max_bytes + 1)
    elif hasattr(source, "read"):
        if hasattr(source, "seek"):
            source.seek(0)
        raw = source.read(max_bytes + 1)
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
    else:
        raise InputError(_("Give the file as bytes, a file path or an open file."))
    if len(raw) > max_bytes:
        raise InputError(
            _("The file is larger than {mb:g} MB: keep fewer rows or shorter texts.").format(mb=max_bytes / 1e6)
        )
    return raw


def _lines(lines: list[int], total: int) -> str:
    return ", ".join(str(n) for n in lines[:5]) + (", ..." if total > 5 else "")


def _conflicts(texts: Sequence[str], labels: Sequence[str]) -> int:
    seen: dict[str, set[str]] = {}
    for t, l in zip(texts, labels):
        seen.setdefault(t, set()).add(l)
    return sum(len(v) > 1 for v in seen.values())
