"""Head training as a background job, so the page stays responsive and the user can stop it."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from explain import BertLensError
from explain.dataset.reader import LabelledData
from explain.training.trainer import TrainConfig, TrainedHead, TrainProgress, train_head


@dataclass(eq=False)
class TrainingJob:
    """One training run in a daemon thread; the page polls `latest`, `result` and `error`."""

    data: LabelledData
    config: TrainConfig
    stop: threading.Event = field(default_factory=threading.Event)
    history: list[TrainProgress] = field(default_factory=list)
    result: TrainedHead | None = None
    error: str | None = None
    thread: threading.Thread | None = None

    def start(self) -> TrainingJob:
        self.thread = threading.Thread(target=self._run, name="bert-lens-training", daemon=True)
        self.thread.start()
        return self

    def _run(self) -> None:
        try:
            self.result = train_head(
                list(self.data.texts), list(self.data.labels), self.config,
                progress=self.history.append, stop=self.stop, classes=self.data.classes,
            )
        except BertLensError as err:
            self.error = str(err)
        except Exception as err:  # shown to the user, not raised in a thread nobody joins
            self.error = f"Training failed: {type(err).__name__}: {err}"

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    @property
    def latest(self) -> TrainProgress | None:
        return self.history[-1] if self.history else None
