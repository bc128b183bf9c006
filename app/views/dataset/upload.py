"""The Data set page's data at scale: an upload checked in one streaming pass, then evaluated chunk by chunk.

The page never reads a file whole into rows before its job starts: `scanned` checks every row and counts
rows and labels (flat memory, cached per data and row limit), the labels are matched from those counts,
and the evaluation job streams the rows in chunks of 1,000 (`explain.dataset.streamed.evaluate_stream`),
keeping per row only numbers in numpy arrays and, for the projector, a seeded stratified sample's head
inputs. Over the row limit (50,000 on a laptop, the server's `max_data_rows` on a shared one) a seeded
random sample of rows is evaluated, with a message.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from explain.dataset.labels import LabelMatch, match_labels
from explain.dataset.reader import RowsSummary, capped_sample, read_rows, sampled_notice, scan_rows
from explain.i18n import _
from explain.settings import current_settings

MAX_ROWS = 50_000  # rows evaluated at most (the server's max_data_rows can lower it); a larger file is sampled


@dataclass(frozen=True, eq=False)
class Data:
    """An upload as checked: its summary (rows, label counts), the rows evaluated (`keep`, sorted file
    indices, or None for every row) and the notices to show."""

    summary: RowsSummary
    keep: np.ndarray | None
    limit: int
    notices: tuple[str, ...]

    def __len__(self) -> int:
        return self.summary.rows if self.keep is None else len(self.keep)

    @property
    def sampled(self) -> bool:
        return self.keep is not None


def max_rows() -> int:
    """Rows of a data set read per request: the server's `max_data_rows` (hosted: 2,000), at most MAX_ROWS."""
    limit = current_settings().max_data_rows
    return MAX_ROWS if limit is None else min(MAX_ROWS, limit)


@st.cache_resource(show_spinner=False, max_entries=16)
def scanned(data_hash: str, name: str, limit: int, _raw: bytes) -> Data:
    """Every row checked in one streaming pass (an InputError names the bad lines), rows and labels counted."""
    summary = scan_rows(_raw, name=name)
    keep = capped_sample(summary.rows, limit) if summary.rows > limit else None
    notices = (sampled_notice(summary.rows, limit),) if keep is not None else ()
    return Data(summary, keep, limit, notices)


def cap_message(data: Data) -> str | None:
    """The message shown when the file was sampled down to `max_rows()` by this server's setting."""
    limit = current_settings().max_data_rows
    if limit is None or limit >= MAX_ROWS or not data.sampled or len(data) != limit:
        return None
    return _("This server reads at most {k:,} rows of a data set per request (its max_data_rows setting): the "
             "rows below are a seeded random sample of your file. Run `bert-lens evaluate` on your own machine for "
             "every row.").format(k=limit)


def label_match(bundle, data: Data, label_map: dict[str, str]) -> LabelMatch:
    """The data's labels (every tag, for a token classifier) matched to the model's, from the scan's counts."""
    labels = data.summary.classes
    if bundle.task == "token-classification":
        labels = [t for label in labels for t in label.split()]
    return match_labels(labels, bundle.labels, label_map)


def evaluate_data(bundle, raw: bytes, name: str, data: Data, match: LabelMatch, progress, cancel):
    """The job: a sequence classifier streams the rows in chunks; a token classifier reads them whole
    (its per-word results are not streamed yet)."""
    if bundle.task == "token-classification":
        from explain.dataset.evaluate import evaluate

        rows = read_rows(raw, name=name, max_rows=data.limit, max_bytes=len(raw) + 1)
        label_map = {k: bundle.labels[v] for k, v in match.index.items()}
        return evaluate(bundle, rows, label_map=label_map, progress=progress, cancel=cancel)
    from explain.dataset.reader import stream_rows
    from explain.dataset.streamed import evaluate_stream

    return evaluate_stream(bundle, stream_rows(raw, name=name), match, total=data.summary.rows, keep=data.keep,
                           notices=data.notices, progress=progress, cancel=cancel)
