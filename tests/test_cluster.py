from __future__ import annotations

import numpy as np
import pytest

from cppthemes.cluster import cluster, target_codes
from cppthemes.config import ClusterConfig
from cppthemes.errors import ConfigError


def blobs(sizes: list[int], dim: int = 16, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rows = []
    for i, n in enumerate(sizes):
        centre = np.eye(dim)[i]
        rows.append(centre + 0.05 * rng.standard_normal((n, dim)))
    x = np.vstack(rows)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_cluster_recovers_blobs_largest_first() -> None:
    x = blobs([5, 9, 7])
    a = cluster(x, ClusterConfig(n_codes=3))
    assert a.n_clusters == 3
    labels = np.array(a.labels)
    assert (labels[5:14] == 0).all() and (labels[14:] == 1).all() and (labels[:5] == 2).all()


def test_cluster_is_deterministic() -> None:
    x = blobs([10, 10, 10, 10], seed=3)
    cfg = ClusterConfig(n_codes=4, seed=7)
    assert cluster(x, cfg) == cluster(x, cfg)


def test_cluster_small_clusters_stay_uncoded() -> None:
    x = blobs([10, 10, 2])
    a = cluster(x, ClusterConfig(n_codes=3, min_size=3))
    assert a.n_clusters == 2 and a.labels[-2:] == (-1, -1)


@pytest.mark.parametrize("method", ["kmeans", "agglomerative"])
def test_cluster_methods(method: str) -> None:
    a = cluster(blobs([6, 6]), ClusterConfig(method=method, n_codes=2))
    assert a.n_clusters == 2 and a.method == method


def test_cluster_target_codes_follows_corpus_size() -> None:
    cfg = ClusterConfig(passages_per_code=30, min_codes=4, max_codes=60)
    assert target_codes(60, cfg) == 4
    assert target_codes(900, cfg) == 30
    assert target_codes(100_000, cfg) == 60
    with pytest.raises(ConfigError, match="n_codes=50 must be <= passages=10"):
        target_codes(10, ClusterConfig(n_codes=50))
