"""Line-level parsing of labelled files (CSV, TSV, JSONL) into records with line numbers.

Everything here works on an iterator of raw byte lines, so the same code reads an upload held in
memory and a file of millions of rows streamed from disk (`explain.dataset.reader`). Every problem
is an `InputError` whose message names the line and says what to do.

Columns (CSV/TSV header, any case, any order, other columns ignored) or keys (JSONL, any case):
`text` (required), `text_pair` (optional second text, for NLI-style heads) and `label` (required;
`tags` is accepted instead, for token classification: one tag per whitespace-separated word, as a
space-separated string or, in JSONL, a list).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from explain.errors import InputError
from explain.i18n import _

FORMATS = ("csv", "tsv", "jsonl")
LABEL_KEYS = ("label", "tags")
_JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
_ROW_EXAMPLE = '{"text": "A fine film.", "label": "fresh"}'


@dataclass(frozen=True)
class Record:
    """One data row as read: `line` is the file's (1-based) line where the row ends; empty fields are ''."""

    line: int
    text: str
    pair: str | None
    label: str


def detect_format(name: str | None, first_line: bytes) -> str:
    """'jsonl' for .jsonl/.ndjson/.json names or a first line starting with '{' (or '['), 'tsv' for .tsv, else 'csv'."""
    lower = (name or "").lower()
    if lower.endswith(_JSONL_SUFFIXES):
        return "jsonl"
    if lower.endswith(".tsv"):
        return "tsv"
    if lower.endswith((".csv", ".txt")):
        return "csv"
    return "jsonl" if first_line.lstrip(b"\xef\xbb\xbf \t").startswith((b"{", b"[")) else "csv"


def not_utf8(byte: int, position: int) -> InputError:
    return InputError(
        _(
            "The file is not UTF-8 text (byte 0x{byte:02x} at position {position}). Save it with UTF-8 encoding "
            "(in Excel: 'CSV UTF-8 (Comma delimited)'; in LibreOffice: character set 'Unicode (UTF-8)')."
        ).format(byte=byte, position=position)
    )


def decoded_lines(lines: Iterable[bytes]) -> Iterator[str]:
    """Byte lines (with their line endings) -> text lines, UTF-8 checked; a leading BOM is dropped.

    Raises:
        InputError: UTF-16 text, or a byte that is not UTF-8 (with its position in the file).
    """
    offset = 0
    for number, raw in enumerate(lines):
        if number == 0:
            if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
                raise InputError(
                    _("The file is UTF-16 text; save it as UTF-8 (in Excel: 'CSV UTF-8 (Comma delimited)').")
                )
            if raw.startswith(b"\xef\xbb\xbf"):
                raw, offset = raw[3:], 3
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise not_utf8(raw[err.start], offset + err.start) from None
        offset += len(raw)


def records(lines: Iterator[str], fmt: str, require_label: bool = True) -> Iterator[Record]:
    """Records of a CSV/TSV (header first) or JSONL text; blank lines are skipped.

    With `require_label=False` the label column or key may be missing (its records get label "").

    Raises:
        InputError: empty file, a header without text/label, a CSV quoting error, a JSONL line that is
            not a JSON object or lacks a key, a field of the wrong type.
    """
    if fmt not in FORMATS:
        raise InputError(_("The format must be one of {formats}; got {fmt!r}.").format(formats=", ".join(FORMATS), fmt=fmt))
    return _jsonl_records(lines, require_label) if fmt == "jsonl" else _csv_records(lines, fmt, require_label)


def empty_file(fmt: str) -> InputError:
    if fmt == "jsonl":
        return InputError(
            _("The file is empty: it needs one JSON object per line, such as {example}.").format(example=_ROW_EXAMPLE)
        )
    return InputError(_("The CSV file is empty: it needs a header row 'text,label' and one row per example."))


