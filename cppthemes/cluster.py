"""Cluster: group passage vectors into candidate codes, leaving outliers uncoded.

The number of codes follows the corpus size unless the analyst asks for a number: qualitative
codebooks grow with the data, and a fixed count would be far too coarse for a large corpus and
far too fine for a small one. Tiny clusters and passages far from every centroid stay uncoded
rather than being forced into a code they do not fit.
"""

from __future__ import annotations

import numpy as np
from sklearn.cluster import AgglomerativeClustering, KMeans

from cppthemes.config import ClusterConfig
from cppthemes.errors import ConfigError
from cppthemes.records import Assignment


def target_codes(n_passages: int, cfg: ClusterConfig) -> int:
    """How many clusters to ask for: ``cluster.n_codes`` or one per ``passages_per_code``."""
    if cfg.n_codes:
        if cfg.n_codes > n_passages:
            raise ConfigError(f"cluster.n_codes={cfg.n_codes} must be <= passages={n_passages}")
        return cfg.n_codes
    k = round(n_passages / cfg.passages_per_code)
    return int(max(1, min(n_passages, max(cfg.min_codes, min(cfg.max_codes, k)))))


def _fit(vectors: np.ndarray, k: int, cfg: ClusterConfig) -> np.ndarray:
    if cfg.method == "kmeans":
        model = KMeans(n_clusters=k, n_init=10, random_state=cfg.seed)
        return model.fit_predict(vectors)
    model = AgglomerativeClustering(n_clusters=k, metric="cosine", linkage="average")
    return model.fit_predict(vectors)


def centroids(vectors: np.ndarray, labels: np.ndarray, n_clusters: int) -> np.ndarray:
    """Unit-length mean vector of each cluster (rows in cluster order)."""
    out = np.zeros((n_clusters, vectors.shape[1]), dtype=np.float64)
    for c in range(n_clusters):
        members = vectors[labels == c]
        if len(members):
            mean = members.mean(axis=0)
            out[c] = mean / (np.linalg.norm(mean) or 1.0)
    return out


def _renumber(labels: np.ndarray) -> tuple[np.ndarray, int]:
    """Clusters numbered by size (largest first, ties by first member): stable code ids."""
    kept = [c for c in np.unique(labels) if c >= 0]
    order = sorted(kept, key=lambda c: (-int((labels == c).sum()), int(np.argmax(labels == c))))
    mapping = {old: new for new, old in enumerate(order)}
    out = np.array([mapping.get(int(c), -1) for c in labels], dtype=int)
    return out, len(order)


def cluster(vectors: np.ndarray, cfg: ClusterConfig) -> Assignment:
    """Cluster index per passage (-1 = uncoded); deterministic for a given ``cluster.seed``."""
    n = len(vectors)
    if n == 0:
        return Assignment(labels=(), n_clusters=0, method=cfg.method)
    if n < 2:
        return Assignment(labels=(-1,) * n, n_clusters=0, method=cfg.method)
    k = target_codes(n, cfg)
    labels = _fit(np.asarray(vectors, dtype=np.float64), k, cfg).astype(int)
    # Dissolve clusters too small to be a code.
    for c in np.unique(labels):
        if (labels == c).sum() < cfg.min_size:
            labels[labels == c] = -1
    labels, n_clusters = _renumber(labels)
    # Leave passages far from their own code's centroid uncoded.
    cents = centroids(vectors, labels, n_clusters)
    for i, c in enumerate(labels):
        if c >= 0 and float(vectors[i] @ cents[c]) < cfg.min_similarity:
            labels[i] = -1
    labels, n_clusters = _renumber(labels)
    return Assignment(
        labels=tuple(int(c) for c in labels),
        n_clusters=n_clusters,
        method=cfg.method,
        params={"k_requested": k, "seed": cfg.seed, "min_size": cfg.min_size},
    )
