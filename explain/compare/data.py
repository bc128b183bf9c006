"""The rows a data-set comparison reads: the one place `explain.dataset.reader` is called from here.

A CSV, TSV or JSON Lines file (as the data-set page reads) with a `text` column or key; a `label` is
optional (used for accuracy when the labels are the models' classes). The shipped held-out samples
are listed by `shipped_samples`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from explain.errors import InputError, ModelLoadError
from explain.i18n import _
from explain.local_files import existing_file

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
    from explain.dataset.reader import read_rows as read_data

    raw, name = _raw(source, name)
    rows = read_data(raw, name=name or None, max_rows=max_rows, max_bytes=MAX_BYTES, require_label=False)
    labels = rows.labels if all(rows.labels) else None
    return Rows(texts=rows.texts, labels=labels, notices=rows.notices, source=name)


def _raw(source, name: str) -> tuple[bytes, str]:
    if isinstance(source, (str, Path)):
        path = existing_file(source)
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
