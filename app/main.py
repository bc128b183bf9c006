"""BERT Lens: the Streamlit entry point. Run with `streamlit run app/main.py`."""

import streamlit as st

from bert_lens import presenter  # Streamlit only: cheap
from explain.paths import ASSETS  # a path only: cheap

st.set_page_config(page_title="BERT Lens", page_icon=str(ASSETS / "icon.png"), layout="wide",
                   initial_sidebar_state="collapsed" if presenter.from_url() else "auto")


def prefetch_plotly():
    """On a session's first run, send a blank 10-pixel plotly chart before anything slow happens.

    The browser loads Streamlit's plotly bundle (4.7 MB of JavaScript) only when the first plotly
    chart arrives. Sent first, it loads while the server imports torch and transformers and loads
    the model, instead of after them (measured: the first real chart appears 0.6 s after the script
    ends instead of 3.2-4.7 s on this loaded 2-core machine). The placeholder is emptied at the end
    of the run.
    """
    if st.session_state.get("_plotly_prefetched"):
        return None
    import plotly.graph_objects as go

    st.session_state["_plotly_prefetched"] = True
    blank = go.Figure(layout={"height": 10, "margin": {"l": 0, "r": 0, "t": 0, "b": 0},
                              "xaxis": {"visible": False}, "yaxis": {"visible": False}})
    slot = st.empty()
    slot.plotly_chart(blank, config={"staticPlot": True, "displayModeBar": False}, key="main.plotly_prefetch")
    return slot


prefetch = prefetch_plotly()

from bert_lens import charts
from bert_lens.common import current_language, sidebar  # torch and transformers: after the prefetch
from bert_lens.views import page_script
from explain.i18n import _, set_language
from explain.settings import SettingsError, apply_torch_threads, current_settings

set_language(current_language())  # before any text is built, page titles included
try:
    apply_torch_threads(current_settings())  # read once per process; a bad value stops the app with its reason
except SettingsError as err:
    if prefetch is not None:
        prefetch.empty()
    st.error(_("BERT Lens cannot start with these settings: {reason}").format(reason=err))
    st.stop()

page = st.navigation(
    [
        st.Page(page_script("tokens"), title=_("Tokens and model"), icon=":material/text_fields:", default=True),
        st.Page(page_script("lessons"), title=_("Lessons"), icon=":material/school:", url_path="lessons"),
        st.Page(page_script("embeddings"), title=_("Embeddings and positions"), icon=":material/scatter_plot:", url_path="embeddings"),
        st.Page(page_script("attention"), title=_("Attention"), icon=":material/visibility:", url_path="attention"),
        st.Page(page_script("masked"), title=_("Masked-token predictions"), icon=":material/theater_comedy:", url_path="masked"),
        st.Page(page_script("layers"), title=_("What layers know"), icon=":material/layers:", url_path="layers"),
        st.Page(page_script("attributions"), title=_("Attributions"), icon=":material/explore:", url_path="attributions"),
        st.Page(page_script("train"), title=_("Train a head"), icon=":material/model_training:", url_path="train"),
        st.Page(page_script("compare"), title=_("Compare two models"), icon=":material/compare:", url_path="compare"),
        st.Page(page_script("dataset"), title=_("Data set"), icon=":material/table_view:", url_path="dataset"),
        st.Page(page_script("stress"), title=_("Stress tests"), icon=":material/rule:", url_path="stress"),
    ]
)
try:
    st.session_state["choice"] = sidebar()
    st.session_state["present"] = presenter.is_on()  # a session value: survives page switches
    with st.sidebar:
        presenting = st.toggle(_("Presenter mode"), key="present",
                               help=_("For projectors: larger text, thicker lines, colour-blind-safe colours. "
                                      "Link: ?present=1"))
    presenter.apply(presenting)
    charts.presenting(presenting)
    page.run()
finally:
    if prefetch is not None:
        prefetch.empty()
