"""Timing helpers for benchmarks/run.py: medians after a warm-up, and estimates for calls too slow to run."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Cell:
    """One measured (or extrapolated) number; `value` in ms, bytes or a plain ratio."""

    value: float
    kind: str = "ms"  # ms | bytes | ratio | number
    estimated: bool = False
    runs: int = 0
    note: str = ""
    result: object = field(default=None, repr=False)  # the last call's return value, when kept


def measure(fn: Callable[[], object], repeats: int, budget_s: float = 10.0, keep: bool = False) -> Cell:
    """Median wall time of fn in ms: one warm-up call, then up to `repeats` calls within `budget_s`.

    A warm-up call over 3 s counts as the only measurement (slow calls have no warm-up effect worth
    paying for twice). `keep` stores the last call's return value in the cell.
    """
    start = time.perf_counter()
    result = fn()
    first = time.perf_counter() - start
    times = [first]
    if first <= 3.0:
        times = []
        for _ in range(max(1, min(repeats, int(budget_s / max(first, 1e-6))))):
            start = time.perf_counter()
            result = fn()
            times.append(time.perf_counter() - start)
    return Cell(statistics.median(times) * 1e3, runs=len(times), result=result if keep else None)


def extrapolate(points: dict[int, Cell], tokens: int) -> float | None:
    """Time at `tokens` from the two longest measured inputs, as a power law (exponent at least 1)."""
    measured = sorted((t, c.value) for t, c in points.items() if not c.estimated and t < tokens)
    if not measured:
        return None
    if len(measured) == 1:
        (t1, v1), exponent = measured[0], 1.0
    else:
        (t0, v0), (t1, v1) = measured[-2:]
        exponent = max(1.0, math.log(v1 / v0) / math.log(t1 / t0))
    return v1 * (tokens / t1) ** exponent


class Recorder:
    """Cells by (model, row, tokens); runs an operation unless its extrapolated time is over the limit."""

    def __init__(self, repeats: int, max_seconds: float):
        self.repeats, self.max_seconds = repeats, max_seconds
        self.cells: dict[tuple[str, str], dict[int, Cell]] = {}

    def put(self, model: str, row: str, tokens: int, cell: Cell) -> Cell:
        self.cells.setdefault((model, row), {})[tokens] = cell
        return cell

    def get(self, model: str, row: str, tokens: int) -> Cell | None:
        return self.cells.get((model, row), {}).get(tokens)

    def time(self, model: str, row: str, tokens: int, fn: Callable[[], object] | None = None,
             setup: Callable[[], Callable[[], object]] | None = None, keep: bool = False) -> Cell:
        """Measure fn (or setup(), built untimed) at `tokens`, or record an estimate when it would be too slow."""
        estimate = extrapolate(self.cells.get((model, row), {}), tokens)
        if estimate is not None and estimate > self.max_seconds * 1e3:
            return self.put(model, row, tokens, Cell(estimate, estimated=True))
        return self.put(model, row, tokens, measure(fn or setup(), self.repeats, keep=keep))


def text_of_length(tokenizer, source: str, tokens: int) -> str:
    """A prefix of `source` that tokenizes to exactly `tokens` tokens, [CLS] and [SEP] included."""
    enc = tokenizer(source[:20 * tokens], add_special_tokens=False, return_offsets_mapping=True)
    offsets = enc["offset_mapping"]
    for k in range(tokens - 2, min(len(offsets), tokens + 8)):
        text = source[: offsets[k - 1][1]]
        if len(tokenizer(text)["input_ids"]) == tokens:
            return text
    raise RuntimeError(f"Could not cut the text to exactly {tokens} tokens.")
