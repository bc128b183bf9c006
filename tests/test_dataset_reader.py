"""Data-set files in (CSV, TSV, JSONL; whole or streamed) and labels matched to a model's classes."""

from __future__ import annotations

import csv
import io
import json
import tracemalloc

import pytest

from explain.dataset.labels import LabelMismatch, match_labels, parse_label_map
from explain.dataset.reader import read_rows, rows_from_texts, scan_rows, stream_rows
from explain.errors import InputError

ROWS = [
    ("A gripping, beautifully shot film.", "They loved it.", "fresh"),
    ('He said "fine, thanks"\nthen left', None, "rotten"),
    ("Nothing happens; slowly.", "", "rotten"),
    ("Wonderful.", "Really?", "fresh"),
]


def as_csv(rows, delimiter=",", header=("text", "text_pair", "label")) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows([(t, p or "", l) for t, p, l in rows])
    return out.getvalue().encode()


def as_jsonl(rows) -> bytes:
    return "".join(json.dumps({"text": t, "text_pair": p, "label": l}) + "\n" for t, p, l in rows).encode()


@pytest.mark.parametrize(
    "raw, name, fmt",
    [
        (as_csv(ROWS), "data.csv", "csv"),
        (as_csv(ROWS, ";"), None, "csv"),
        (as_csv(ROWS, "\t"), "data.tsv", "tsv"),
        (as_jsonl(ROWS), "data.jsonl", "jsonl"),
        (as_jsonl(ROWS), None, "jsonl"),  # sniffed from the first '{'
        (b"\xef\xbb\xbf" + as_jsonl(ROWS), "x.ndjson", "jsonl"),
    ],
)
def test_every_format_reads_the_same_rows(raw, name, fmt):
    rows = read_rows(raw, name=name)
    assert rows.format == fmt
    assert rows.texts == tuple(t.strip() for t, _, _ in ROWS)
    assert rows.pairs == ("They loved it.", None, None, "Really?")
    assert rows.labels == ("fresh", "rotten", "rotten", "fresh") and rows.classes == ("fresh", "rotten")
    assert rows.has_pairs and len(rows) == 4


def test_line_numbers_follow_the_file():
    csv_rows = read_rows(as_csv(ROWS))
    assert csv_rows.lines == (2, 4, 5, 6)  # the quoted newline makes row 2 end on line 4
    jsonl = read_rows(b"\n" + as_jsonl(ROWS))  # a blank first line is skipped, not renumbered
    assert jsonl.lines == (2, 3, 4, 5)


def test_jsonl_labels_may_be_numbers_or_tag_lists():
    raw = b'{"text": "a b", "label": 1}\n{"TEXT": "Call Maria", "Tags": ["O", "B-GIVEN_NAME"]}\n'
    rows = read_rows(raw)
    assert rows.labels == ("1", "O B-GIVEN_NAME") and rows.pairs == (None, None)


@pytest.mark.parametrize(
    "raw, message",
    [
        (b'{"text": "ok", "label": "a"}\n{"text": "broken", "label": }\n', r"Line 2 is not valid JSON \(Expecting value at column 29\)"),
        (b'{"text": "ok", "label": "a"}\n["text", "label"]\n', r"Line 2 is a JSON list, not an object"),
        (b'[{"text": "ok", "label": "a"}]\n', r"The file is one JSON array; BERT Lens reads JSON Lines"),
        (b'{"text": "ok", "label": "a"}\n\n{"review": "x", "stars": 3}\n', r"Line 3 has no 'text' or 'label' key \(its keys: 'review', 'stars'\)"),
        (b'{"text": "ok"}\n', r"Line 1 has no 'label' key"),
        (b'{"text": 3, "label": "a"}\n', r"Line 1: 'text' must be a string, not a JSON int"),
        (b'{"text": "x", "label": 0.5}\n', r"Line 1: 'label' must be a string, a whole number"),
        (b'{"text": "x", "label": {"a": 1}}\n', r"'label' must be a string"),
        (b'{"text": "  ", "label": "a"}\n{"text": null, "label": "a"}\n', r"2 rows have an empty text \(lines 1, 2\)"),
        (b'{"text": "x", "label": null}\n', r"1 row has no label \(lines 1\)"),
        (b"", r"The CSV file is empty"),
        (b"text,label\n", r"The CSV has a header but no rows"),
        (b"review,stars\nfine,5\n", r"The CSV needs a 'text' and a 'label' column; its header has 'review', 'stars'"),
        (b'text,label\n"unclosed,a\n', r"The CSV could not be parsed|no label"),
        ("text,label\ncaf\xe9,a\n".encode("latin-1"), r"not UTF-8 text \(byte 0xe9 at position 14\)"),
        ("text,label\nhi,a\n".encode("utf-16"), r"UTF-16"),
    ],
)
def test_bad_files_get_clear_messages(raw, message):
    with pytest.raises(InputError, match=message):
        read_rows(raw)


def test_unknown_format_and_size_limit():
    with pytest.raises(InputError, match="format must be one of csv, tsv, jsonl"):
        read_rows(as_csv(ROWS), format="xlsx")
    with pytest.raises(InputError, match="larger than 0.0001 MB"):
        read_rows(as_csv(ROWS), max_bytes=100)
    with pytest.raises(InputError, match="The file is empty: it needs one JSON object per line"):
        read_rows(b"\n\n", name="empty.jsonl")
    with pytest.raises(InputError, match="No file at"):
        scan_rows("/no/such/file.csv")


