from __future__ import annotations

import numpy as np
import pytest

from cppthemes.cluster.codes import CLUSTERERS, assign_to_seeds, cluster, target_codes
from cppthemes.cluster.themes import cut_tree, theme_linkage, tree_records
from cppthemes.config import ClusterConfig, ThemesConfig
from cppthemes.errors import ConfigError


def blobs(sizes: list[int], dim: int = 16, seed: int = 0, noise: float = 0.05) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rows = []
    for i, n in enumerate(sizes):
        centre = np.eye(dim)[i]
        rows.append(centre + noise * rng.standard_normal((n, dim)))
    x = np.vstack(rows)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_cluster_recovers_blobs_largest_first() -> None:
    x = blobs([5, 9, 7])
    a = cluster(x, ClusterConfig(n_codes=3))
    assert a.n_clusters == 3
    labels = np.array(a.labels)
    assert (labels[5:14] == 0).all() and (labels[14:] == 1).all() and (labels[:5] == 2).all()


@pytest.mark.parametrize("method", sorted(CLUSTERERS))
def test_cluster_every_method_finds_blobs_and_is_deterministic(method: str) -> None:
    x = blobs([12, 12, 12], seed=3)
    cfg = ClusterConfig(method=method, n_codes=3, stability_resamples=3)
    first, second = cluster(x, cfg), cluster(x, cfg)
    assert first == second  # same input + settings + seed: same codes
    assert first.n_clusters == 3 and first.method == method
    assert all(s == pytest.approx(1.0) for s in first.stability)


def test_cluster_small_clusters_stay_uncoded() -> None:
    x = blobs([10, 10, 2])
    a = cluster(x, ClusterConfig(n_codes=3, min_size=3))
    assert a.n_clusters == 2 and a.labels[-2:] == (-1, -1)


def test_cluster_far_passages_stay_uncoded() -> None:
    x = blobs([10, 10])
    odd = np.zeros((1, 16))
    odd[0, 15] = 1.0
    a = cluster(np.vstack([x, odd]), ClusterConfig(n_codes=2, min_size=1, min_similarity=0.5))
    assert a.labels[-1] == -1 and a.n_clusters == 2


def test_cluster_stability_flags_structureless_data() -> None:
    rng = np.random.default_rng(1)
    noise = rng.standard_normal((120, 16))
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    a = cluster(
        noise, ClusterConfig(method="kmeans", n_codes=8, stability_resamples=5, min_similarity=-1)
    )
    stable = cluster(
        blobs([40, 40, 40]), ClusterConfig(method="kmeans", n_codes=3, stability_resamples=5)
    )
    assert np.mean(a.stability) < np.mean(stable.stability)
    assert isinstance(a.params["ari_across_seeds"], float) and a.params["ari_across_seeds"] < 0.9


def test_cluster_sample_then_assign_above_max_fit() -> None:
    x = blobs([150, 150, 150], seed=2)
    a = cluster(x, ClusterConfig(n_codes=3, max_fit=100, stability_resamples=0))
    labels = np.array(a.labels)
    assert a.n_clusters == 3
    for block in (labels[:150], labels[150:300], labels[300:]):
        assert len(set(block.tolist())) == 1


def test_cluster_seeds_are_assigned_first() -> None:
    x = blobs([10, 10, 10])
    seeds = np.eye(16)[[1]]  # one seeded code at the second blob's centre
    a = cluster(x, ClusterConfig(n_codes=2), seeds=seeds)
    labels = np.array(a.labels)
    assert (labels[10:20] == 0).all()  # seeded code keeps index 0
    assert set(labels[:10].tolist()) | set(labels[20:].tolist()) == {1, 2}
    assert a.params["seeded_codes"] == 1 and np.isnan(a.stability[0])
    assert assign_to_seeds(x, np.zeros((0, 16)), 0.5).tolist() == [-1] * 30


def test_cluster_pca_reduction_runs() -> None:
    a = cluster(blobs([20, 20], dim=32), ClusterConfig(n_codes=2, reduce="pca", reduce_dims=4))
    assert a.n_clusters == 2


def test_cluster_target_codes_follows_corpus_size() -> None:
    cfg = ClusterConfig(min_codes=4, max_codes=60)
    assert target_codes(60, cfg) == 4
    assert target_codes(900, cfg) == 30
    assert target_codes(900, ClusterConfig(granularity="fine")) == 60
    assert target_codes(900, ClusterConfig(granularity="coarse")) == 15
    assert target_codes(900, ClusterConfig(passages_per_code=90)) == 10
    assert target_codes(100_000, cfg) == 60
    with pytest.raises(ConfigError, match="n_codes=50 must be <= passages=10"):
        target_codes(10, ClusterConfig(n_codes=50))


def test_themes_tree_cut_by_count_and_distance() -> None:
    cents = blobs([3, 2], noise=0.1)
    tree = theme_linkage(cents)
    assert cut_tree(tree, 5, ThemesConfig(n_themes=2)).tolist() == [0, 0, 0, 1, 1]
    by_distance = ThemesConfig(method="distance", distance_threshold=0.5)
    cosine_tree = theme_linkage(cents, "distance")
    assert len(set(cut_tree(cosine_tree, 5, by_distance).tolist())) == 2
    nodes = tree_records(tree, ["C1", "C2", "C3", "C4", "C5"])
    assert len(nodes) == 4 and nodes[-1]["codes"] == 5


def test_cluster_umap_reduction_when_installed() -> None:
    pytest.importorskip("umap")
    a = cluster(blobs([30, 30], dim=32), ClusterConfig(n_codes=2, reduce="umap", reduce_dims=4))
    assert a.n_clusters == 2


def test_cluster_umap_missing_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "umap", None)
    with pytest.raises(ConfigError, match=r"cppthemes\[umap\]"):
        cluster(blobs([30, 30], dim=32), ClusterConfig(n_codes=2, reduce="umap", reduce_dims=4))
