"""BERT Lens: the Streamlit entry point. Run with `streamlit run app/main.py`."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st

from app.common import current_language, sidebar
from explain.i18n import _, set_language
from explain.settings import SettingsError, apply_torch_threads, current_settings

st.set_page_config(page_title="BERT Lens", page_icon=str(ROOT / "assets" / "icon.png"), layout="wide")
set_language(current_language())  # before any text is built, page titles included
try:
    apply_torch_threads(current_settings())  # read once per process; a bad value stops the app with its reason
except SettingsError as err:
    st.error(_("BERT Lens cannot start with these settings: {reason}").format(reason=err))
    st.stop()

VIEWS = Path(__file__).resolve().parent / "views"
page = st.navigation(
    [
        st.Page(VIEWS / "tokens.py", title="Tokens and model", icon=":material/text_fields:", default=True),
        st.Page(VIEWS / "embeddings.py", title="Embeddings and positions", icon=":material/scatter_plot:", url_path="embeddings"),
        st.Page(VIEWS / "attention.py", title="Attention", icon=":material/visibility:", url_path="attention"),
        st.Page(VIEWS / "masked.py", title="Masked-token predictions", icon=":material/theater_comedy:", url_path="masked"),
        st.Page(VIEWS / "attributions.py", title="Attributions", icon=":material/explore:", url_path="attributions"),
        st.Page(VIEWS / "train.py", title="Train a head", icon=":material/model_training:", url_path="train"),
    ]
)
st.session_state["choice"] = sidebar()
page.run()
