"""Probe sentences: words with one label per word per label set; the shipped set and a user's CSV.

The shipped set (assets/probing/, rebuilt by scripts/build_probe_data.py) is JSON Lines, gzip-compressed,
one sentence a line: {"doc", "split" ("train" | "test"), "words": [...], "<label set>": [...]}; its
card.json names the source, licence, sizes and whether each label set is gold or silver.

A user's CSV has one sentence a row: `text` (the words, separated by spaces), `labels` (one label per
word, separated by spaces) and an optional `split` column ("train" or "test"; without it, whole
sentences are assigned by a seeded hash, 20 % to test).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from explain.errors import InputError
from explain.i18n import _
from explain.paths import ASSETS

PROBING_DIR = ASSETS / "probing"
SHIPPED_FILE = "wiki-probes.jsonl.gz"
MAX_CSV_BYTES = 5_000_000
MAX_SENTENCES = 5_000
MIN_SENTENCES = 10
TEST_SHARE = 20  # percent of sentences held out when the CSV has no split column


@dataclass(frozen=True)
class ProbeSentences:
    """Sentences with word labels for one or more label sets.

    words: one tuple of words per sentence; labels: label set -> one tuple of labels per sentence (as
    long as its words); is_test: True for held-out sentences; docs: the document of each sentence.
    """

    words: tuple[tuple[str, ...], ...]
    labels: Mapping[str, tuple[tuple[str, ...], ...]]
    is_test: tuple[bool, ...]
    docs: tuple[str, ...]

    def __post_init__(self):
        object.__setattr__(self, "labels", MappingProxyType(dict(self.labels)))

    @property
    def label_sets(self) -> tuple[str, ...]:
        return tuple(self.labels)

    @property
    def num_words(self) -> int:
        return sum(len(w) for w in self.words)

    def head(self, n: int) -> ProbeSentences:
        """The first n train and the first n // 4 test sentences (for quick runs and tests)."""
        train = [i for i, t in enumerate(self.is_test) if not t][:n]
        test = [i for i, t in enumerate(self.is_test) if t][: max(1, n // 4)]
        keep = sorted(train + test)
        return ProbeSentences(
            words=tuple(self.words[i] for i in keep),
            labels={k: tuple(v[i] for i in keep) for k, v in self.labels.items()},
            is_test=tuple(self.is_test[i] for i in keep),
            docs=tuple(self.docs[i] for i in keep),
        )


def shipped_card() -> dict:
    """The shipped probe set's card (source, licence, sizes, gold or silver per label set)."""
    return json.loads((PROBING_DIR / "card.json").read_text(encoding="utf-8"))


def load_shipped() -> ProbeSentences:
    """The probe sentences that ship in assets/probing/ (label sets: pos, ner, dep)."""
    path = PROBING_DIR / SHIPPED_FILE
    rows = [json.loads(line) for line in gzip.open(path, "rt", encoding="utf-8") if line.strip()]
    sets = shipped_card()["label_sets"]
    return ProbeSentences(
        words=tuple(tuple(r["words"]) for r in rows),
        labels={name: tuple(tuple(r[name]) for r in rows) for name in sets},
        is_test=tuple(r["split"] == "test" for r in rows),
        docs=tuple(r["doc"] for r in rows),
    )


def read_label_csv(source: str | bytes | Path, seed: int = 0) -> ProbeSentences:
    """A user's probe CSV (see the module docstring) as ProbeSentences with the label set "labels".

    Raises InputError naming the row (1 = the first row after the header) and the column at fault.
    """
    text = _decoded(source)
    reader = csv.DictReader(io.StringIO(text))
    columns = [c.strip().lower() for c in (reader.fieldnames or [])]
    missing = [c for c in ("text", "labels") if c not in columns]
    if missing:
        raise InputError(_(
            "The CSV needs the columns text and labels (one sentence a row: words separated by spaces, one "
            "label per word); it lacks {columns}. Found: {found}."
        ).format(columns=", ".join(missing), found=", ".join(columns) or _("no header")))
    reader.fieldnames = columns
    words, labels, is_test, docs = [], [], [], []
    for row_no, row in enumerate(reader, start=1):
        if len(words) >= MAX_SENTENCES:
            raise InputError(_("The CSV has more than {n:,} sentences: probe a sample of it.").format(n=MAX_SENTENCES))
        if None in row:
            raise InputError(_("Row {row} has more cells than the header: quote texts that contain commas.").format(
                row=row_no))
        w = (row.get("text") or "").split()
        lab = (row.get("labels") or "").split()
        if not w:
            raise InputError(_("Row {row}, column text: the text is empty.").format(row=row_no))
        if len(lab) != len(w):
            raise InputError(_(
                "Row {row}, column labels: {n_labels} labels for {n_words} words; give one label per word, "
                "separated by spaces."
            ).format(row=row_no, n_labels=len(lab), n_words=len(w)))
        split = (row.get("split") or "").strip().lower()
        if "split" in columns and split not in ("train", "test"):
            raise InputError(_("Row {row}, column split: '{value}' is neither train nor test.").format(
                row=row_no, value=split))
        words.append(tuple(w))
        labels.append(tuple(lab))
        is_test.append(split == "test" if split else _hashed_test(row_no, " ".join(w), seed))
        docs.append(f"row {row_no}")
    if len(words) < MIN_SENTENCES:
        raise InputError(_("The CSV has {n} sentences: a probe needs at least {m}.").format(n=len(words), m=MIN_SENTENCES))
    if all(is_test) or not any(is_test):
        raise InputError(_("Both splits need sentences: mark some rows train and some test in the split column."))
    classes = {label for sentence in labels for label in sentence}
    if len(classes) < 2:
        raise InputError(_("Every word has the same label: a probe needs at least two labels."))
    return ProbeSentences(tuple(words), {"labels": tuple(labels)}, tuple(is_test), tuple(docs))


def _hashed_test(row_no: int, text: str, seed: int) -> bool:
    bucket = int(hashlib.sha256(f"{seed}/{row_no}/{text}".encode()).hexdigest()[:8], 16) % 100
    return bucket < TEST_SHARE


def _decoded(source: str | bytes | Path) -> str:
    if isinstance(source, Path):
        source = source.read_bytes()
    if isinstance(source, bytes):
        if len(source) > MAX_CSV_BYTES:
            raise InputError(_("The file is larger than {mb} MB: probe a sample of it.").format(mb=MAX_CSV_BYTES // 1_000_000))
        try:
            source = source.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InputError(_("The file is not UTF-8 text: save it as a UTF-8 CSV.")) from None
    if not source.strip():
        raise InputError(_("The file is empty."))
    return source
