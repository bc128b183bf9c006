"""The numbers a model comparison is made of: Jensen-Shannon divergence, linear CKA, cosine, rank correlation.

Pure functions on numpy arrays (and, for the batched data-set pass, torch tensors); no model here.

- Jensen-Shannon divergence, in bits (log base 2), so it lies in [0, 1]: 0 when two attention rows are
  equal, 1 when they put their weight on disjoint keys (Lin 1991, "Divergence measures based on the
  Shannon entropy").
- Linear CKA (Kornblith, Norouzi, Lee & Hinton 2019, "Similarity of Neural Network Representations
  Revisited", eq. 5): for representations X (n, d1) and Y (n, d2) of the same n examples, columns
  centred, CKA = ||Yᵀ X||²_F / (||Xᵀ X||_F ||Yᵀ Y||_F). 1 for identical representations, invariant to
  orthogonal transforms and isotropic scaling of either side, defined for d1 != d2.
"""

from __future__ import annotations

import numpy as np


def js_divergence(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Jensen-Shannon divergence in bits between distributions along the last axis, in [0, 1].

    JS(P, Q) = ½ KL(P || M) + ½ KL(Q || M), M = ½ (P + Q), with 0 · log 0 = 0; `p` and `q` must each
    sum to 1 along the last axis (attention rows do). Shapes (..., K) -> (...).
    """
    from scipy.special import rel_entr

    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    m = 0.5 * (p + q)
    js = 0.5 * (rel_entr(p, m).sum(-1) + rel_entr(q, m).sum(-1)) / np.log(2.0)
    return np.clip(js, 0.0, 1.0)


def js_divergence_torch(p, q):
    """`js_divergence` for torch tensors (the batched data-set pass): (..., K) -> (...), in bits, float64.

    Computed as H(M) - ½ H(P) - ½ H(Q) in float64 (three entropies instead of two KL terms); exactly 0
    when P = Q, which is returned at once when the tensors are equal (layers a fine-tune left alone).
    """
    import torch

    if p.shape == q.shape and torch.equal(p, q):
        return torch.zeros(p.shape[:-1], dtype=torch.float64)
    xlogy = torch.special.xlogy
    p, q = p.double(), q.double()
    m = 0.5 * (p + q)
    js = 0.5 * (xlogy(p, p).sum(-1) + xlogy(q, q).sum(-1)) - xlogy(m, m).sum(-1)
    return (js / np.log(2.0)).clamp(0.0, 1.0)


def head_js(attn_a: np.ndarray, attn_b: np.ndarray) -> np.ndarray:
    """Per head and query token, the JS divergence (bits) between A's and B's attention rows.

    attn_a, attn_b: (L, H, T, T) softmax weights of the same tokens. Returns (L, H, T); its mean over
    the last axis is the per-head grid.
    """
    if attn_a.shape != attn_b.shape:
        raise ValueError(f"attention shapes differ: {attn_a.shape} vs {attn_b.shape}")
    return js_divergence(attn_a, attn_b)


def _centred(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x - x.mean(axis=0, keepdims=True)


def linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Linear CKA between representations x (n, d1) and y (n, d2) of the same n examples; nan if one is constant.

    Uses the feature-space form ||Yᵀ X||²_F / (||Xᵀ X||_F ||Yᵀ Y||_F) when n > d, else the equal
    Gram-matrix form <K, L>_F / (||K||_F ||L||_F) with K = X Xᵀ, L = Y Yᵀ (centred columns in both).
    """
    x, y = _centred(x), _centred(y)
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"CKA needs the same examples on both sides: {x.shape[0]} vs {y.shape[0]} rows")
    if x.shape[0] > max(x.shape[1], y.shape[1]):
        cross = np.linalg.norm(y.T @ x) ** 2
        norm = np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y)
    else:
        k, l = x @ x.T, y @ y.T
        cross = float((k * l).sum())
        norm = np.linalg.norm(k) * np.linalg.norm(l)
    return float(cross / norm) if norm > 0 else float("nan")


