"""Presenter mode for projectors (?present=1 or the sidebar toggle): one place for its page CSS.

The charts follow it through `bert_lens.charts.presenting` (larger fonts, thicker lines, Okabe-Ito colours,
cividis); this module adds the page side: larger text, tables included, tighter margins so a lesson
step fits 1280x720 without scrolling.
"""

from __future__ import annotations

import streamlit as st

CSS = """
<style>
html { font-size: 18px; }
[data-testid="stMainBlockContainer"], .block-container { padding-top: 2.6rem !important; padding-bottom: 0.5rem !important;
  padding-left: 1.6rem !important; padding-right: 1.6rem !important; max-width: 100% !important; }
[data-testid="stHeader"] { height: 2.2rem; background: transparent; }
[data-testid="stTable"] table, [data-testid="stMarkdownContainer"] table { font-size: 1.05rem; }
[data-testid="stVerticalBlock"] { gap: 0.55rem; }
h1 { font-size: 1.9rem !important; padding: 0 0 0.3rem 0 !important; }
h2, h3 { padding-top: 0.2rem !important; }
</style>
"""


def from_url() -> bool:
    """Whether the link asks for presenter mode (?present=1, true, yes or on)."""
    return str(st.query_params.get("present", "")).lower() in ("1", "true", "yes", "on")


def is_on() -> bool:
    """The session's presenter mode: the sidebar toggle, initialised from the link."""
    if "present" not in st.session_state:
        st.session_state["present"] = from_url()
    return bool(st.session_state["present"])


def apply(on: bool) -> None:
    """Mirror the mode into the URL and, when on, inject the page CSS."""
    if on:
        st.query_params["present"] = "1"
        st.html(CSS)
    elif "present" in st.query_params:
        del st.query_params["present"]
