"""The data file as Parquet shards keyed by row id, for the Ray engine (no `Dataset.zip` needed).

    write_rowfile(path, folder, total, sample, prune) -> folder with part-00000.parquet, ...

One streaming pass (`stream_rows`, flat memory: one chunk at a time) writes every row with its id
(its index in the file), its line, text, text_pair, label and two flags: `explain` (in the seeded
explanation sample) and `prune` (in the pruning curve's rows). Ray reads the shards with
`read_parquet`; every result carries the id, so the driver puts rows back in order by id, whatever
order Ray's tasks finish in. The rows are parsed by the same reader as the local engine's, so both
engines see the same texts and labels.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from explain.dataset.reader import CHUNK_ROWS, stream_rows

SHARD_ROWS = 10_000


def write_rowfile(path: str | Path, folder: Path, total: int, sample: np.ndarray | None = None,
                  prune: np.ndarray | None = None, shard_rows: int = SHARD_ROWS) -> Path:
    """Write the first `total` rows of `path` as Parquet shards of `shard_rows` rows into `folder` (replaced)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = Path(folder)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    sample = np.zeros(0, dtype=np.int64) if sample is None else np.asarray(sample)
    prune = np.zeros(0, dtype=np.int64) if prune is None else np.asarray(prune)
    shard, done = 0, 0
    columns: dict[str, list] = {k: [] for k in ("id", "line", "text", "text_pair", "label")}

    def flush():
        nonlocal shard
        ids = np.asarray(columns["id"], dtype=np.int64)
        table = pa.table({**{k: pa.array(v, type=pa.int64() if k in ("id", "line") else pa.string())
                             for k, v in columns.items()},
                          "explain": pa.array(np.isin(ids, sample)), "prune": pa.array(np.isin(ids, prune))})
        pq.write_table(table, folder / f"part-{shard:05d}.parquet")
        shard += 1
        for v in columns.values():
            v.clear()

    for chunk in stream_rows(path, min(CHUNK_ROWS, shard_rows)):
        n = min(len(chunk), total - done)
        columns["id"] += range(chunk.start, chunk.start + n)
        columns["line"] += chunk.lines[:n]
        columns["text"] += chunk.texts[:n]
        columns["text_pair"] += chunk.pairs[:n]
        columns["label"] += chunk.labels[:n]
        done += n
        if len(columns["id"]) >= shard_rows:
            flush()
        if done >= total:
            break
    if columns["id"] or shard == 0:
        flush()
    return folder


def rows_of_batch(batch, fmt: str = "csv"):
    """Rows (explain.dataset.reader) and their ids, (N,), from a pandas batch of the row file."""
    from explain.dataset.reader import Rows

    pairs = tuple(p if isinstance(p, str) else None for p in batch["text_pair"].tolist())
    rows = Rows(tuple(batch["text"].tolist()), tuple(batch["label"].tolist()), pairs,
                tuple(int(v) for v in batch["line"].tolist()), 0, (), fmt)
    return rows, batch["id"].to_numpy().astype(np.int64)
