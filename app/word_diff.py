"""Two texts' word attributions side by side, shared by the Stress tests page (a failed case: original and
perturbed) and the Attributions page (a counterfactual: the text and its edit).

The comparison itself is `explain.behaviour.compare.compare_attributions` (IG with adaptive steps, merged
into words, aligned word by word); here it becomes two coloured rows on one colour scale (so the same
colour means the same contribution on both sides), the edited words outlined, and the library's figure.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from bert_lens import charts
from bert_lens.common import figure_config, get_bundle
from bert_lens.render import colored_tokens, escape_markdown
from explain.i18n import _
from explain.settings import current_settings


@st.cache_resource(show_spinner=False, max_entries=64)
def cached_comparison(spec: str, text: str, other: str, target: int, step_limit):
    """compare_attributions for (model, text, other text, class); step_limit (the server's max_ig_steps) is
    in the key: adaptive IG stops there."""
    from explain.behaviour.compare import compare_attributions

    return compare_attributions(get_bundle(spec), text, other, target)


def comparison(spec: str, text: str, other: str, target: int):
    with st.spinner(_("Attributing both texts…")):
        return cached_comparison(spec, text, other, int(target), current_settings().max_ig_steps)


def presented(fig):
    """A figure built in explain/ with the presenter mode's larger fonts (the app's own charts get them in
    bert_lens.charts)."""
    if charts.PRESENTING.get():
        fig.update_layout(font={"size": 19}, legend_font_size=18)
        fig.update_xaxes(tickfont_size=17, title_font_size=19)
        fig.update_yaxes(tickfont_size=17, title_font_size=19)
    return fig


def side_html(cmp, after: bool) -> str:
    """One side's words coloured by their attribution (the bound shared by both sides), edited words outlined;
    the empty slots of the alignment are left out."""
    words = cmp.words_after if after else cmp.words_before
    scores = cmp.scores_after if after else cmp.scores_before
    bound = float(np.max(np.abs(np.concatenate([cmp.scores_before, cmp.scores_after])))) or 1.0
    keep = [k for k, w in enumerate(words) if w]
    return colored_tokens([words[k] for k in keep], np.asarray(scores)[keep], diverging=True, vmax=bound,
                          fmt="{:+.3f}", marked=[bool(cmp.edited[k]) for k in keep])


def comparison_chart(cmp, key: str, before_name: str, after_name: str) -> None:
    """The library's word-by-word figure (before, after, difference), downloadable as PNG or SVG."""
    from explain.behaviour.figures import comparison_figure

    st.plotly_chart(presented(comparison_figure(cmp, before_name=before_name, after_name=after_name)), key=key,
                    config=figure_config(key))
    changed = [(b or "∅", a or "∅", float(d)) for b, a, d, e in
               zip(cmp.words_before, cmp.words_after, cmp.difference, cmp.edited) if e]
    moved = int(np.argmax(np.abs(cmp.difference))) if len(cmp.difference) else None
    text = _("Integrated Gradients toward {label} on both texts ({s1} and {s2} steps, adaptive: completeness gap under "
             "1 %). Blue words raise P({label}), red ones lower it; one colour scale for both texts; edited words are "
             "outlined.").format(label=cmp.target_label, s1=cmp.steps[0], s2=cmp.steps[1])
    if moved is not None:
        word = cmp.words_after[moved] or cmp.words_before[moved]
        text += " " + _("The largest change: “{word}” ({change:+.3f}).").format(word=escape_markdown(word),
                                                                             change=float(cmp.difference[moved]))
    st.caption(text)
    if not changed:
        st.caption(_("The two texts have the same words (the change is in punctuation or spacing)."))
