"""What every lesson step receives: the lesson, the sidebar's model and run, the page's two columns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bert_lens.views.lessons.state import Lesson
from explain import ModelBundle, ModelRun


@dataclass(frozen=True)
class StepContext:
    lesson: Lesson
    bundle: ModelBundle
    run: ModelRun
    side: Any  # the left column: teaching text, question, the step's controls
    view: Any  # the right column: the live view (must fit 1280x720 in presenter mode)
    height: int  # height budget of the view's main chart, in pixels
    present: bool

    @property
    def key(self) -> tuple[str, str, str | None]:
        c = self.lesson.choice
        return c.spec, c.text, c.pair
