"""Evaluate a large upload chunk by chunk into one compact Evaluation (the Data set page at 50,000 rows).

    summary = scan_rows(raw, name=name)                         # checks every row, counts them, flat memory
    match = match_labels(summary.classes, bundle.labels, label_map)
    ev = evaluate_stream(bundle, stream_rows(raw, name=name), match, total=summary.rows,
                         keep=capped_sample(summary.rows, 2000) if summary.rows > 2000 else None)

Unlike the CLI's `explain.dataset.stream.evaluate_file`, which writes every row out and keeps only
gold ids and probabilities, the page needs every row to page through, sort and search: what is kept is
the rows' texts, pairs, labels and lines (the data itself, once), and per row a few numbers in numpy
arrays (logits (N, C), probabilities, loss, tokens...). Each chunk runs through `evaluate` (length-
bucketed batches, the same numbers as a whole-file `evaluate`), and is dropped after its numbers are
copied out. The head inputs, (N, D') floats, are not kept for every row: the projector gets a fixed,
seeded sample of `projector_rows` rows stratified by gold label and correctness (`explain.dataset.sampling`;
a reservoir keeps at most `projector_rows` rows per group while the chunks stream by).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

import numpy as np
import torch

from explain.dataset.batching import length_notices
from explain.dataset.evaluate import Evaluation, evaluate
from explain.dataset.labels import LabelMatch
from explain.dataset.metrics import classification_metrics
from explain.dataset.progress import Progress
from explain.dataset.reader import Rows
from explain.dataset.sampling import SampleReservoir, row_keys, strata_of
from explain.errors import Cancelled, InputError
from explain.i18n import _
from explain.models.arch import head_input_name
from explain.models.checkpoint import ModelBundle
from explain.run import _frozen

PROJECTOR_ROWS = 2000


def evaluate_stream(
    bundle: ModelBundle,
    chunks: Iterable[Rows],
    match: LabelMatch,
    *,
    total: int,
    keep: np.ndarray | None = None,
    projector_rows: int = PROJECTOR_ROWS,
    seed: int = 0,
    max_tokens: int | None = None,
    notices: tuple[str, ...] = (),
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> Evaluation:
    """Evaluate the rows of `chunks` (file order, e.g. `stream_rows`) into one Evaluation.

    Args:
        match: the data's labels resolved once for the whole file (`match_labels(summary.classes, ...)`).
        total: rows in the file (`scan_rows(...).rows`).
        keep: sorted file row indices to evaluate (a seeded sample when a server caps the rows,
            `capped_sample`); None: every row.
        projector_rows: head inputs kept, a sample stratified by gold label x correct (`feature_rows`
            says which rows; None when every row fits).
        notices: remarks for the user kept on the Evaluation (e.g. the sampling notice).
        progress, cancel: over the rows evaluated; Cancelled names the rows done of the whole set.

    Returns:
        An Evaluation equal to `evaluate` on the same rows read whole, except that `features` may hold
        only the sample's rows (within 1e-5: batches of other rows change float summation order).
    """
    if bundle.task != "sequence-classification":
        raise InputError(_("Streamed evaluation is for sequence classifiers; read a token classifier's rows whole."))
    n = total if keep is None else len(keep)
    keys = row_keys(n, seed)
    reservoir = SampleReservoir(projector_rows)
    texts, labels, pairs, lines = [], [], [], []
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("y_true", "logits", "n_tokens", "truncated")}
    done, seconds, max_used, fmt = 0, 0.0, None, "csv"
    specials = {False: bundle.tokenizer.num_special_tokens_to_add(False),
                True: bundle.tokenizer.num_special_tokens_to_add(True)}
    empty = []
    for chunk in chunks:
        if keep is not None:
            mine = keep[(keep >= chunk.start) & (keep < chunk.start + len(chunk))]
            chunk = chunk.subset(mine - chunk.start) if len(mine) < len(chunk) else chunk
        if not len(chunk):
            continue
        try:
            ev = evaluate(bundle, chunk, match=match, max_tokens=max_tokens, features=True, cancel=cancel,
                          progress=None if progress is None else (lambda d, _t, base=done: progress(base + d, n)))
        except Cancelled:
            raise Cancelled(_("Cancelled after {done:,} of {total:,} rows.").format(done=done, total=n), done, n) from None
        ids = np.arange(done, done + len(ev))
        reservoir.add(ids, strata_of(ev.y_true, ev.correct), keys[ids], ev.features)
        for name in parts:
            parts[name].append(np.asarray(getattr(ev, name)))
        empty.append(ev.n_tokens == np.array([specials[p is not None] for p in chunk.pairs]))
        texts += chunk.texts
        labels += chunk.labels
        pairs += chunk.pairs
        lines += chunk.lines
        done, seconds, max_used, fmt = done + len(ev), seconds + ev.seconds, ev.max_tokens, chunk.format
        del ev, chunk
    if done == 0:
        raise InputError(_("The data has no rows to evaluate."))
    rows = Rows(tuple(texts), tuple(labels), tuple(pairs), tuple(lines), 0, tuple(notices), fmt)
    del texts, labels, pairs, lines
    cat = {name: np.concatenate(arrays) for name, arrays in parts.items()}
    log_probs = torch.log_softmax(torch.from_numpy(cat["logits"]).double(), -1).numpy()
    probs = np.exp(log_probs)
    y_true, y_pred = cat["y_true"], probs.argmax(1)
    sample = reservoir.sample()
    every = len(sample.rows) == done
    shape = _Lengths(cat["truncated"], np.concatenate(empty) & ~cat["truncated"], max_used)
    return Evaluation(
        model_name=bundle.name, labels=tuple(bundle.labels), rows=rows, match=match,
        y_true=_frozen(y_true), y_pred=_frozen(y_pred), logits=_frozen(cat["logits"]), probs=_frozen(probs),
        loss=_frozen(-log_probs[np.arange(done), y_true]), correct=_frozen(y_pred == y_true),
        n_tokens=_frozen(cat["n_tokens"]), truncated=_frozen(cat["truncated"]),
        features=sample.features, feature_name=head_input_name(bundle.model),
        metrics=classification_metrics(y_true, probs, bundle.labels), max_tokens=max_used, seconds=seconds,
        notices=length_notices(rows, shape), feature_rows=None if every else sample.rows,
    )


class _Lengths:
    """What `length_notices` reads of an encoding, for the whole streamed set."""

    def __init__(self, truncated: np.ndarray, empty: np.ndarray, max_tokens: int):
        self.truncated, self.empty, self.max_tokens = truncated, empty, max_tokens
