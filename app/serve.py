"""BERT Lens as a server that gets ready while the first browser connects: `streamlit run app/serve.py`.

`streamlit run app/main.py` imports torch and transformers (2-4 s) and loads the default model only
when the first visitor's page runs, after the browser has loaded Streamlit's own page. Here a thread
started with the server does that work (and the first page's forward pass) in the meantime. The
pages are the same (app/main.py); `make run` uses this file.
"""

from __future__ import annotations

import logging
import threading
from contextlib import asynccontextmanager
from pathlib import Path

import streamlit as st


def warm_up() -> None:
    """Import what the first page needs, load the default model and run it on the default text."""
    try:
        from bert_lens import charts  # noqa: F401  (plotly)
        from bert_lens.common import DEFAULT_TEXT, get_run
        from explain import DEFAULT_MODEL
        from explain.attention import head_math, head_stats, maps, viewer  # noqa: F401  (the Attention page)
        from explain.settings import apply_torch_threads

        apply_torch_threads()
        get_run(DEFAULT_MODEL, DEFAULT_TEXT, None)
    except Exception:  # the first page meets the same problem and shows it; the server stays up
        logging.getLogger("bert_lens").exception("warm-up failed")


@asynccontextmanager
async def _lifespan(_app):
    threading.Thread(target=warm_up, name="bert-lens-warm-up", daemon=True).start()
    yield


streamlit_app = st.App(Path(__file__).with_name("main.py"), lifespan=_lifespan)
