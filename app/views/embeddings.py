"""Embeddings and positions: word + position + segment, learned vs sinusoidal positions, similarity."""

import numpy as np
import streamlit as st

from bert_lens import charts
from bert_lens.common import figure_config, run_or_stop
from explain.embeddings import embedding_parts, mean_similarity_by_layer, token_similarity, token_trajectories
from explain.i18n import N_, _, keep_language
from explain.positions import (
    cosine_similarity,
    diagnose_primer,
    learned_positions,
    pca,
    primer_formula,
    similarity_by_offset,
    sinusoidal_encoding,
    token_type_table,
)

bundle, run = run_or_stop(st.session_state["choice"])


VIEWS = (N_("This sentence"), N_("Learned vs sinusoidal positions"), N_("Segments"), N_("Similarity across layers"))

st.title(_("Embeddings and positions"))
view = st.segmented_control(
    _("View"),
    VIEWS,
    format_func=keep_language(_),
    default=VIEWS[0],
    key="emb.view",
    label_visibility="collapsed",
) or VIEWS[0]

if view == VIEWS[0]:
    st.markdown(_(
        "BERT's input vector for token *t* at position *p* in segment *s* is "
        "**LayerNorm({word}[t] + {position}[p] + {segment}[s])**. The bars show each part's length (L2 norm)."
    ).format(word=_("word"), position=_("position"), segment=_("segment")))
    parts = embedding_parts(run)
    st.plotly_chart(
        charts.bars(
            run.tokens,
            {_("word"): parts.word, _("position"): parts.position, _("segment"): parts.segment,
             _("sum"): parts.total, _("after LayerNorm"): parts.normalized},
            y_title=_("L2 norm"),
            title=_("Size of each part of the input embedding"),
        ),
        key="emb.parts", config=figure_config("emb.parts"),
    )
    st.caption(_(
        "Mean cosine between the word part and the full sum: {cos:.2f} "
        "(1 would mean position and segment barely change the direction)."
    ).format(cos=parts.cos_word_sum.mean()))

elif view == VIEWS[1]:
    limit = bundle.max_tokens
    n = st.slider(_("Positions shown"), 8, limit, min(128, limit), key="emb.positions")
    learned = learned_positions(bundle)[:n]
    sinus = sinusoidal_encoding(n, learned.shape[1])
    st.latex(r"PE_{(pos,\,2i)} = \sin\!\left(\frac{pos}{10000^{2i/d}}\right) \qquad "
             r"PE_{(pos,\,2i+1)} = \cos\!\left(\frac{pos}{10000^{2i/d}}\right)")
    st.caption(_(
        "Vaswani et al. (2017) give every pair of dimensions its own frequency, from one cycle per 2π positions "
        "down to one per 10000·2π. BERT does not use this formula: it learns a table with one row per position."
    ))
    skip_first = st.toggle(_("Leave position 0 out of the projections"), value=True, key="emb.skip0",
                           help=_("In BERT's learned table position 0 (always [CLS]) lies far from all the others "
                                  "and would stretch the first principal component."))
    left, right = st.columns(2)
    for col, kind, name, table in ((left, "lea", _("Learned ({model})").format(model=_(bundle.name)), learned),
                                   (right, "sin", _("Sinusoidal (Vaswani et al.)"), sinus)):
        with col:
            st.plotly_chart(
                charts.matrix_heatmap(table, [str(i) for i in range(n)], [str(i) for i in range(table.shape[1])],
                                      title=name, row_title=_("position"), col_title=_("dimension"),
                                      value_name=_("value"), colorscale=charts.DIVERGING, symmetric=True, height=420),
                key=f"emb.table.{kind}", config=figure_config(f"emb.table.{kind}"),
            )
            st.plotly_chart(
                charts.matrix_heatmap(cosine_similarity(table), [str(i) for i in range(n)], [str(i) for i in range(n)],
                                      title=_("Cosine similarity between positions"), row_title=_("position"),
                                      col_title=_("position"), value_name=_("cosine"), colorscale=charts.DIVERGING,
                                      zmin=-1, zmax=1, height=420),
                key=f"emb.cos.{kind}", config=figure_config(f"emb.cos.{kind}"),
            )
            dims = st.radio(_("Projection"), ["2-D", "3-D"], horizontal=True, key=f"emb.proj.{kind}",
                            format_func=keep_language(_))
            first = 1 if skip_first else 0
            proj = pca(table[first:], 3 if dims == "3-D" else 2)
            st.plotly_chart(
                charts.trajectory(proj.coords, [_("position {i}").format(i=i) for i in range(first, n)],
                                  color=np.arange(first, n),
                                  title=_("PCA of positions {first}-{last} ({share:.0%} of variance)").format(
                                      first=first, last=n - 1, share=proj.explained.sum())),
                key=f"emb.traj.{kind}", config=figure_config(f"emb.traj.{kind}"),
            )
    offsets = np.arange(min(64, n))
    st.plotly_chart(
        charts.lines(offsets, {_("learned"): similarity_by_offset(learned, len(offsets) - 1),
                               _("sinusoidal"): similarity_by_offset(sinus, len(offsets) - 1)},
                     title=_("How similar is position p to position p + k?"), x_title=_("offset k"),
                     y_title=_("mean cosine similarity")),
        key="emb.offset", config=figure_config("emb.offset"),
    )
    with st.expander(_("⚠️ The one-line formula some primers print, and why it is wrong")):
        d = diagnose_primer(n, learned.shape[1])
        st.latex(r"\color{red}{\text{" + _("WRONG:") + r" }} PE_{pos} = \sin(pos/10000) + \cos(pos/10000)")
        st.markdown("\n".join("- " + line for line in [
            _("It writes **the same number into every dimension**: the {n} x {d} matrix has rank **{rank}** (the "
              "real encoding: {real_rank}). Every position points the same way: the smallest cosine between two "
              "positions is **{cos:.6f}** (real: {real_cos:.2f}).").format(
                n=n, d=learned.shape[1], rank=d.rank, real_rank=d.sinusoid_rank, cos=d.min_cosine,
                real_cos=d.sinusoid_min_cosine),
            _("It has **one frequency** whose wavelength is 2π·10000 ≈ 62,832 positions, so neighbours differ by "
              "only **{gap:.1e}** per dimension (real: {real_gap:.3f}).").format(
                gap=d.neighbour_gap, real_gap=d.sinusoid_neighbour_gap),
            _("A constant vector has zero variance, so LayerNorm maps it to **{value:.0e}**: the position would "
              "vanish before the first layer.").format(value=d.layer_norm_collapse),
            _("Summing sin and cos of one angle loses the pair structure that makes PE(pos + k) a rotation of "
              "PE(pos): the property that lets attention read relative offsets."),
        ]))
        wrong = primer_formula(n, learned.shape[1])
        st.plotly_chart(
            charts.lines(np.arange(n), {_("primer (every dimension)"): wrong[:, 0],
                                        **{_("sinusoidal dim {i}").format(i=i): sinus[:, i % sinus.shape[1]]
                                           for i in (0, 1, 20)}},
                         title=_("Values by position"), x_title=_("position"), y_title=_("value")),
            key="emb.primer", config=figure_config("emb.primer"),
        )

