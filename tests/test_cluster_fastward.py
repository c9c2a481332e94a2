"""The BLAS Ward gives scikit-learn's Ward partition."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.cluster.hierarchy import linkage
from scipy.spatial.distance import pdist
from sklearn.cluster import AgglomerativeClustering
from sklearn.metrics import adjusted_rand_score

from cppthemes.cluster import fastward


@pytest.mark.parametrize(("n", "dim", "k"), [(40, 5, 4), (300, 32, 12), (1200, 64, 30)])
def test_cluster_fastward_partition_equals_sklearn(n: int, dim: int, k: int) -> None:
    rng = np.random.default_rng(n)
    centres = rng.normal(size=(k, dim))
    x = centres[rng.integers(0, k, n)] + rng.normal(size=(n, dim))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    ours = fastward.ward(x, k)
    theirs = AgglomerativeClustering(n_clusters=k, linkage="ward").fit_predict(x)
    assert adjusted_rand_score(theirs, ours) == 1.0
    assert len(set(ours.tolist())) == k


def test_cluster_fastward_distances_match_pdist() -> None:
    x = np.random.default_rng(1).normal(size=(2100, 7))  # crosses a row block
    np.testing.assert_allclose(fastward.condensed_distances(x), pdist(x), atol=1e-9)


def test_cluster_fastward_cut_undoes_the_last_merges() -> None:
    x = np.array([[0.0], [0.1], [5.0], [5.1], [20.0]])
    merges = linkage(pdist(x), method="ward")
    assert fastward.cut(merges, 5, 3).tolist() == [0, 0, 1, 1, 2]
    assert fastward.cut(merges, 5, 1).tolist() == [0] * 5
    assert fastward.ward(x, 5).tolist() == [0, 1, 2, 3, 4]
