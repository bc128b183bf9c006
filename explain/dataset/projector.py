"""Embedding projector: the head's input representation of every row (`Evaluation.features`), in 2-D and 3-D.

PCA in float64 with numpy (no scikit-learn at run time; the test checks it against
sklearn.decomposition.PCA): the axes V_k are the top-k eigenvectors of the D x D scatter matrix
(X - mean)^T (X - mean), i.e. the right singular vectors of the centred matrix, and
coordinates = (X - mean) V_k. The D x D eigenproblem costs the same for 300 or 50,000 rows, and
stays fast when other jobs share the cores (OpenBLAS's threaded SVD of a 300 x 384 matrix took
2.4 s on this busy 2-core machine, against 0.06 s on one thread). Each axis's sign is fixed so
that its largest-magnitude loading is positive (deterministic across runs and machines). The 2-D
view is the first two columns of the 3-D one.
UMAP is not offered: see docs/notes/dataset.md for its measured cost.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explain.errors import InputError
from explain.i18n import _
from explain.run import _frozen


@dataclass(frozen=True, eq=False)
class Projection:
    """PCA of N rows: coordinates (N, k), components (k, D), mean (D,), explained_variance_ratio (k,)."""

    coordinates: np.ndarray
    components: np.ndarray
    mean: np.ndarray
    explained_variance_ratio: np.ndarray

    @property
    def xy(self) -> np.ndarray:
        """The first two coordinates, (N, 2)."""
        return self.coordinates[:, :2]


def pca(features: np.ndarray, components: int = 3) -> Projection:
    """Project (N, D) features on their first `components` principal axes (fewer if N or D is smaller:
    missing axes are zeros, so a 3-D view of two rows still has three columns).

    Raises:
        InputError: fewer than 2 rows, or features that are not a 2-D array of finite numbers.
    """
    X = np.asarray(features, dtype=np.float64)
    if X.ndim != 2 or len(X) < 2 or not np.isfinite(X).all():
        raise InputError(_("A projection needs at least 2 rows of finite features."))
    mean = X.mean(0)
    centred = X - mean
    values, vectors = np.linalg.eigh(centred.T @ centred)  # ascending
    k = min(components, len(X) - 1, X.shape[1])
    V = vectors[:, ::-1][:, :k].T
    var = np.clip(values[::-1][:k], 0.0, None)
    signs = np.sign(V[np.arange(k), np.abs(V).argmax(1)])
    signs[signs == 0] = 1.0
    V = V * signs[:, None]
    coords = np.zeros((len(X), components))
    coords[:, :k] = centred @ V.T
    total = np.clip(values, 0.0, None).sum()
    ratio = np.zeros(components)
    ratio[:k] = var / total if total > 0 else 0.0
    comps = np.zeros((components, X.shape[1]))
    comps[:k] = V
    return Projection(_frozen(coords), _frozen(comps), _frozen(mean), _frozen(ratio))
