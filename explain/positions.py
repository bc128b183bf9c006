"""Position encodings: BERT's learned table next to the sinusoids of Vaswani et al. (2017).

The sinusoidal encoding gives each pair of dimensions (2i, 2i+1) its own frequency:
    PE(pos, 2i)   = sin(pos / 10000^(2i/d))
    PE(pos, 2i+1) = cos(pos / 10000^(2i/d))
so that PE(pos + k) is a fixed rotation of PE(pos) for every k. A one-line formula that some primers
print, sin(pos/10000) + cos(pos/10000), has one frequency and writes the same number into every
dimension; `primer_formula` builds it so the app can show what is wrong with it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explain.models.arch import embeddings_of
from explain.models.checkpoint import ModelBundle


def sinusoidal_encoding(num_positions: int, dim: int, base: float = 10000.0) -> np.ndarray:
    """PE of "Attention Is All You Need", sec. 3.5: sin on even dimensions, cos on odd ones.

    Returns (num_positions, dim).
    """
    if num_positions < 1 or dim < 2:
        raise ValueError("Need at least one position and two dimensions.")
    pos = np.arange(num_positions, dtype=np.float64)[:, None]
    two_i = np.arange(0, dim, 2, dtype=np.float64)[None, :]
    angle = pos / base ** (two_i / dim)
    pe = np.zeros((num_positions, dim))
    pe[:, 0::2] = np.sin(angle)
    pe[:, 1::2] = np.cos(angle[:, : dim // 2])
    return pe


def primer_formula(num_positions: int, dim: int) -> np.ndarray:
    """The WRONG one-liner sin(pos/10000) + cos(pos/10000), broadcast to every dimension. (P, dim)."""
    pos = np.arange(num_positions, dtype=np.float64)[:, None]
    return np.repeat(np.sin(pos / 10000) + np.cos(pos / 10000), dim, axis=1)


def learned_positions(bundle: ModelBundle) -> np.ndarray:
    """The model's learned position-embedding table, (P, D), row p = position p of the input.

    RoBERTa-style tables start at padding_idx + 1; those leading rows are dropped.
    """
    table = embeddings_of(bundle.model).position_embeddings.weight.detach().double().numpy()
    return table[bundle.arch.position_offset :].copy()


def token_type_table(bundle: ModelBundle) -> np.ndarray | None:
    """Segment (token type) embeddings, (types, D), or None for models without them (DistilBERT)."""
    if not bundle.arch.has_token_types:
        return None
    return embeddings_of(bundle.model).token_type_embeddings.weight.detach().double().numpy().copy()


def cosine_similarity(x: np.ndarray) -> np.ndarray:
    """Cosine similarity between the rows of x, (N, N)."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    unit = x / np.maximum(norms, 1e-12)
    return unit @ unit.T


@dataclass(frozen=True)
class Projection:
    """Rows of x projected on their top principal components: coords (N, k), explained variance ratio (k,)."""

    coords: np.ndarray
    explained: np.ndarray


def pca(x: np.ndarray, k: int = 2) -> Projection:
    """Principal-component projection via SVD of the centred rows, with a deterministic sign per axis."""
    centred = x - x.mean(axis=0, keepdims=True)
    u, s, vt = np.linalg.svd(centred, full_matrices=False)
    signs = np.sign(vt[:k, np.argmax(np.abs(vt[:k]), axis=1)].diagonal())
    signs[signs == 0] = 1
    coords = u[:, :k] * s[:k] * signs
    var = s**2
    return Projection(coords=coords, explained=var[:k] / max(var.sum(), 1e-12))


def similarity_by_offset(x: np.ndarray, max_offset: int) -> np.ndarray:
    """Mean cosine similarity between rows p and p + k, for k = 0..max_offset. (max_offset + 1,)."""
    sim = cosine_similarity(x)
    n = len(x)
    return np.array([np.diagonal(sim, offset=k).mean() for k in range(min(max_offset, n - 1) + 1)])


@dataclass(frozen=True)
class PrimerDiagnosis:
    """Why sin(pos/10000) + cos(pos/10000) fails as a position encoding, in numbers."""

    rank: int  # of the (P, d) matrix: 1 means every position is the same direction
    min_cosine: float  # smallest cosine similarity between two positions (1.0 = all parallel)
    neighbour_gap: float  # mean |PE(p+1) - PE(p)| per dimension
    layer_norm_collapse: float  # max |LayerNorm(PE(p))|: 0 means LayerNorm erases it entirely
    sinusoid_rank: int
    sinusoid_min_cosine: float
    sinusoid_neighbour_gap: float


def diagnose_primer(num_positions: int, dim: int) -> PrimerDiagnosis:
    """Compare the primer's one-liner with the real sinusoidal encoding on the same grid."""
    wrong = primer_formula(num_positions, dim)
    right = sinusoidal_encoding(num_positions, dim)
    return PrimerDiagnosis(
        rank=int(np.linalg.matrix_rank(wrong)),
        min_cosine=float(cosine_similarity(wrong).min()),
        neighbour_gap=float(np.abs(np.diff(wrong, axis=0)).mean()),
        layer_norm_collapse=float(np.abs(_layer_norm(wrong)).max()),
        sinusoid_rank=int(np.linalg.matrix_rank(right)),
        sinusoid_min_cosine=float(cosine_similarity(right).min()),
        sinusoid_neighbour_gap=float(np.abs(np.diff(right, axis=0)).mean()),
    )


def rotation_error(pe: np.ndarray, offset: int) -> float:
    """How far PE(p + k) is from one fixed linear map of PE(p) across all p (least squares residual).

    About 0 for the sinusoidal encoding (the map is a rotation per frequency); learned tables need not
    have this property.
    """
    a, b = pe[:-offset], pe[offset:]
    m, *_ = np.linalg.lstsq(a, b, rcond=None)
    return float(np.abs(a @ m - b).max())


def _layer_norm(x: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    mu = x.mean(axis=1, keepdims=True)
    var = x.var(axis=1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps)
