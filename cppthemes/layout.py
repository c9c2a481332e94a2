"""A 2-D map of the passages: where each passage lies relative to the others.

PCA rather than UMAP or t-SNE: it is deterministic (no random initialisation), takes
milliseconds, and its axes mean something (the two directions of largest variance). The map is
for orientation in the report, not for clustering. Computed here in numpy, step for step as
scikit-learn's ``PCA(svd_solver="covariance_eigh")`` does it (tests/test_layout.py compares the
two): importing scikit-learn for it took seconds of every rerun.
"""

from __future__ import annotations

import numpy as np

# Coordinates are rounded so that passages.jsonl stays byte-identical across reruns even
# where the last bits of a float differ between BLAS builds.
DECIMALS = 4


def passage_map(vectors: np.ndarray, seed: int = 0) -> np.ndarray:
    """(n, 2) coordinates of the rows of ``vectors``, centred, first axis of largest spread."""
    n = int(vectors.shape[0])
    if n < 2 or int(vectors.shape[1]) < 2:
        return np.zeros((n, 2), dtype=float)
    xy = _pca2(np.asarray(vectors, dtype=np.float64))
    # Fix each axis' sign by its largest-magnitude coordinate, so the picture does not flip
    # between library versions that choose the other sign of a singular vector.
    for axis in range(2):
        column = xy[:, axis]
        if column[int(np.argmax(np.abs(column)))] < 0:
            xy[:, axis] = -column
    return np.round(xy, DECIMALS) + 0.0  # + 0.0 turns -0.0 into 0.0


def _pca2(x: np.ndarray) -> np.ndarray:
    """The first two principal components of ``x``: scikit-learn's covariance_eigh solver.

    The covariance is the Gram matrix minus the mean's outer product (no centred copy of the
    data), eigenvectors by ``numpy.linalg.eigh`` in descending order, each component's sign
    such that its largest entry is positive (``svd_flip``), data projected as
    ``x @ V.T - mean @ V.T``: the same operations in the same order, so the same floats.
    """
    n = x.shape[0]
    mean = x.mean(axis=0)
    cov = x.T @ x
    cov -= n * mean.reshape(-1, 1) * mean.reshape(1, -1)
    cov /= n - 1
    _, vectors = np.linalg.eigh(cov)
    vt = np.flip(vectors, axis=1).T
    signs = np.sign(vt[np.arange(vt.shape[0]), np.argmax(np.abs(vt), axis=1)])
    vt *= signs[:, None]  # in place, as svd_flip does: the memory layout decides BLAS's sums
    components = np.asarray(vt[:2], copy=True)  # order "K", as scikit-learn copies it
    out = x @ components.T
    out -= mean.reshape(1, -1) @ components.T
    return out