def _csv_records(lines: Iterator[str], fmt: str, require_label: bool) -> Iterator[Record]:
    first = next(lines, None)
    while first is not None and not first.strip():
        first = next(lines, None)
    if first is None:
        raise empty_file(fmt)
    delimiter = "\t" if fmt == "tsv" else _delimiter(first, require_label)

    def all_lines() -> Iterator[str]:
        yield first
        yield from lines

    reader = csv.reader(all_lines(), delimiter=delimiter)
    try:
        header = next(reader)
        names = [h.strip().lower() for h in header]
        label_key = next((k for k in LABEL_KEYS if k in names), None)
        if "text" not in names or (label_key is None and require_label):
            found = ", ".join(f"'{h.strip()}'" for h in header if h.strip()) or _("none")
            if require_label:
                raise InputError(_("The CSV needs a 'text' and a 'label' column; its header has {found}.").format(found=found))
            raise InputError(_("The CSV needs a 'text' column; its header has {found}.").format(found=found))
        ti, li = names.index("text"), names.index(label_key) if label_key else None
        pi = names.index("text_pair") if "text_pair" in names else None
        for row in reader:
            if not any(c.strip() for c in row):
                continue
            pair = row[pi] if pi is not None and pi < len(row) else None
            yield Record(
                line=reader.line_num,
                text=row[ti] if ti < len(row) else "",
                pair=pair if pair and pair.strip() else None,
                label=row[li] if li is not None and li < len(row) else "",
            )
    except csv.Error as err:
        raise InputError(
            _("The CSV could not be parsed near line {line}: {error}. Check its quotes.").format(
                line=reader.line_num, error=err
            )
        ) from None


def _delimiter(header_line: str, require_label: bool = True) -> str:
    """The first of , ; tab whose header row holds a text and (if required) a label column (default ,)."""
    for delimiter in (",", ";", "\t"):
        try:
            header = next(csv.reader([header_line], delimiter=delimiter))
        except (csv.Error, StopIteration):
            continue
        names = {h.strip().lower() for h in header}
        if "text" in names and (names & set(LABEL_KEYS) or not require_label):
            return delimiter
    return ","


def _jsonl_records(lines: Iterator[str], require_label: bool) -> Iterator[Record]:
    seen_any = False
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if not seen_any and line.lstrip().startswith("["):
            raise InputError(
                _("The file is one JSON array; BERT Lens reads JSON Lines: one object per line, such as "
                  "{example}.").format(example=_ROW_EXAMPLE)
            )
        seen_any = True
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            raise InputError(
                _("Line {line} is not valid JSON ({error} at column {column}): each line must be one object such as "
                  "{example}.").format(line=number, error=err.msg, column=err.colno, example=_ROW_EXAMPLE)
            ) from None
        if not isinstance(obj, dict):
            raise InputError(
                _("Line {line} is a JSON {kind}, not an object: each line must be one object such as {example}.").format(
                    line=number, kind=type(obj).__name__, example=_ROW_EXAMPLE
                )
            )
        keys = {str(k).strip().lower(): v for k, v in obj.items()}
        label_key = next((k for k in LABEL_KEYS if k in keys), None)
        missing = [k for k, present in (("text", "text" in keys), ("label", label_key is not None or not require_label)) if not present]
        if missing:
            found = ", ".join(f"'{k}'" for k in obj) or _("none")
            needs = _("every line needs 'text' and 'label'") if require_label else _("every line needs 'text'")
            raise InputError(
                _("Line {line} has no {missing} key (its keys: {found}); {needs}, and may have 'text_pair'.").format(
                    line=number, missing=" or ".join(f"'{m}'" for m in missing), found=found, needs=needs
                )
            )
        pair = _text_field(keys.get("text_pair"), "text_pair", number)
        yield Record(
            line=number,
            text=_text_field(keys["text"], "text", number),
            pair=pair if pair.strip() else None,
            label=_label_field(keys[label_key], number) if label_key else "",
        )
    if not seen_any:
        raise empty_file("jsonl")


def _text_field(value, key: str, line: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InputError(
            _("Line {line}: '{key}' must be a string, not a JSON {kind}.").format(
                line=line, key=key, kind=type(value).__name__
            )
        )
    return value


def _label_field(value, line: int) -> str:
    """A label as text: strings as they are, whole numbers as digits, a list of tags joined by spaces."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, list) and all(isinstance(v, str) and v.strip() and " " not in v.strip() for v in value):
        return " ".join(v.strip() for v in value)
    raise InputError(
        _("Line {line}: 'label' must be a string, a whole number or (for token tags) a list of strings, "
          "not {value}.").format(line=line, value=json.dumps(value)[:60])
    )