elif view == VIEWS[2]:
    table = token_type_table(bundle)
    if table is None:
        st.info(_("{model} has no segment (token type) embeddings: it tells sentences apart by [SEP] alone.").format(
            model=_(bundle.name)))
    else:
        st.markdown(_("Segment embeddings add one learned vector to every token of text A and another to text B."))
        shown = min(64, table.shape[1])
        st.plotly_chart(
            charts.matrix_heatmap(table[:, :shown], [_("segment {i}").format(i=i) for i in range(len(table))],
                                  [str(i) for i in range(shown)],
                                  title=_("Segment embeddings (first {n} dimensions)").format(n=shown),
                                  row_title=_("segment"), col_title=_("dimension"), value_name=_("value"),
                                  colorscale=charts.DIVERGING, symmetric=True, height=260),
            key="emb.segments", config=figure_config("emb.segments"),
        )
        norms = np.linalg.norm(table, axis=1)
        norms_text = _(", ").join(_("segment {i}: {norm:.2f}").format(i=i, norm=v) for i, v in enumerate(norms))
        if len(table) > 1:
            st.write(_("Norms: {norms}; cosine between them: {cos:.2f}").format(
                norms=norms_text, cos=cosine_similarity(table)[0, 1]))
        else:
            st.write(_("Norms: {norms}").format(norms=norms_text))

else:
    layer = st.slider(_("After layer (0 = embedding output)"), 0, run.num_layers, run.num_layers, key="emb.layer")
    st.plotly_chart(
        charts.matrix_heatmap(token_similarity(run, layer), run.tokens, run.tokens,
                              title=_("Cosine similarity of token vectors after layer {layer}").format(layer=layer),
                              row_title=_("token"), col_title=_("token"), value_name=_("cosine"), colorscale=charts.DIVERGING, zmin=-1, zmax=1),
        key="emb.similarity", config=figure_config("emb.similarity"),
    )
    st.plotly_chart(
        charts.lines(np.arange(run.num_layers + 1),
                     {_("mean cosine between different tokens"): mean_similarity_by_layer(run)},
                     title=_("Token vectors grow more alike with depth (anisotropy)"), x_title=_("layer"),
                     y_title=_("mean cosine")),
        key="emb.anisotropy", config=figure_config("emb.anisotropy"),
    )
    paths = token_trajectories(run)
    st.plotly_chart(
        charts.token_paths(paths.coords, run.tokens,
                           title=_("Each token's path through the layers (PCA, {share:.0%} of variance)").format(
                               share=paths.explained.sum())),
        key="emb.paths", config=figure_config("emb.paths"),
    )
