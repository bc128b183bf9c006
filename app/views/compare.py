"""Compare: what fine-tuning changed. Model A (the sidebar's) next to model B, on one text or over a data set."""

import hashlib
import re

import pandas as pd
import streamlit as st

from bert_lens.common import CUSTOM, get_bundle, get_run, int_param, load_or_stop, run_or_stop
from bert_lens.render import colored_tokens
from explain import DEFAULT_MODEL, BertLensError, builtin_models
from explain.compare import export, figures
from explain.compare.compat import check_compatible
from explain.compare.data import read_rows, shipped_samples
from explain.compare.text import CLASSIFICATION_TASKS, compare_text
from explain.figure_style import download_config
from explain.i18n import N_, _, get_language, keep_language, language

MODES = (N_("One text"), N_("Data set"))
VIEWS = (N_("Heads"), N_("Layers"), N_("Predictions and attributions"))
UPLOAD = N_("Upload a file")

choice = st.session_state["choice"]


@st.cache_resource(show_spinner=False, max_entries=16)
def cached_compat(spec_a: str, spec_b: str):
    return check_compatible(get_bundle(spec_a), get_bundle(spec_b))


@st.cache_resource(show_spinner=False, max_entries=32)
def cached_text(spec_a: str, spec_b: str, text: str, pair: str | None):
    a, b = get_bundle(spec_a), get_bundle(spec_b)
    return compare_text(a, b, text, pair, compat=cached_compat(spec_a, spec_b),
                        run_a=get_run(spec_a, text, pair), run_b=get_run(spec_b, text, pair))


@st.cache_resource(show_spinner=_("Attributing with both models…"), max_entries=32)
def cached_attributions(spec_a: str, spec_b: str, text: str, pair: str | None, method: str):
    from explain.compare.text import compare_attributions

    return compare_attributions(get_bundle(spec_a), get_bundle(spec_b), text, pair, method=method)


@st.cache_data(show_spinner=False, max_entries=8)
def cached_rows(raw: bytes, name: str):
    return read_rows(raw, name=name)


def default_b(spec_a: str) -> str:
    """B starts as A's base: the default encoder for every shipped head (or a head, when A is the default)."""
    if spec_a != DEFAULT_MODEL:
        return DEFAULT_MODEL
    return next((n for n in builtin_models() if n != DEFAULT_MODEL), DEFAULT_MODEL)


def pick_model_b(spec_a: str) -> str:
    """Model B's chooser, initialised from ?model_b= in the link; mirrored back into the URL."""
    names = list(builtin_models())
    if "cmp.model_b" not in st.session_state:
        wanted = st.query_params.get("model_b") or default_b(spec_a)
        st.session_state["cmp.model_b"] = wanted if wanted in names else CUSTOM
        st.session_state["cmp.model_b_custom"] = "" if wanted in names else wanted
    c1, c2, c3 = st.columns([3, 2, 1.4])
    c1.selectbox(_("Model B (compared with A, the sidebar's model)"), [*names, CUSTOM], key="cmp.model_b",
                 format_func=keep_language(_))
    c3.radio(_("Figure downloads"), ["png", "svg"], horizontal=True, key="cmp.img", format_func=str.upper,
             help=_("The format the camera button above each figure saves."))
    spec_b = st.session_state["cmp.model_b"]
    if spec_b == CUSTOM:
        spec_b = c2.text_input(_("B: hub id or folder"), key="cmp.model_b_custom",
                               placeholder=_("bert-base-uncased or /path/to/checkpoint")).strip()
    if spec_b:
        st.query_params["model_b"] = spec_b
    return spec_b


def config(name: str) -> dict:
    return download_config(st.session_state.get("cmp.img", "png"), f"bert-lens-compare-{name}")


def clicked_head(chart_key: str) -> tuple[int, int] | None:
    """(layer, head) of the point clicked in a JS grid (x = head, y = layer), or None."""
    points = st.session_state.get(chart_key, {}).get("selection", {}).get("points", [])
    if points and "x" in points[0] and "y" in points[0]:
        return int(points[0]["y"]), int(points[0]["x"])
    return None


def open_head(chart_key: str, layer_key: str = "cmp.layer", head_key: str = "cmp.head") -> None:
    """JS grid click: open the clicked head (in both maps, or in the data-set panel)."""
    clicked = clicked_head(chart_key)
    if clicked is not None:
        st.session_state[layer_key], st.session_state[head_key] = clicked


def open_row(text: str, layer: int, head: int) -> None:
    """Data-set row button: show this row in one-text mode, on the head that changed most for it."""
    st.session_state["text"], st.session_state["pair"] = text, ""
    st.session_state["cmp.mode"] = MODES[0]
    st.session_state["cmp.layer"], st.session_state["cmp.head"] = layer, head


