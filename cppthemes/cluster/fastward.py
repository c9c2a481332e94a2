"""Ward clustering with the pairwise distances from one matrix product.

scikit-learn's Ward (``AgglomerativeClustering(linkage="ward")`` without connectivity) calls
SciPy's ``linkage``, which computes every pairwise distance with ``pdist``: a scalar loop, and
the largest cost of the cluster stage at the 10,000 passages the clusterer is fitted on (and
the stability check refits ten times more). Here the squared distances come from
``|a|^2 + |b|^2 - 2 a.b`` (one BLAS matrix product, in row blocks so the square matrix is never
held whole) and go to the same SciPy linkage; the tree is cut where scikit-learn cuts it (undo
the last ``k - 1`` merges), so the partition is scikit-learn's up to floating-point ties
(tests/test_cluster_fastward.py compares them).
"""

from __future__ import annotations

import numpy as np

from cppthemes.cluster import linkcache

BLOCK = 1024


def condensed_distances(x: np.ndarray) -> np.ndarray:
    """Euclidean distances of all row pairs, in SciPy's condensed order (i < j, row-major)."""
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    norms = np.einsum("ij,ij->i", x, x)
    out = np.empty(n * (n - 1) // 2, dtype=np.float64)
    for start in range(0, n, BLOCK):
        stop = min(n, start + BLOCK)
        sq = norms[start:stop, None] + norms[None, :] - 2.0 * (x[start:stop] @ x.T)
        np.maximum(sq, 0.0, out=sq)
        np.sqrt(sq, out=sq)
        for row in range(start, stop):
            offset = row * n - row * (row + 1) // 2
            out[offset : offset + n - row - 1] = sq[row - start, row + 1 :]
    return out


def cut(merges: np.ndarray, n: int, k: int) -> np.ndarray:
    """Cluster index of each leaf after undoing the last ``k - 1`` merges of a linkage."""
    k = max(1, min(k, n))
    parent = np.arange(2 * n - 1)
    for i, (a, b) in enumerate(merges[: n - k, :2].astype(np.intp)):
        parent[a] = parent[b] = n + i
    roots = np.empty(n, dtype=np.intp)
    for leaf in range(n):
        node = leaf
        while parent[node] != node:
            node = parent[node]
        roots[leaf] = node
    # Numbered by first leaf, so the labels read left to right like the input.
    _, first, inverse = np.unique(roots, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=int)
    rank[np.argsort(first)] = np.arange(len(first))
    return rank[inverse.ravel()]


def ward(x: np.ndarray, k: int) -> np.ndarray:
    """Ward clusters of the rows of ``x``, ``k`` of them, labelled 0..k-1."""
    n = len(x)
    if k >= n:
        return np.arange(n, dtype=int)
    if n < 2 or k <= 1:
        return np.zeros(n, dtype=int)
    # The tree does not depend on k: a rerun with other settings reads it back (linkcache).
    return cut(linkcache.cached(x, lambda: build_tree(x)), n, k)


def build_tree(x: np.ndarray) -> np.ndarray:
    """SciPy's Ward linkage of the rows of ``x`` (from `condensed_distances`).

    SciPy is imported here, not with the module: ``scipy.cluster.hierarchy`` took 0.6 s of
    every run's start-up, and a rerun reads its trees from the cache without it.
    """
    from scipy.cluster.hierarchy import linkage

    return np.asarray(linkage(condensed_distances(x), method="ward"))
