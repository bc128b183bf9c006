"""The rows a data-set comparison reads: the one place `explain.dataset.reader` is called from here.

A CSV (or semicolon/tab separated) file with a `text` column; a `label` column is optional (used for
accuracy when the labels are the models' classes). JSON Lines (`{"text": ..., "label": ...}` per line,
as the shipped held-out samples) are turned into that CSV first, until the reader reads JSON Lines
itself. The shipped held-out samples are listed by `shipped_samples`.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from explain.errors import InputError, ModelLoadError
from explain.i18n import _

MAX_ROWS = 2000
MAX_BYTES = 5_000_000


@dataclass(frozen=True)
class Rows:
    """Texts to compare on, with their labels when the file has them."""

    texts: tuple[str, ...]
    labels: tuple[str, ...] | None
    notices: tuple[str, ...] = ()
    source: str = ""


def shipped_samples() -> dict[str, Path]:
    """Held-out samples that ship with the heads: display name -> file (e.g. the 300 movie reviews)."""
    from explain.models.heads import HEADS_DIR, read_card

    found = {}
    for folder in sorted(HEADS_DIR.iterdir()):
        sample = folder / "heldout.jsonl"
        if not sample.is_file():
            continue
        try:
            name = read_card(folder)["name"]
        except ModelLoadError:  # a broken card must not hide the other samples
            name = folder.name
        rows = sum(1 for line in sample.read_text(encoding="utf-8").splitlines() if line.strip())
        found[_("{rows} held-out rows of {name}").format(rows=rows, name=name)] = sample
    return found


def read_rows(source: bytes | str | Path | BinaryIO, name: str = "", max_rows: int = MAX_ROWS) -> Rows:
    """Read a data file (path, bytes or an upload) into rows; over `max_rows` rows a seeded sample is kept.

    Raises:
        InputError: no such file, too large, not UTF-8, no text column, empty texts, bad JSON lines.
    """
    from explain.dataset.reader import read_labelled_csv

    raw, name = _raw(source, name)
    if _is_jsonl(raw, name):
        raw = _jsonl_as_csv(raw)
    data = read_labelled_csv(raw, max_rows=max_rows, max_bytes=MAX_BYTES, min_per_class=1, require_label=False)
    return Rows(texts=data.texts, labels=data.labels or None, notices=data.notices, source=name)


def _raw(source, name: str) -> tuple[bytes, str]:
    if isinstance(source, (str, Path)):
        path = Path(source).expanduser()
        if not path.is_file():
            raise InputError(_("No file at '{path}'.").format(path=path))
        with open(path, "rb") as f:
            raw = f.read(MAX_BYTES + 1)
        return raw, name or path.name
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), name
    if hasattr(source, "read"):
        if hasattr(source, "seek"):
            source.seek(0)
        raw = source.read(MAX_BYTES + 1)
        return (raw.encode("utf-8") if isinstance(raw, str) else raw), name or getattr(source, "name", "")
    raise InputError(_("Give the data as a file path, bytes or an open file."))


def _is_jsonl(raw: bytes, name: str) -> bool:
    if name.lower().endswith((".jsonl", ".ndjson")):
        return True
    return raw.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{")


def _jsonl_as_csv(raw: bytes) -> bytes:
    """JSON Lines with a "text" (and optional "label") field per line -> the CSV the reader takes."""
    if len(raw) > MAX_BYTES:
        return raw  # the reader says it is too large
    try:
        lines = raw.decode("utf-8-sig").splitlines()
    except UnicodeDecodeError:
        return raw  # the reader names the bad byte
    rows = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise InputError(_("Line {n} is not valid JSON ({err}).").format(n=n, err=err.msg)) from None
        if not isinstance(row, dict) or "text" not in row:
            raise InputError(_("Line {n} has no \"text\" field: each line needs {{\"text\": ...}}.").format(n=n))
        rows.append(row)
    if not rows:
        raise InputError(_("The file has no rows."))
    has_label = all("label" in r for r in rows)
    header = ["text", "label"] if has_label else ["text"]
    out = io.StringIO()  # plain csv, not csv_text: this CSV is only read back by the reader, never opened
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([str(r["text"] or "")] + ([str(r["label"])] if has_label else []) for r in rows)
    return out.getvalue().encode("utf-8")