def plain(text: str) -> str:
    """User text for a widget label, which Streamlit renders as Markdown: every Markdown character escaped."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|~<>$:])", r"\\\1", text)


def report_download(label: str, name_a: str, name_b: str, build, key: str) -> None:
    """The HTML report, built only when the button is clicked (in another thread: keep the language)."""
    lang = get_language()

    def make() -> str:
        with language(lang):
            return export.report(name_a, name_b, build())

    st.download_button(label, make, "bert-lens-compare.html", "text/html", key=key, on_click="ignore")


# ---- page ------------------------------------------------------------------------------------------
st.title(_("Compare two models"))
st.caption(_("What fine-tuning changed: which heads attend differently, from which layer on the representations "
             "part ways, and whether both models read the same words when they decide."))
bundle_a = load_or_stop(choice.spec)
spec_b = pick_model_b(choice.spec)
if not spec_b:
    st.info(_("Type a Hugging Face hub id or the path of a local checkpoint folder for model B."))
    st.stop()
try:
    bundle_b = get_bundle(spec_b)
    compat = cached_compat(choice.spec, spec_b)
except BertLensError as err:
    st.error(str(err))
    st.stop()
st.caption(_("A: **{a}** (the sidebar's model) · B: **{b}**").format(a=_(bundle_a.name), b=_(bundle_b.name)))
for note in compat.notes:
    st.info(_(note))
st.session_state.setdefault("cmp.mode", MODES[0])  # no widget default: callbacks set the mode (open_row)
mode = st.segmented_control(_("Mode"), MODES, key="cmp.mode", format_func=keep_language(_), label_visibility="collapsed") or MODES[0]

if mode == MODES[0]:
    run_or_stop(choice)  # A's run, with its messages (truncation, notes on the model)
    try:
        c = cached_text(choice.spec, spec_b, choice.text, choice.pair)
    except BertLensError as err:
        st.info(str(err))
        st.stop()
    L, H = compat.layers[0], compat.heads[0]
    if "cmp.layer" not in st.session_state and c.js is not None:
        top = c.top_heads(1)[0]
        st.session_state["cmp.layer"] = int_param("layer", top[0], L)
        st.session_state["cmp.head"] = int_param("head", top[1], H)
    st.success(export.summary(c))
    st.session_state.setdefault("cmp.view", VIEWS[0])
    view = st.segmented_control(_("View"), VIEWS, key="cmp.view", format_func=keep_language(_),
                                label_visibility="collapsed") or VIEWS[0]

    if view == VIEWS[0]:
        if c.js is None:
            st.info(_("Per-head comparisons need equal numbers of layers and heads; see Layers for CKA."))
        else:
            st.session_state["cmp.layer"] = min(st.session_state["cmp.layer"], L - 1)
            st.session_state["cmp.head"] = min(st.session_state["cmp.head"], H - 1)
            left, right = st.columns([3, 2])
            layer = right.slider(_("Layer"), 0, L - 1, key="cmp.layer")
            head = right.slider(_("Head"), 0, H - 1, key="cmp.head")
            st.query_params.update({"layer": str(layer), "head": str(head)})
            right.metric(_("JS divergence of this head"), f"{c.js[layer, head]:.4f} " + _("bits"),
                         help=_("Jensen-Shannon divergence (log base 2: 0 = same attention, 1 = disjoint) between "
                                "A's and B's attention rows, averaged over the query tokens."))
            rows = pd.DataFrame(c.top_heads(8), columns=[_("layer"), _("head"), _("JS (bits)")])
            right.dataframe(rows.style.format({_("JS (bits)"): "{:.4f}"}), hide_index=True, width="stretch")
            left.plotly_chart(figures.js_grid(c.js, title=_("Attention change per head: click a head to open it"),
                                              selected=(layer, head)),
                              key="cmp.js_chart", on_select=lambda: open_head("cmp.js_chart"),
                              selection_mode="points", config=config("js-grid"))
            att_a, att_b = c.run_a.attentions[layer, head], c.run_b.attentions[layer, head]
            st.plotly_chart(figures.attention_maps(att_a, att_b, c.tokens, name_a=_(bundle_a.name), name_b=_(bundle_b.name),
                                                   title=_("Layer {layer}, head {head}: where each token (row) looks")
                                                   .format(layer=layer, head=head)),
                            key="cmp.maps", config=config(f"layer{layer}-head{head}"))
            st.caption(_("A and B share one colour scale: the same shade is the same weight in both."))
            left, right = st.columns(2)
            left.plotly_chart(figures.difference_map(att_a, att_b, c.tokens, title=_("A − B: red where A looks more, "
                                                                                      "blue where B does")),
                              key="cmp.diff", config=config(f"layer{layer}-head{head}-difference"))
            right.plotly_chart(figures.query_js_bars(c.tokens, c.js_tokens[layer, head],
                                                     title=_("Which tokens' attention changed")),
                               key="cmp.query_js", config=config(f"layer{layer}-head{head}-tokens"))

    elif view == VIEWS[1]:
        if c.cka is not None:
            st.plotly_chart(figures.layer_curves(c.cka, c.cosine_mean,
                                                 title=_("Similarity of A and B, layer by layer")),
                            key="cmp.curves", config=config("layers"))
        st.caption(_("Linear CKA (Kornblith et al. 2019) compares the two layers' representations of all tokens at "
                     "once (1 = the same up to a rotation and scale); the cosine compares each token's vector in A "
                     "with its vector in B, averaged over the tokens."))
        if c.cosine is not None:
            st.plotly_chart(figures.token_cosine(c.cosine, c.tokens, title=_("Cosine of each token's hidden state")),
                            key="cmp.tokens", config=config("token-cosine"))
        if c.cka is None:
            st.plotly_chart(figures.cka_heatmap(c.cka_matrix, name_a=_(bundle_a.name), name_b=_(bundle_b.name),
                                                title=_("CKA between every layer of A and of B")),
                            key="cmp.cka", config=config("cka"))

    else:
        if c.prediction_a is None and c.prediction_b is None:
            st.info(_("Neither model has a classification head, so there is no prediction to compare."))
        else:
            cols = st.columns(2)
            for col, p, name in ((cols[0], c.prediction_a, _(bundle_a.name)), (cols[1], c.prediction_b, _(bundle_b.name))):
                col.metric(name, p.label if p is not None else _("no classifier"),
                           help=None if p is None or p.probs.ndim != 1 else f"{p.probs.max():.1%}")
            st.plotly_chart(figures.prediction_bars(c.prediction_a, c.prediction_b, name_a=_(bundle_a.name),
                                                    name_b=_(bundle_b.name)), key="cmp.preds", config=config("predictions"))
        if bundle_a.task in CLASSIFICATION_TASKS and bundle_b.task in CLASSIFICATION_TASKS:
            from explain.attribution.methods import METHODS

            method = st.selectbox(_("Attribution method (the same on both)"), list(METHODS), key="cmp.method",
                                  format_func=keep_language(lambda m: _(METHODS[m].name)))
            try:
                ac = cached_attributions(choice.spec, spec_b, choice.text, choice.pair, method)
            except BertLensError as err:
                st.info(str(err))
                st.stop()
            st.metric(_("Rank correlation of the token scores (Spearman)"), f"{ac.spearman:.3f}",
                      help=_("Over the non-special tokens; 1 = both models rank the tokens alike."))
            cols = st.columns(2)
            for col, at, name in ((cols[0], ac.a, _(bundle_a.name)), (cols[1], ac.b, _(bundle_b.name))):
                col.markdown(_("**{name}**: toward *{label}*").format(name=name, label=at.target_label))
                col.html(colored_tokens(at.tokens, at.scores, diverging=True, fmt="{:+.3f}"))
            st.plotly_chart(figures.attribution_bars(ac.a.tokens, ac.a.scores, ac.b.scores, name_a=_(bundle_a.name),
                                                     name_b=_(bundle_b.name)), key="cmp.attr", config=config("attributions"))
            if not ac.same_target:
                st.caption(_("A and B have different classes, so each explains its own prediction."))
        else:
            missing = [n for n, b in ((_(bundle_a.name), bundle_a), (_(bundle_b.name), bundle_b))
                       if b.task not in CLASSIFICATION_TASKS]
            st.info(_("Attributions need a classification head on both models; {names} has none.").format(
                names=_(" and ").join(missing)))

    st.divider()
    d1, d2, d3, d4 = st.columns(4)
    d1.download_button(_("Heads (CSV)"), export.heads_csv(c), "compare-heads.csv", "text/csv", key="cmp.dl_heads")
    d2.download_button(_("Layers (CSV)"), export.layers_csv(c), "compare-layers.csv", "text/csv", key="cmp.dl_layers")
    d3.download_button(_("Tokens (CSV)"), export.tokens_csv(c), "compare-tokens.csv", "text/csv", key="cmp.dl_tokens")
    with d4:
        head = (st.session_state.get("cmp.layer", 0), st.session_state.get("cmp.head", 0)) if c.js is not None else None
        report_download(_("Report (HTML)"), _(bundle_a.name), _(bundle_b.name), lambda: export.text_sections(c, head=head),
                        key="cmp.dl_report")

else:
    samples = shipped_samples()
    source = st.radio(_("Data"), [*samples, UPLOAD], key="cmp.data_source", format_func=keep_language(_))
    if source == UPLOAD:
        upload = st.file_uploader(_("CSV with a text column (label optional), or JSON Lines"),
                                  type=["csv", "tsv", "txt", "jsonl"], key="cmp.upload")
        if upload is None:
            st.stop()
        raw, name = upload.getvalue(), upload.name
    else:
        raw, name = samples[source].read_bytes(), samples[source].name
    try:
        rows = cached_rows(raw, name)
    except BertLensError as err:
        st.error(str(err))
        st.stop()
    for notice in rows.notices:
        st.warning(_(notice))
    key = (choice.spec, spec_b, hashlib.sha256(raw).hexdigest())
    results = st.session_state.setdefault("cmp.results", {})  # per (A, B, data): the last few only
    while len(results) > 3 and key not in results:
        results.pop(next(iter(results)))
    if key not in results:
        st.caption(_("Both models read every row once, in padded batches; every head's attention and every layer's "
                     "hidden states are compared on every token."))
        if not st.button(_("Compare over {n} rows").format(n=len(rows.texts)), type="primary", key="cmp.data_go"):
            st.stop()
        from explain.compare.corpus import compare_dataset

        bar = st.progress(0.0, text=_("Starting…"))
        try:
            results[key] = compare_dataset(
                bundle_a, bundle_b, rows.texts, gold=rows.labels, compat=compat,
                progress=lambda done, total: bar.progress(done / total, text=_("{done}/{total} rows").format(
                    done=done, total=total)))
        except BertLensError as err:
            st.error(str(err))
            st.stop()
        st.rerun()  # show the results without the button
    d = results[key]
    m = st.columns(4)
    m[0].metric(_("Rows"), f"{d.n_rows:,}", help=_("{tokens:,} tokens").format(tokens=d.n_tokens))
    m[1].metric(_("Time"), f"{d.seconds:.1f} s")
    if d.agreement is not None:
        m[2].metric(_("Same prediction"), f"{d.agreement:.1%}")
    accuracies = [(n, d.accuracy(w)) for w, n in (("a", "A"), ("b", "B")) if d.accuracy(w) is not None]
    if accuracies:
        m[3].metric(_("Accuracy"), " · ".join(f"{n} {v:.1%}" for n, v in accuracies))
    st.success(export.summary(d))
    left, right = st.columns([3, 2])
    if d.js is not None:
        top_layer, top_head = d.top_heads(1)[0][:2]
        sel = (min(st.session_state.get("cmp.data_layer", top_layer), d.js.shape[0] - 1),
               min(st.session_state.get("cmp.data_head", top_head), d.js.shape[1] - 1))

        left.plotly_chart(figures.js_grid(d.js, title=_("Mean attention change per head: click a head"), selected=sel),
                          key="cmp.data_js", on_select=lambda: open_head("cmp.data_js", "cmp.data_layer", "cmp.data_head"),
                          selection_mode="points", config=config("data-js-grid"))
        with right:
            st.plotly_chart(figures.head_rows_histogram(d.js_rows[:, sel[0], sel[1]], layer=sel[0], head=sel[1]),
                            key="cmp.data_hist", config=config("data-head-rows"))
            st.markdown(_("Rows where layer {layer}, head {head} changed most:").format(layer=sel[0], head=sel[1]))
            for i in d.rows_for_head(*sel, k=5):
                st.button(f"{d.js_rows[i, sel[0], sel[1]]:.3f} · {plain(d.texts[i][:90])}", key=f"cmp.row.{i}",
                          on_click=open_row, args=(d.texts[i], *sel), help=_("Open this text in one-text mode"))
    if d.cka is not None:
        st.plotly_chart(figures.layer_curves(d.cka, d.cosine, title=_("Similarity of A and B over all tokens")),
                        key="cmp.data_curves", config=config("data-layers"))
    else:
        st.plotly_chart(figures.cka_heatmap(d.cka_matrix, name_a=d.name_a, name_b=d.name_b), key="cmp.data_cka",
                        config=config("data-cka"))
    st.divider()
    d1, d2, d3, d4 = st.columns(4)
    d1.download_button(_("Heads (CSV)"), export.heads_csv(d), "compare-data-heads.csv", "text/csv", key="cmp.dd_heads")
    d2.download_button(_("Layers (CSV)"), export.layers_csv(d), "compare-data-layers.csv", "text/csv",
                       key="cmp.dd_layers")
    d3.download_button(_("Rows (CSV)"), export.rows_csv(d), "compare-data-rows.csv", "text/csv", key="cmp.dd_rows")
    with d4:
        report_download(_("Report (HTML)"), d.name_a, d.name_b, lambda: export.dataset_sections(d, name),
                        key="cmp.dd_report")
