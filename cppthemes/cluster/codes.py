"""Cluster: group passage vectors into candidate codes, leaving outliers uncoded.

Several scikit-learn clusterers sit behind one small interface (``CLUSTERERS``). The default,
Ward agglomerative clustering on unit vectors, was chosen by measurement (docs/clustering.md):
it agreed best with human coding on the evaluation sets, needs no random initialisation (so it
is reproducible by construction) and fits a study-sized corpus in well under a second.

The number of codes follows the corpus size unless the analyst asks for a number: codebooks
grow with the data, and a fixed count would be too coarse for a large corpus and too fine for a
small one. Tiny clusters and passages far from every centre stay uncoded rather than being
forced into a code they do not fit. Above ``cluster.max_fit`` passages the clusterer is fitted
on a seeded sample and the rest are assigned to the nearest centre, which bounds memory for
methods that need all pairwise distances.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from cppthemes.cluster import fastward, stable
from cppthemes.config import ClusterConfig
from cppthemes.errors import ConfigError
from cppthemes.records import Assignment, Folded

GRANULARITY = {"coarse": 60.0, "medium": 30.0, "fine": 15.0}

FitPredict = Callable[[np.ndarray, int, ClusterConfig, int], np.ndarray]


# scikit-learn is imported by the clusterer that needs it: its import took seconds of every
# rerun, and the default (Ward, cppthemes/cluster/fastward.py) does without it.


def _kmeans(x: np.ndarray, k: int, cfg: ClusterConfig, seed: int) -> np.ndarray:
    from sklearn.cluster import KMeans

    return KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(x)


def _ward(x: np.ndarray, k: int, cfg: ClusterConfig, seed: int) -> np.ndarray:
    # scikit-learn's Ward partition, with the distances from BLAS (cppthemes/cluster/fastward.py).
    return fastward.ward(x, k)


def _agglomerative(x: np.ndarray, k: int, cfg: ClusterConfig, seed: int) -> np.ndarray:
    from sklearn.cluster import AgglomerativeClustering

    if cfg.distance_threshold:
        model = AgglomerativeClustering(
            n_clusters=None,
            distance_threshold=cfg.distance_threshold,
            metric="cosine",
            linkage=cfg.linkage,
        )
    else:
        model = AgglomerativeClustering(n_clusters=k, metric="cosine", linkage=cfg.linkage)
    return model.fit_predict(x)


def _hdbscan(x: np.ndarray, k: int, cfg: ClusterConfig, seed: int) -> np.ndarray:
    from sklearn.cluster import HDBSCAN

    return HDBSCAN(min_cluster_size=max(2, cfg.min_size), copy=True).fit_predict(x)


CLUSTERERS: dict[str, FitPredict] = {
    "ward": _ward,
    "agglomerative": _agglomerative,
    "kmeans": _kmeans,
    "hdbscan": _hdbscan,
}


def adjusted_rand_score(labels_true: np.ndarray, labels_pred: np.ndarray) -> float:
    """scikit-learn's adjusted Rand index, in the same integer arithmetic (so the same float).

    Pair counts from the contingency table (``pair_confusion_matrix``), then
    ``2 (tp tn - fn fp) / ((tp + fn)(fn + tn) + (tp + fp)(fp + tn))`` on Python integers;
    identical partitions (no disagreeing pair) give 1.0. tests/test_cluster.py compares it
    with scikit-learn's.
    """
    a = np.asarray(labels_true).ravel()
    b = np.asarray(labels_pred).ravel()
    n = np.int64(a.shape[0])
    _, ia = np.unique(a, return_inverse=True)
    _, ib = np.unique(b, return_inverse=True)
    pairs = ia.astype(np.int64) * (int(ib.max(initial=0)) + 1) + ib
    cells = np.bincount(pairs).astype(np.int64)
    cells = cells[cells > 0]
    n_c = np.bincount(ia).astype(np.int64)
    n_k = np.bincount(ib).astype(np.int64)
    sum_squares = int((cells**2).sum())
    # contingency.dot(n_k).sum() = sum over cells of count * n_k[column]; likewise for rows.
    flat = np.bincount(pairs)
    nz = np.flatnonzero(flat)
    cols = nz % (int(ib.max(initial=0)) + 1)
    rows = nz // (int(ib.max(initial=0)) + 1)
    by_cols = int((flat[nz].astype(np.int64) * n_k[cols]).sum())
    by_rows = int((flat[nz].astype(np.int64) * n_c[rows]).sum())
    tp = sum_squares - int(n)
    fp = by_cols - sum_squares
    fn = by_rows - sum_squares
    tn = int(n) ** 2 - fp - fn - sum_squares
    if fn == 0 and fp == 0:
        return 1.0
    return 2.0 * (tp * tn - fn * fp) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn))


def target_codes(n_passages: int, cfg: ClusterConfig) -> int:
    """How many clusters to ask for: ``cluster.n_codes``, or one per N passages.

    N comes from ``cluster.granularity`` (coarse 60, medium 30, fine 15), or from
    ``cluster.passages_per_code`` when that is set (non-zero).
    """
    if cfg.n_codes:
        if cfg.n_codes > n_passages:
            raise ConfigError(f"cluster.n_codes={cfg.n_codes} must be <= passages={n_passages}")
        return cfg.n_codes
    per_code = cfg.passages_per_code or GRANULARITY[cfg.granularity]
    k = round(n_passages / per_code)
    return int(max(1, min(n_passages, max(cfg.min_codes, min(cfg.max_codes, k)))))


def reduce(vectors: np.ndarray, cfg: ClusterConfig) -> np.ndarray:
    """Optional dimensionality reduction before clustering (none, PCA, or UMAP if installed)."""
    if cfg.reduce == "none" or vectors.shape[1] <= cfg.reduce_dims:
        return vectors
    dims = min(cfg.reduce_dims, len(vectors) - 1)
    if cfg.reduce == "pca":
        from sklearn.decomposition import PCA

        out = PCA(n_components=dims, random_state=cfg.seed).fit_transform(as_float64(vectors))
    else:
        try:
            import umap
        except ImportError:
            raise ConfigError(
                "cluster.reduce='umap' needs the umap extra: pip install 'cppthemes[umap]'"
            ) from None
        out = umap.UMAP(n_components=dims, metric="cosine", random_state=cfg.seed).fit_transform(
            as_float64(vectors)
        )
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms == 0, 1.0, norms)


def as_float64(vectors: np.ndarray) -> np.ndarray:
    """Vectors as float64, for a fit on at most ``cluster.max_fit`` rows.

    The corpus's vectors stay float32 (half the memory: 1 GB less per million passages); only
    what a fit sees is widened, so every clusterer computes in the precision it always had.
    """
    return np.asarray(vectors, dtype=np.float64)


def centroids(vectors: np.ndarray, labels: np.ndarray, n_clusters: int) -> np.ndarray:
    """Unit-length mean vector of each cluster (rows in cluster order), summed in float64."""
    out = np.zeros((n_clusters, vectors.shape[1]), dtype=np.float64)
    for c in range(n_clusters):
        members = vectors[labels == c]
        if len(members):
            mean = members.mean(axis=0, dtype=np.float64)
            out[c] = mean / (np.linalg.norm(mean) or 1.0)
    return out


def _renumber(labels: np.ndarray, keep_first: int = 0) -> tuple[np.ndarray, int]:
    """Clusters numbered by size (largest first, ties by first member): stable code ids.

    The first ``keep_first`` cluster numbers (seeded codes) keep their numbers and order.
    """
    kept = [int(c) for c in np.unique(labels) if c >= keep_first]
    order = sorted(kept, key=lambda c: (-int((labels == c).sum()), int(np.argmax(labels == c))))
    mapping = {c: c for c in range(keep_first)}
    mapping.update({old: keep_first + new for new, old in enumerate(order)})
    out = np.array([mapping.get(int(c), -1) for c in labels], dtype=int)
    return out, keep_first + len(order)


def _fit_labels(x: np.ndarray, k: int, cfg: ClusterConfig, seed: int) -> np.ndarray:
    """Fit on everything, or on a seeded sample and assign the rest to the nearest centre."""
    fit = CLUSTERERS[cfg.method]
    n = len(x)
    k = min(k, n)
    if n <= cfg.max_fit:
        return fit(as_float64(x), k, cfg, seed).astype(int)
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(n, size=cfg.max_fit, replace=False))
    sample_labels = fit(as_float64(x[sample]), k, cfg, seed).astype(int)
    n_found = int(sample_labels.max()) + 1 if (sample_labels >= 0).any() else 0
    if n_found == 0:
        return np.full(n, -1, dtype=int)
    cents = centroids(x[sample], sample_labels, n_found)
    labels = np.empty(n, dtype=int)
    for start in range(0, n, 8192):  # bounded memory: 8192 x k similarities at a time
        labels[start : start + 8192] = np.argmax(x[start : start + 8192] @ cents.T, axis=1)
    labels[sample] = sample_labels
    return labels


def assign_to_seeds(vectors: np.ndarray, seeds: np.ndarray, threshold: float) -> np.ndarray:
    """Index of the nearest seed for passages at least ``threshold`` similar to it, else -1."""
    if len(seeds) == 0:
        return np.full(len(vectors), -1, dtype=int)
    sims = vectors @ seeds.T
    best = np.argmax(sims, axis=1)
    return np.where(sims[np.arange(len(vectors)), best] >= threshold, best, -1)


def _finish(
    vectors: np.ndarray, labels: np.ndarray, cfg: ClusterConfig, n_seeds: int
) -> tuple[np.ndarray, int]:
    """Dissolve tiny clusters, uncode far passages, renumber largest first."""
    for c in np.unique(labels):
        if c >= n_seeds and (labels == c).sum() < cfg.min_size:
            labels[labels == c] = -1
    labels, n_clusters = _renumber(labels, n_seeds)
    if n_clusters == 0:  # every cluster was too small: nothing is coded (an honest answer)
        return labels, 0
    cents = centroids(vectors, labels, n_clusters)
    # Each passage against its own centre, in blocks: gathering a centre for every passage at
    # once made an n x d float64 matrix (2 GB at a million passages).
    sims = np.empty(len(vectors))
    for start in range(0, len(vectors), 65536):
        end = start + 65536
        own = cents[np.maximum(labels[start:end], 0)]
        sims[start:end] = np.einsum("ij,ij->i", vectors[start:end], own)
    labels[(labels >= n_seeds) & (sims < cfg.min_similarity)] = -1
    return _renumber(labels, n_seeds)


def why_nothing_coded(n_passages: int, cfg: ClusterConfig) -> str:
    """One line for a run that found no code: why, and what to change."""
    if n_passages < max(2, cfg.min_size):
        return (
            f"no candidate codes: {n_passages} passage(s) to code, fewer than a code needs "
            f"(cluster.min_size={cfg.min_size}, and at least 2); add transcripts"
            + (" or lower cluster.min_size with --set" if cfg.min_size > 2 else "")
        )
    asked = (
        f"; cluster.n_codes={cfg.n_codes} leaves ~{n_passages / cfg.n_codes:.1f} passages a code"
        if cfg.n_codes
        else ""
    )
    return (
        f"no candidate codes: every group of similar passages among the {n_passages} had fewer "
        f"than cluster.min_size={cfg.min_size} passages"
        + asked
        + " (ask for fewer codes, lower cluster.min_size with --set, or add transcripts)"
    )


def _stability(
    x: np.ndarray, labels: np.ndarray, k: int, cfg: ClusterConfig
) -> tuple[np.ndarray, list[stable.Fold], list[float], float]:
    """Fold unstable codes (``cluster.fold_unstable``), then score each code on resamples.

    A code that is really in the data is found again, with mostly the same passages, when the
    corpus is re-clustered without a random fifth of it; a code that is an artefact of one
    partition falls apart (Hennig 2007, clusterwise Jaccard bootstrap). With folding on, the
    resamples' partitions are folded by the same rule before the codes are judged against
    them, so the score is that of the construction rerun, not of Ward's raw partition.
    Returns the (possibly folded) labels in their old numbering, the folds, the stability of
    every old code number (NaN for one folded away) and the mean ARI across resamples.
    """
    n_clusters = int(labels.max(initial=-1)) + 1
    if cfg.stability_resamples == 0 or n_clusters == 0:
        return labels, [], [float("nan")] * n_clusters, float("nan")
    rows = stable.resample_fits(
        x, k, lambda xs, kk, seed: _fit_labels(xs, kk, cfg, seed), cfg.stability_resamples, cfg.seed
    )
    folds: list[stable.Fold] = []
    if cfg.fold_unstable and len(rows) >= 2:
        # Half the resamples decide the folds, the other half (folded alike) judge the result.
        floor = max(cfg.min_codes, round(k * cfg.fold_floor))
        labels, folds, _, rows = stable.fold_held_out(labels, rows, cfg.unstable_below, floor)
    scores = stable.stability(labels, rows)
    live = set(np.unique(labels[labels >= 0]).tolist())
    out = [round(float(s), 4) if c in live else float("nan") for c, s in enumerate(scores)]
    seen = rows > stable.ABSENT
    aris = [adjusted_rand_score(labels[s], row[s]) for row, s in zip(rows, seen, strict=True)]
    return labels, folds, out, float(np.mean(aris))


def _apply_folds(
    labels: np.ndarray,
    free: np.ndarray,
    folds: list[stable.Fold],
    scores: list[float],
    n_seeds: int,
) -> tuple[np.ndarray, int, list[float], list[Folded]]:
    """Renumber the codes left after folding (seeded codes keep 0..n_seeds-1), carry each
    code's score to its new number, and record each fold with corpus-wide passage indices."""
    old = labels.copy()
    labels, n_clusters = _renumber(labels, n_seeds)
    new_of = {int(o): int(c) for o, c in zip(old, labels, strict=True) if c >= n_seeds}
    scores = [scores[o - n_seeds] for o, _ in sorted(new_of.items(), key=lambda i: i[1])]
    folded = [
        Folded(
            into=int(labels[free[f.members[0]]]),
            members=tuple(int(free[m]) for m in f.members),
            stability=f.stability,
            together=f.similarity,
        )
        for f in folds
    ]
    return labels, n_clusters, scores, folded


