"""The input embedding of each token, taken apart: word + position + segment, then LayerNorm.

Also the similarity structure of token vectors at any layer (how contextual they become).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explain.positions import Projection, cosine_similarity, pca
from explain.run import ModelRun


@dataclass(frozen=True)
class EmbeddingParts:
    """L2 norms per token, (T,) each: the three parts, their sum, and the LayerNorm output (layer 0 input).

    cos_word_sum: cosine between the word part and the sum, i.e. how much the word still dominates.
    """

    tokens: tuple[str, ...]
    word: np.ndarray
    position: np.ndarray
    segment: np.ndarray
    total: np.ndarray
    normalized: np.ndarray
    cos_word_sum: np.ndarray


def _norm(a: np.ndarray) -> np.ndarray:
    return np.linalg.norm(a.astype(np.float64), axis=1)


def embedding_parts(run: ModelRun) -> EmbeddingParts:
    """Norms of word, position and segment parts and of what they add up to."""
    total = run.word_part + run.position_part + run.type_part
    cos = (run.word_part * total).sum(1) / np.maximum(_norm(run.word_part) * _norm(total), 1e-12)
    return EmbeddingParts(
        tokens=run.tokens,
        word=_norm(run.word_part),
        position=_norm(run.position_part),
        segment=_norm(run.type_part),
        total=_norm(total),
        normalized=_norm(run.hidden_states[0]),
        cos_word_sum=cos,
    )


def token_similarity(run: ModelRun, layer: int) -> np.ndarray:
    """Cosine similarity between the token vectors after `layer` (0 = embedding output), (T, T)."""
    if not 0 <= layer < run.hidden_states.shape[0]:
        raise ValueError(f"Layer {layer} does not exist: hidden states run from 0 to {run.hidden_states.shape[0] - 1}.")
    return cosine_similarity(run.hidden_states[layer].astype(np.float64))


def token_trajectories(run: ModelRun, k: int = 2) -> Projection:
    """Every token at every layer in one shared PCA space: coords (L + 1, T, k)."""
    L1, T, D = run.hidden_states.shape
    proj = pca(run.hidden_states.reshape(L1 * T, D).astype(np.float64), k)
    return Projection(coords=proj.coords.reshape(L1, T, k), explained=proj.explained)


def mean_similarity_by_layer(run: ModelRun) -> np.ndarray:
    """Mean off-diagonal cosine similarity of the sentence's tokens after each layer, (L + 1,).

    Rising values show the anisotropy of contextual embeddings (Ethayarajh 2019).
    """
    T = run.num_tokens
    off = ~np.eye(T, dtype=bool)
    return np.array([token_similarity(run, l)[off].mean() if T > 1 else 1.0 for l in range(run.hidden_states.shape[0])])
