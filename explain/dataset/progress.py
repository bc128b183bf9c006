"""Progress reports and cancellation for the long data-set computations.

Every long function here takes `progress` (called as progress(done, total) with rows as the unit,
once with done = 0 before any work and after every batch) and `cancel` (a threading.Event; when it
is set the function stops before its next batch and raises `explain.errors.Cancelled` with the rows
done). The page turns the calls into "rows done / time left" (batches run in a seeded random order
of lengths, so the rate is steady); the CLI into a progress bar on stderr.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from explain.errors import Cancelled
from explain.i18n import _

Progress = Callable[[int, int], None]


class Tracker:
    """Counts rows done, reports them, and raises Cancelled when `cancel` is set."""

    def __init__(self, total: int, progress: Progress | None = None, cancel: threading.Event | None = None):
        self.total = int(total)
        self.done = 0
        self.progress = progress
        self.cancel = cancel
        self._report()

    def check(self) -> None:
        """Raise Cancelled if the user asked to stop."""
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled(
                _("Cancelled after {done:,} of {total:,} rows.").format(done=self.done, total=self.total),
                self.done,
                self.total,
            )

    def advance(self, rows: int) -> None:
        self.done += int(rows)
        self._report()

    def _report(self) -> None:
        if self.progress is not None:
            self.progress(self.done, self.total)
