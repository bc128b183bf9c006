"""Data-set computations as background jobs: the page polls rows done and time left and can cancel.

A job runs one library call (`explain.dataset.evaluate`, `dataset_attributions`, head importance...)
that takes `progress(done, total)` and `cancel` (a threading.Event) in a daemon thread, with the
session's context copied so its messages keep the session's language (as app/views/train/jobs.py does for
training). Finished results go into `RESULTS`, one bounded cache per process keyed by (kind, model
spec, data hash, options), so a second session asking for the same thing gets it at once.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

import numpy as np

from explain import BertLensError
from explain.cache import ByteLRU
from explain.errors import Cancelled
from explain.i18n import _
from explain.settings import current_settings

MAX_RESULTS = 24


def result_nbytes(value: Any, _depth: int = 0) -> int:
    """Bytes held by the numpy arrays inside a result (frozen dataclasses, tuples, dicts), roughly."""
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if _depth > 4:
        return 0
    if is_dataclass(value) and not isinstance(value, type):
        return sum(result_nbytes(getattr(value, f.name), _depth + 1) for f in fields(value)) + 256
    if isinstance(value, (tuple, list)):
        items = value if len(value) < 64 else value[:64]
        sample = sum(result_nbytes(v, _depth + 1) for v in items)
        return sample * max(1, len(value) // max(len(items), 1)) + 8 * len(value)
    if isinstance(value, dict):
        return sum(result_nbytes(v, _depth + 1) for v in value.values()) + 64 * len(value)
    if isinstance(value, str):
        return len(value)
    return 64


RESULTS: ByteLRU[Any] = ByteLRU(result_nbytes)


def cached_result(key: Hashable) -> Any | None:
    """The finished result for `key`, or None."""
    RESULTS.set_limits(current_settings().run_memory, MAX_RESULTS)
    if key is None or key not in RESULTS:
        return None
    try:
        return RESULTS.get(key, _missing)
    except LookupError:  # evicted between the check and the get
        return None


def _missing():
    raise LookupError("evicted")


@dataclass(eq=False)
class DataJob:
    """One long call in a daemon thread. `work(progress, cancel)` returns the result.

    The page reads `done`, `total`, `eta` (seconds left, from the rate so far), `result`, `error`
    (a message for the user) and `cancelled`; `label` names the job in messages, `note` is shown with
    its progress.
    """

    key: Hashable
    work: Callable[[Callable[[int, int], None], threading.Event], Any]
    label: str = ""
    note: str = ""
    stop: threading.Event = field(default_factory=threading.Event)
    done: int = 0
    total: int = 0
    stage: str = ""
    started: float = 0.0
    first_progress: tuple[float, int] | None = None
    result: Any = None
    error: str | None = None
    cancelled: bool = False
    thread: threading.Thread | None = None

    def start(self) -> DataJob:
        context = contextvars.copy_context()  # the session's language, for messages from the thread
        self.started = time.perf_counter()
        self.thread = threading.Thread(target=lambda: context.run(self._run), name="bert-lens-dataset", daemon=True)
        self.thread.start()
        return self

    def _progress(self, done: int, total: int, stage: str | None = None) -> None:
        """progress(done, total[, stage]): rows done; a new stage restarts the count and the rate."""
        if stage is not None and stage != self.stage:
            self.stage, self.first_progress = stage, None
        self.done, self.total = int(done), int(total)
        if self.first_progress is None and done > 0:
            self.first_progress = (time.perf_counter(), self.done)

    def _run(self) -> None:
        RESULTS.set_limits(current_settings().run_memory, MAX_RESULTS)
        try:
            self.result = RESULTS.get(self.key, lambda: self.work(self._progress, self.stop))
        except Cancelled as err:
            self.cancelled, self.error = True, str(err)
        except BertLensError as err:
            self.error = str(err)
        except Exception as err:  # noqa: BLE001 - shown to the user, not raised in a thread nobody joins
            self.error = _("The computation failed: {kind}: {error}").format(kind=type(err).__name__, error=err)

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    @property
    def eta(self) -> float | None:
        """Seconds left, from the rate since the first batch finished (None before two reports)."""
        if self.first_progress is None or self.total <= 0:
            return None
        t0, d0 = self.first_progress
        rows, seconds = self.done - d0, time.perf_counter() - t0
        if rows <= 0 or seconds <= 0:
            return None
        return (self.total - self.done) * seconds / rows

    def cancel(self) -> None:
        self.stop.set()

    def wait(self, timeout: float | None = None) -> DataJob:
        """Block until the job ends (tests and the CLI-like paths)."""
        if self.thread is not None:
            self.thread.join(timeout)
        return self
