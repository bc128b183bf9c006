"""Embeddings and positions: word + position + segment, learned vs sinusoidal positions, similarity."""

import numpy as np
import streamlit as st

from app import charts
from app.common import figure_config, run_or_stop
from explain.embeddings import embedding_parts, mean_similarity_by_layer, token_similarity, token_trajectories
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


st.title("Embeddings and positions")
view = st.segmented_control(
    "View",
    ["This sentence", "Learned vs sinusoidal positions", "Segments", "Similarity across layers"],
    default="This sentence",
    key="emb.view",
    label_visibility="collapsed",
) or "This sentence"

if view == "This sentence":
    st.markdown(
        "BERT's input vector for token *t* at position *p* in segment *s* is "
        "**LayerNorm(word[t] + position[p] + segment[s])**. The bars show each part's length (L2 norm)."
    )
    parts = embedding_parts(run)
    st.plotly_chart(
        charts.bars(
            run.tokens,
            {"word": parts.word, "position": parts.position, "segment": parts.segment,
             "sum": parts.total, "after LayerNorm": parts.normalized},
            y_title="L2 norm",
            title="Size of each part of the input embedding",
        ),
        key="emb.parts", config=figure_config("emb.parts"),
    )
    st.caption(
        f"Mean cosine between the word part and the full sum: {parts.cos_word_sum.mean():.2f} "
        "(1 would mean position and segment barely change the direction)."
    )

elif view == "Learned vs sinusoidal positions":
    limit = bundle.max_tokens
    n = st.slider("Positions shown", 8, limit, min(128, limit), key="emb.positions")
    learned = learned_positions(bundle)[:n]
    sinus = sinusoidal_encoding(n, learned.shape[1])
    st.latex(r"PE_{(pos,\,2i)} = \sin\!\left(\frac{pos}{10000^{2i/d}}\right) \qquad "
             r"PE_{(pos,\,2i+1)} = \cos\!\left(\frac{pos}{10000^{2i/d}}\right)")
    st.caption(
        "Vaswani et al. (2017) give every pair of dimensions its own frequency, from one cycle per 2π positions "
        "down to one per 10000·2π. BERT does not use this formula: it learns a table with one row per position."
    )
    skip_first = st.toggle("Leave position 0 out of the projections", value=True, key="emb.skip0",
                           help="In BERT's learned table position 0 (always [CLS]) lies far from all the others "
                           "and would stretch the first principal component.")
    left, right = st.columns(2)
    for col, name, table in ((left, f"Learned ({bundle.name})", learned), (right, "Sinusoidal (Vaswani et al.)", sinus)):
        with col:
            st.plotly_chart(
                charts.matrix_heatmap(table, [str(i) for i in range(n)], [str(i) for i in range(table.shape[1])],
                                      title=name, row_title="position", col_title="dimension", value_name="value",
                                      colorscale=charts.DIVERGING, symmetric=True, height=420),
                key=f"emb.table.{name[:3]}", config=figure_config(f"emb.table.{name[:3]}"),
            )
            st.plotly_chart(
                charts.matrix_heatmap(cosine_similarity(table), [str(i) for i in range(n)], [str(i) for i in range(n)],
                                      title="Cosine similarity between positions", row_title="position",
                                      col_title="position", value_name="cosine", colorscale=charts.DIVERGING,
                                      zmin=-1, zmax=1, height=420),
                key=f"emb.cos.{name[:3]}", config=figure_config(f"emb.cos.{name[:3]}"),
            )
            dims = st.radio("Projection", ["2-D", "3-D"], horizontal=True, key=f"emb.proj.{name[:3]}")
            first = 1 if skip_first else 0
            proj = pca(table[first:], 3 if dims == "3-D" else 2)
            st.plotly_chart(
                charts.trajectory(proj.coords, [f"position {i}" for i in range(first, n)],
                                  color=np.arange(first, n),
                                  title=f"PCA of positions {first}-{n - 1} ({proj.explained.sum():.0%} of variance)"),
                key=f"emb.traj.{name[:3]}", config=figure_config(f"emb.traj.{name[:3]}"),
            )
    offsets = np.arange(min(64, n))
    st.plotly_chart(
        charts.lines(offsets, {"learned": similarity_by_offset(learned, len(offsets) - 1),
                               "sinusoidal": similarity_by_offset(sinus, len(offsets) - 1)},
                     title="How similar is position p to position p + k?", x_title="offset k",
                     y_title="mean cosine similarity"),
        key="emb.offset", config=figure_config("emb.offset"),
    )
    with st.expander("⚠️ The one-line formula some primers print, and why it is wrong"):
        d = diagnose_primer(n, learned.shape[1])
        st.latex(r"\color{red}{\text{WRONG: }} PE_{pos} = \sin(pos/10000) + \cos(pos/10000)")
        st.markdown(
            f"- It writes **the same number into every dimension**: the {n} x {learned.shape[1]} matrix has rank "
            f"**{d.rank}** (the real encoding: {d.sinusoid_rank}). Every position points the same way: the smallest "
            f"cosine between two positions is **{d.min_cosine:.6f}** (real: {d.sinusoid_min_cosine:.2f}).\n"
            f"- It has **one frequency** whose wavelength is 2π·10000 ≈ 62,832 positions, so neighbours differ by "
            f"only **{d.neighbour_gap:.1e}** per dimension (real: {d.sinusoid_neighbour_gap:.3f}).\n"
            f"- A constant vector has zero variance, so LayerNorm maps it to **{d.layer_norm_collapse:.0e}**: the "
            "position would vanish before the first layer.\n"
            "- Summing sin and cos of one angle loses the pair structure that makes PE(pos + k) a rotation of "
            "PE(pos): the property that lets attention read relative offsets."
        )
        wrong = primer_formula(n, learned.shape[1])
        st.plotly_chart(
            charts.lines(np.arange(n), {"primer (every dimension)": wrong[:, 0], "sinusoidal dim 0": sinus[:, 0],
                                        "sinusoidal dim 1": sinus[:, 1], "sinusoidal dim 20": sinus[:, 20 % sinus.shape[1]]},
                         title="Values by position", x_title="position", y_title="value"),
            key="emb.primer", config=figure_config("emb.primer"),
        )

