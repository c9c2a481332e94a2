"""A 2-D map of the passages: where each passage lies relative to the others.

PCA rather than UMAP or t-SNE: it is deterministic (no random initialisation), takes
milliseconds, adds no dependency beyond scikit-learn, and its axes mean something (the two
directions of largest variance). The map is for orientation in the report, not for clustering.
"""

from __future__ import annotations

import numpy as np
from sklearn.decomposition import PCA

# Coordinates are rounded so that passages.jsonl stays byte-identical across reruns even
# where the last bits of a float differ between BLAS builds.
DECIMALS = 4


def passage_map(vectors: np.ndarray, seed: int = 0) -> np.ndarray:
    """(n, 2) coordinates of the rows of ``vectors``, centred, first axis of largest spread."""
    n = int(vectors.shape[0])
    if n < 2 or int(vectors.shape[1]) < 2:
        return np.zeros((n, 2), dtype=float)
    pca = PCA(n_components=2, svd_solver="covariance_eigh", random_state=seed)
    xy = pca.fit_transform(np.asarray(vectors, dtype=np.float64))
    # Fix each axis' sign by its largest-magnitude coordinate, so the picture does not flip
    # between library versions that choose the other sign of a singular vector.
    for axis in range(2):
        column = xy[:, axis]
        if column[int(np.argmax(np.abs(column)))] < 0:
            xy[:, axis] = -column
    return np.round(xy, DECIMALS) + 0.0  # + 0.0 turns -0.0 into 0.0