def cka_matrix(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Linear CKA between every layer of A and every layer of B on the same tokens.

    xs: (La, n, d1) and ys: (Lb, n, d2) stacks of representations (e.g. hidden states). Returns (La, Lb).
    Computed with centred Gram matrices (n x n), cheap for one text.
    """
    grams_a = [_gram(x) for x in xs]
    grams_b = [_gram(y) for y in ys]
    out = np.full((len(grams_a), len(grams_b)), np.nan)
    for i, (ka, na) in enumerate(grams_a):
        for j, (kb, nb) in enumerate(grams_b):
            if na > 0 and nb > 0:
                out[i, j] = float((ka * kb).sum()) / (na * nb)
    return out


def _gram(x: np.ndarray) -> tuple[np.ndarray, float]:
    c = _centred(x)
    k = c @ c.T
    return k, float(np.linalg.norm(k))


def cosine_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Cosine similarity of matching rows: x, y (..., n, d) -> (..., n); nan where a row is all zeros."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    norms = np.linalg.norm(x, axis=-1) * np.linalg.norm(y, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(norms > 0, (x * y).sum(-1) / np.where(norms > 0, norms, 1.0), np.nan)


class CkaAccumulator:
    """Linear CKA over many batches of tokens without keeping them: running sums in float64.

    For each pair (i, j) of layers asked for, it keeps n, Σx, Σy, XᵀX, YᵀY, YᵀX and finishes with the
    centred forms (XᵀX - n x̄ x̄ᵀ, ...): the same number `linear_cka` gives on all rows at once.
    Each batch is centred on its own mean first and merged with Chan et al.'s pairwise update, so
    the float32 products of a batch lose nothing to large means.
    """

    def __init__(self, pairs: list[tuple[int, int]]):
        self.pairs = list(pairs)
        self.n = 0
        self._mean: dict[tuple[str, int], np.ndarray] = {}
        self._co: dict[tuple, np.ndarray] = {}

    def add(self, xs, ys) -> None:
        """xs: (La, n, d1), ys: (Lb, n, d2) torch tensors or arrays: the same n tokens seen by A and B."""
        import torch

        xs = torch.as_tensor(xs, dtype=torch.float32)
        ys = torch.as_tensor(ys, dtype=torch.float32)
        nb = xs.shape[1]
        if nb == 0:
            return
        layers_a = sorted({i for i, _ in self.pairs})
        layers_b = sorted({j for _, j in self.pairs})
        mean_a = {i: xs[i].mean(0) for i in layers_a}
        mean_b = {j: ys[j].mean(0) for j in layers_b}
        cen_a = {i: xs[i] - mean_a[i] for i in layers_a}
        cen_b = {j: ys[j] - mean_b[j] for j in layers_b}
        n0, n1 = self.n, self.n + nb
        for side, means, cen in (("a", mean_a, cen_a), ("b", mean_b, cen_b)):
            for i, mu in means.items():
                mu64 = mu.double().numpy()
                self._merge((side, i, i), (cen[i].T @ cen[i]).double().numpy(), side, i, side, i, mu64, mu64, n0, nb)
        for i, j in self.pairs:
            self._merge(("ab", i, j), (cen_b[j].T @ cen_a[i]).double().numpy(), "b", j, "a", i,
                        mean_b[j].double().numpy(), mean_a[i].double().numpy(), n0, nb)
        for side, means in (("a", mean_a), ("b", mean_b)):
            for i, mu in means.items():
                old = self._mean.get((side, i))
                mu64 = mu.double().numpy()
                self._mean[(side, i)] = mu64 if old is None else old + (mu64 - old) * (nb / n1)
        self.n = n1

    def _merge(self, key, batch_co, side1, i1, side2, i2, mu1, mu2, n0, nb) -> None:
        """Chan et al.'s update of a co-moment matrix Σ (u - ū)(v - v̄)ᵀ with one centred batch."""
        old = self._co.get(key)
        if old is None:
            self._co[key] = batch_co
            return
        d1 = mu1 - self._mean[(side1, i1)]
        d2 = mu2 - self._mean[(side2, i2)]
        self._co[key] = old + batch_co + np.outer(d1, d2) * (n0 * nb / (n0 + nb))

    def result(self) -> dict[tuple[int, int], float]:
        """CKA for each pair asked for; nan when a side is constant or nothing was added."""
        out = {}
        for i, j in self.pairs:
            if self.n == 0:
                out[(i, j)] = float("nan")
                continue
            cross = np.linalg.norm(self._co[("ab", i, j)]) ** 2
            norm = np.linalg.norm(self._co[("a", i, i)]) * np.linalg.norm(self._co[("b", j, j)])
            out[(i, j)] = float(cross / norm) if norm > 0 else float("nan")
        return out


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation (average ranks for ties; scipy.stats.spearmanr); nan when a side is constant."""
    from scipy.stats import spearmanr

    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(spearmanr(a, b).statistic)
