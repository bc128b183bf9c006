"""Per-page rerun time after a text edit, for benchmarks/run.py, timed through streamlit.testing.v1.AppTest.

AppTest runs the page script in this process exactly as the server does on a rerun (sidebar, cached model,
cached forward pass, the open view's work, figure building), without the websocket and the browser's
drawing. Each timed edit types a text the session has not seen, so the forward pass and the view's
work are not served from a cache; the model itself is loaded (and cached) before timing starts.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from pathlib import Path

from bert_lens.views import page_file

MAIN = Path(__file__).resolve().parent.parent / "app" / "main.py"


class PageTimer:
    """One app session on one page with one view open; `edit(text)` types a text and times the rerun.

    Args:
        page: file name under app/views without .py ("attention").
        model: the model the sidebar is set to (through the link, `?model=`).
        state: session-state values that open the view to time (e.g. {"attn.view": "One head"}).
    """

    def __init__(self, page: str, model: str, state: Mapping[str, object] | None = None, timeout: float = 900):
        from streamlit.testing.v1 import AppTest

        self.page = page
        self.at = AppTest.from_file(str(MAIN), default_timeout=timeout)
        self.at.query_params["model"] = model
        self.at.run()
        self.at.switch_page(page_file(page))
        for key, value in (state or {}).items():
            self.at.session_state[key] = value
        self.at.run()
        self._check("opening the page")

    def edit(self, text: str) -> float:
        """Type `text` into the sidebar and rerun the page; wall time of the rerun in ms."""
        self.at.sidebar.text_area(key="text").input(text)
        start = time.perf_counter()
        self.at.run()
        ms = (time.perf_counter() - start) * 1e3
        self._check(f"a text edit ({len(text)} characters)")
        return ms

    def _check(self, what: str) -> None:
        if self.at.exception:
            raise RuntimeError(f"The {self.page} page failed after {what}: {self.at.exception[0].message}")
        errors = [e.value for e in self.at.error]
        if errors:
            raise RuntimeError(f"The {self.page} page shows an error after {what}: {errors[0]}")


def fresh_texts(make_text, count: int) -> Iterator[str]:
    """`make_text(k)` for k = 0, 1, ..., each text once; the bench asks for at most `count` of them."""
    for k in range(count):
        yield make_text(k)
    raise RuntimeError(f"More than {count} edits were timed; raise the count.")