elif view == "Segments":
    table = token_type_table(bundle)
    if table is None:
        st.info(f"{bundle.name} has no segment (token type) embeddings: it tells sentences apart by [SEP] alone.")
    else:
        st.markdown("Segment embeddings add one learned vector to every token of text A and another to text B.")
        shown = min(64, table.shape[1])
        st.plotly_chart(
            charts.matrix_heatmap(table[:, :shown], [f"segment {i}" for i in range(len(table))],
                                  [str(i) for i in range(shown)], title=f"Segment embeddings (first {shown} dimensions)",
                                  row_title="segment", col_title="dimension", value_name="value",
                                  colorscale=charts.DIVERGING, symmetric=True, height=260),
            key="emb.segments", config=figure_config("emb.segments"),
        )
        norms = np.linalg.norm(table, axis=1)
        st.write(
            "Norms: " + ", ".join(f"segment {i}: {v:.2f}" for i, v in enumerate(norms))
            + (f"; cosine between them: {cosine_similarity(table)[0, 1]:.2f}" if len(table) > 1 else "")
        )

else:
    layer = st.slider("After layer (0 = embedding output)", 0, run.num_layers, run.num_layers, key="emb.layer")
    st.plotly_chart(
        charts.matrix_heatmap(token_similarity(run, layer), run.tokens, run.tokens,
                              title=f"Cosine similarity of token vectors after layer {layer}", row_title="token",
                              col_title="token", value_name="cosine", colorscale=charts.DIVERGING, zmin=-1, zmax=1),
        key="emb.similarity", config=figure_config("emb.similarity"),
    )
    st.plotly_chart(
        charts.lines(np.arange(run.num_layers + 1), {"mean cosine between different tokens": mean_similarity_by_layer(run)},
                     title="Token vectors grow more alike with depth (anisotropy)", x_title="layer",
                     y_title="mean cosine"),
        key="emb.anisotropy", config=figure_config("emb.anisotropy"),
    )
    paths = token_trajectories(run)
    st.plotly_chart(
        charts.token_paths(paths.coords, run.tokens,
                           title=f"Each token's path through the layers (PCA, {paths.explained.sum():.0%} of variance)"),
        key="emb.paths", config=figure_config("emb.paths"),
    )
