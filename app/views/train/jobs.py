"""Head training as a background job, so the page stays responsive and the user can stop it.

Jobs go through one queue per server process: at most `Settings.training_jobs` train at once (no
limit by default), the others wait in line and the Train page shows their place. A waiting job whose
session has closed is skipped when its turn comes.
"""

from __future__ import annotations

import contextvars
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from explain import BertLensError
from explain.dataset.reader import LabelledData
from explain.i18n import _
from explain.settings import current_settings
from explain.training.trainer import TrainConfig, TrainedHead, TrainProgress, train_head


@dataclass(eq=False)
class TrainingJob:
    """One training run in a daemon thread; the page polls `latest`, `result`, `error` and `place`.

    `alive` tells the queue whether the session that asked for the job is still open.
    """

    data: LabelledData
    config: TrainConfig
    alive: Callable[[], bool] = lambda: True
    stop: threading.Event = field(default_factory=threading.Event)
    history: list[TrainProgress] = field(default_factory=list)
    result: TrainedHead | None = None
    error: str | None = None
    cancelled: bool = False
    thread: threading.Thread | None = None
    _context: contextvars.Context | None = None
    _queue: TrainingQueue | None = None

    def start(self, queue: TrainingQueue | None = None) -> TrainingJob:
        """Queue the job (the server's queue by default); it starts at once when a place is free."""
        self._context = contextvars.copy_context()  # the session's language, for messages from the thread
        self._queue = queue or QUEUE
        self._queue.submit(self)
        return self

    def _launch(self, done: Callable[[TrainingJob], None]) -> None:
        def work() -> None:
            try:
                self._context.run(self._run)
            finally:
                done(self)

        self.thread = threading.Thread(target=work, name="bert-lens-training", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.result = train_head(
                list(self.data.texts), list(self.data.labels), self.config,
                progress=self.history.append, stop=self.stop, classes=self.data.classes,
            )
        except BertLensError as err:
            self.error = str(err)
        except Exception as err:  # shown to the user, not raised in a thread nobody joins
            self.error = _("Training failed: {error}").format(error=f"{type(err).__name__}: {err}")

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    @property
    def waiting(self) -> bool:
        return self.thread is None and not self.cancelled

    @property
    def active(self) -> bool:
        """Waiting in the queue or training."""
        return self.waiting or self.running

    @property
    def place(self) -> int | None:
        """1 for the next job to start, 2 for the one after, ...; None when not waiting."""
        return self._queue.place(self) if self.waiting and self._queue else None

    @property
    def latest(self) -> TrainProgress | None:
        return self.history[-1] if self.history else None

    def cancel(self) -> None:
        """Stop a running job (it keeps what it learned so far) or take a waiting one out of the queue."""
        self.stop.set()
        if self.waiting and self._queue:
            self._queue.withdraw(self)


class TrainingQueue:
    """First come, first served; `slots()` jobs train at once (None: no limit)."""

    def __init__(self, slots: Callable[[], int | None] = lambda: current_settings().training_jobs):
        self._slots = slots
        self._lock = threading.Lock()
        self._waiting: deque[TrainingJob] = deque()
        self._running: set[TrainingJob] = set()

    def submit(self, job: TrainingJob) -> None:
        with self._lock:
            self._waiting.append(job)
            self._start_next()

    def withdraw(self, job: TrainingJob) -> None:
        with self._lock:
            if job in self._waiting:
                self._waiting.remove(job)
                job.cancelled = True

    def place(self, job: TrainingJob) -> int | None:
        with self._lock:
            return self._waiting.index(job) + 1 if job in self._waiting else None

    @property
    def running(self) -> int:
        with self._lock:
            return len(self._running)

    def _done(self, job: TrainingJob) -> None:
        with self._lock:
            self._running.discard(job)
            self._start_next()

    def _start_next(self) -> None:
        """Start waiting jobs while places are free (called with the lock held)."""
        slots = self._slots()
        while self._waiting and (slots is None or len(self._running) < slots):
            job = self._waiting.popleft()
            if not job.alive() or job.stop.is_set():
                job.cancelled = True  # its session closed, or it was stopped while waiting
                continue
            self._running.add(job)
            job._launch(self._done)


QUEUE = TrainingQueue()