def cluster(
    vectors: np.ndarray,
    cfg: ClusterConfig,
    seeds: np.ndarray | None = None,
    exclude: np.ndarray | None = None,
) -> Assignment:
    """Cluster index per passage (-1 = uncoded); deterministic for a given ``cluster.seed``.

    ``seeds`` (unit vectors, one per seeded code) are anchors: passages at least
    ``cluster.seed_threshold`` similar to a seed take that seed's index (0..len(seeds)-1)
    before the rest are clustered inductively into the following indices. ``exclude`` (a
    boolean per passage: the procedural bin, cppthemes/procedural.py) are clustered with the
    rest and then left uncoded. Measured: leaving them out of the fit as well moved Ward's
    partition enough to cost 0.01-0.03 AMI (data/sample 0.392 -> 0.368, qmsum-small 0.398 ->
    0.380), while taking them out afterwards keeps every other passage's code.
    """
    n = len(vectors)
    n_seeds = 0 if seeds is None else len(seeds)
    if n == 0:
        return Assignment(labels=(), n_clusters=n_seeds, method=cfg.method)
    if cfg.method not in CLUSTERERS:
        raise ConfigError(f"cluster.method={cfg.method!r} (allowed: {', '.join(CLUSTERERS)})")
    # float32 stays float32: fits widen what they see (as_float64); products with float64
    # centres are computed in float64 either way.
    x = vectors if vectors.dtype in (np.float32, np.float64) else as_float64(vectors)
    labels = np.full(n, -1, dtype=int)
    if n_seeds:
        labels = assign_to_seeds(x, np.asarray(seeds, dtype=np.float64), cfg.seed_threshold)
    free = np.flatnonzero(labels < 0)
    k = target_codes(len(free), cfg) if len(free) >= 2 else 0
    chosen = x if len(free) == n else x[free]  # no copy of the corpus when nothing is seeded
    reduced = reduce(chosen, cfg) if k else chosen
    if k:
        found = _fit_labels(reduced, k, cfg, cfg.seed)
        labels[free] = np.where(found >= 0, found + n_seeds, -1)
    if exclude is not None and len(exclude) == n:
        labels[np.asarray(exclude, dtype=bool)] = -1
    labels, n_clusters = _finish(x, labels, cfg, n_seeds)
    # Stability of the inductive codes, measured where they were found (and folded there).
    stability = [float("nan")] * n_clusters
    ari = resample_ari = float("nan")
    folded: list[Folded] = []
    if k and n_clusters > n_seeds:
        sub = labels[free]
        inductive = np.where(sub >= n_seeds, sub - n_seeds, -1)
        inductive, folds, scores, resample_ari = _stability(reduced, inductive, k, cfg)
        if folds:
            labels[free] = np.where(inductive >= 0, inductive + n_seeds, -1)
            labels, n_clusters, scores, folded = _apply_folds(labels, free, folds, scores, n_seeds)
            stability = [float("nan")] * n_clusters
        stability[n_seeds:] = scores
        if cfg.stability_resamples and cfg.method != "ward":
            runs = [_fit_labels(reduced, k, cfg, cfg.seed + 101 + s) for s in range(3)]
            ari = float(np.mean([adjusted_rand_score(found, r) for r in runs]))
        elif cfg.stability_resamples:
            ari = 1.0  # Ward has no random start: every seed gives the same partition
    return Assignment(
        labels=tuple(int(c) for c in labels),
        n_clusters=n_clusters,
        method=cfg.method,
        params={
            "k_requested": k,
            "seed": cfg.seed,
            "min_size": cfg.min_size,
            "seeded_codes": n_seeds,
            "fold_unstable": cfg.fold_unstable,
            "folded_groups": len(folded),
            "ari_across_seeds": round(ari, 4) if ari == ari else "n/a",
            "ari_across_resamples": round(resample_ari, 4)
            if resample_ari == resample_ari
            else "n/a",
        },
        stability=tuple(stability),
        folded=tuple(folded),
    )