def test_sample_keeps_file_order_with_a_notice():
    rows = read_rows(as_csv([(f"text {i}", None, "ab"[i % 2]) for i in range(500)]), max_rows=50, seed=3)
    assert len(rows) == 50 and list(rows.lines) == sorted(rows.lines) and "500 rows" in rows.notices[0]
    again = read_rows(as_csv([(f"text {i}", None, "ab"[i % 2]) for i in range(500)]), max_rows=50, seed=3)
    assert again.texts == rows.texts


@pytest.mark.parametrize("suffix, write", [(".csv", as_csv), (".jsonl", as_jsonl)])
def test_stream_and_scan_agree_with_read(tmp_path, suffix, write):
    many = [(f"row {i} " + "word " * (i % 7), f"pair {i}" if i % 3 == 0 else None, f"c{i % 4}") for i in range(2345)]
    path = tmp_path / f"data{suffix}"
    path.write_bytes(write(many))
    whole = read_rows(path)
    chunks = list(stream_rows(path, chunk_rows=1000))
    assert [len(c) for c in chunks] == [1000, 1000, 345] and [c.start for c in chunks] == [0, 1000, 2000]
    assert sum((c.texts for c in chunks), ()) == whole.texts
    assert sum((c.pairs for c in chunks), ()) == whole.pairs and sum((c.lines for c in chunks), ()) == whole.lines
    summary = scan_rows(path)
    assert summary.rows == 2345 and summary.format == suffix[1:] and summary.has_pairs
    assert dict(summary.label_counts) == whole.counts


def test_scan_names_problem_lines_across_the_whole_file(tmp_path):
    rows = [(f"t{i}", None, "a") for i in range(3000)]
    rows[10] = ("", None, "a")
    rows[2500] = ("  ", None, "a")
    path = tmp_path / "gaps.csv"
    path.write_bytes(as_csv(rows))
    with pytest.raises(InputError, match=r"2 rows have an empty text \(lines 12, 2502\)"):
        scan_rows(path)
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(as_jsonl(rows[:5]) + b"{oops\n")
    with pytest.raises(InputError, match="Line 6 is not valid JSON"):
        scan_rows(bad)


def test_streaming_memory_stays_flat(tmp_path):
    """Peak Python memory while streaming 20,000 rows in chunks of 500 is a small fraction of reading them
    (the benchmark measures 50,000 rows)."""
    path = tmp_path / "big.jsonl"
    text = "a fairly ordinary movie review sentence that goes on for a while " * 2
    with open(path, "w") as f:
        f.writelines(json.dumps({"text": f"{i} {text}", "label": "ab"[i % 2]}) + "\n" for i in range(20_000))
    tracemalloc.start()
    n = sum(len(chunk) for chunk in stream_rows(path, chunk_rows=500))
    streamed = tracemalloc.get_traced_memory()[1]
    tracemalloc.reset_peak()
    whole = read_rows(path, max_bytes=10**9)
    read = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert n == len(whole) == 20_000
    assert streamed < read / 10, (streamed, read)


def test_rows_from_texts_checks_like_a_file():
    rows = rows_from_texts(["a", "b"], [0, "x"], pairs=[None, "c"])
    assert rows.labels == ("0", "x") and rows.pairs == (None, "c")
    with pytest.raises(InputError, match="1 row has an empty text"):
        rows_from_texts(["a", " "], ["x", "y"])


# ---- labels -------------------------------------------------------------------------------------

MODEL = ("rotten", "fresh")


def test_labels_match_by_name_case_and_id():
    m = match_labels(["fresh", "ROTTEN", "fresh"], MODEL)
    assert dict(m.index) == {"fresh": 1, "ROTTEN": 0} and dict(m.how) == {"fresh": "name", "ROTTEN": "case"}
    assert m.indices(["ROTTEN", "fresh"]).tolist() == [0, 1]
    ids = match_labels(["0", "1"], MODEL)
    assert dict(ids.index) == {"0": 0, "1": 1} and set(ids.how.values()) == {"id"}
    assert ids.describe() == ("0 -> rotten (class id)", "1 -> fresh (class id)")
    # a label that is a model label's name wins over reading it as an id
    assert dict(match_labels(["1"], ("0", "1", "2")).how) == {"1": "name"}
    assert match_labels(["1"], ("2", "1")).index["1"] == 1


def test_unknown_labels_are_named_with_the_way_out():
    with pytest.raises(LabelMismatch) as err:
        match_labels(["positive", "negative", "fresh", "7"], MODEL)
    message = str(err.value)
    assert "'positive', 'negative', '7'" in message and "rotten, fresh" in message and "0 to 1" in message
    assert "label map" in message and "positive=rotten,negative=fresh" in message
    assert err.value.unknown == ("positive", "negative", "7") and err.value.model_labels == MODEL


def test_label_map_resolves_them():
    m = match_labels(["positive", "negative"], MODEL, label_map={"positive": "Fresh", "negative": 0, "other": "x"})
    assert dict(m.index) == {"positive": 1, "negative": 0} and set(m.how.values()) == {"map"}
    with pytest.raises(InputError, match="sends 'positive' to 'great', which is not one of the model's labels"):
        match_labels(["positive"], MODEL, label_map={"positive": "great"})


def test_parse_label_map():
    assert parse_label_map(" positive = fresh,negative=rotten ,") == {"positive": "fresh", "negative": "rotten"}
    for bad in ("positive", "a=b=c", "=fresh"):
        with pytest.raises(InputError, match="write data=model pairs"):
            parse_label_map(bad)
