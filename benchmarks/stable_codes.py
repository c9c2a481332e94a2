"""Stable codes by construction, second round (issue 17): folding and a stability-driven cut.

For each set: the default pipeline's passage vectors and procedural bin (user embedding cache,
captured at the cluster call), then every construction below, scored against the human labels
(code AMI, theme AMI with the default theme rule, coverage of labelled lines) and by Hennig's
clusterwise Jaccard stability. Two stability figures per construction:

- "in-run": what the run reports: the codes against the same construction rerun on the 10
  seeded resamples (cppthemes/cluster/stable.py: each resample folded or cut by the same rule,
  judged against the other resamples);
- "nested": the whole construction (its own resamples included) rerun on 4 outer seeded 80%
  subsamples, and the codes' mean best-match Jaccard against those runs: the strict check.

Constructions: Ward (the default before), Ward folded (the least stable code below 0.5 merged
into its nearest code by co-association, or by centre cosine, down to a floor), and a cut of
the Ward tree at the finest antichain of nodes that reappear (best Jaccard >= 0.5) in the
resamples' trees (pvclust / HDBSCAN excess-of-mass in spirit).

    python benchmarks/stable_codes.py                    # every set, markdown rows
    python benchmarks/stable_codes.py --sets sample --only fold-co
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from scipy.cluster.hierarchy import linkage

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from compare_clustering import SETS  # noqa: E402

import cppthemes.coding as coding  # noqa: E402
from cppthemes.cluster import codes as codes_mod  # noqa: E402
from cppthemes.cluster import fastward, stable  # noqa: E402
from cppthemes.cluster.themes import cut_tree, theme_linkage  # noqa: E402
from cppthemes.config import ClusterConfig, ThemesConfig, load_config  # noqa: E402
from cppthemes.embed.embedder import EmbeddingCache, default_cache_dir  # noqa: E402
from cppthemes.evaluate import read_gold, score  # noqa: E402
from cppthemes.pipeline import run  # noqa: E402

Construction = Callable[[np.ndarray, np.ndarray, ClusterConfig], tuple[np.ndarray, np.ndarray]]


def captured(spec: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, ClusterConfig, Any]:
    """The vectors, bin mask and cluster settings of the set's default run, and its passages."""
    seen: dict[str, Any] = {}
    real = coding.cluster

    def capture(vectors: np.ndarray, cfg: ClusterConfig, seeds: Any = None, exclude: Any = None):  # type: ignore[no-untyped-def]
        seen.update(x=np.asarray(vectors, dtype=np.float64), cfg=cfg, exclude=exclude)
        return real(vectors, cfg.model_copy(update={"stability_resamples": 0}), seeds, exclude)

    coding.cluster = capture  # type: ignore[assignment]
    try:
        cfg = load_config(spec.get("config"), [])
        result = run([Path(spec["data"])], cfg, cache=EmbeddingCache(default_cache_dir()))
    finally:
        coding.cluster = real  # type: ignore[assignment]
    exclude = seen["exclude"]
    mask = np.zeros(len(seen["x"]), bool) if exclude is None else np.asarray(exclude, bool)
    return seen["x"], mask, seen["cfg"], result.passages


def _fit(cfg: ClusterConfig) -> stable.Fit:
    return lambda x, k, seed: codes_mod._fit_labels(x, k, cfg, seed)


def ward_default(x: np.ndarray, exclude: np.ndarray, cfg: ClusterConfig):  # type: ignore[no-untyped-def]
    """Today's codes: Ward at k, small clusters dissolved, far and binned passages uncoded."""
    base = cfg.model_copy(update={"stability_resamples": 0})
    labels = np.array(codes_mod.cluster(x, base, exclude=exclude).labels)
    k = codes_mod.target_codes(len(x), cfg)
    rows = stable.resample_fits(x, k, _fit(cfg), cfg.stability_resamples, cfg.seed)
    return labels, rows


def folded(
    threshold: float, floor_share: float, by_centre: bool, held_out: bool = False
) -> Construction:
    def build(x: np.ndarray, exclude: np.ndarray, cfg: ClusterConfig):  # type: ignore[no-untyped-def]
        labels, rows = ward_default(x, exclude, cfg)
        k = codes_mod.target_codes(len(x), cfg)
        floor = max(cfg.min_codes, round(k * floor_share))
        centre = x if by_centre else None
        if held_out:
            labels, _, _, judge = stable.fold_held_out(labels, rows, threshold, floor, centre)
            return labels, judge
        rows = stable.fold_resamples(rows, threshold, floor, centre)
        labels, _, _ = stable.fold_unstable(labels, rows, threshold, floor, centre)
        return labels, rows

    return build


def cored(level: float, max_share: float, fold: bool = False) -> Construction:
    def build(x: np.ndarray, exclude: np.ndarray, cfg: ClusterConfig):  # type: ignore[no-untyped-def]
        labels, rows = ward_default(x, exclude, cfg)
        raw = rows
        rows = stable.core_resamples(raw, level, max_share)
        labels = stable.cores(labels, raw, level, max_share)
        if fold:
            k = codes_mod.target_codes(len(x), cfg)
            floor = max(cfg.min_codes, round(k * 2 / 3))
            rows = stable.fold_resamples(rows, cfg.unstable_below, floor)
            labels, _, _ = stable.fold_unstable(labels, rows, cfg.unstable_below, floor)
        return labels, rows

    return build


# ---- the stability-driven cut of the Ward tree -------------------------------------------


def tree_of(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    """Ward tree of ``x`` cut at ``k`` leaves (fine clusters): the fine labels, the membership
    of every top node (rows: the k fine clusters, then the k-1 top merges) in fine clusters,
    and each top merge's two child rows."""
    m = len(x)
    k = max(1, min(k, m))
    tree = linkage(fastward.condensed_distances(x), method="ward")
    fine = fastward.cut(tree, m, k)
    parent = np.arange(2 * m - 1)
    for i, (a, b) in enumerate(tree[: m - k, :2].astype(np.intp)):
        parent[a] = parent[b] = m + i
    row_of: dict[int, int] = {}
    for leaf in range(m):
        node = leaf
        while parent[node] != node:
            node = parent[node]
        row_of[int(node)] = int(fine[leaf])
    member = [np.eye(k, dtype=bool)[c] for c in range(k)]
    children = []
    for i in range(m - k, m - 1):
        a, b = (int(v) for v in tree[i, :2])
        row_of[m + i] = len(member)
        member.append(member[row_of[a]] | member[row_of[b]])
        children.append((row_of[a], row_of[b]))
    return fine, np.array(member), children


def node_reappearance(
    fine_a: np.ndarray, nodes_a: np.ndarray, fine_b: np.ndarray, nodes_b: np.ndarray
) -> np.ndarray:
    """For each node of tree a: its best Jaccard against the nodes of tree b (shared passages)."""
    t = stable._table(fine_a, fine_b)[1:, 1:].astype(np.float64)
    ka, kb = nodes_a.shape[1], nodes_b.shape[1]
    c = np.zeros((ka, kb))
    c[: t.shape[0], : t.shape[1]] = t[:ka, :kb]
    a = nodes_a.astype(np.float64)
    b = nodes_b.astype(np.float64)
    inter = a @ c @ b.T
    union = (a @ c.sum(axis=1))[:, None] + (b @ c.sum(axis=0))[None, :] - inter
    jac = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    return jac.max(axis=1)


def finest_stable(
    scores: np.ndarray, children: list[tuple[int, int]], k: int, tau: float
) -> list[int]:
    """The finest set of disjoint nodes covering the tree whose every node scores >= tau."""

    def pick(row: int) -> list[int] | None:
        if row < k:
            return [row] if scores[row] >= tau else None
        left, right = children[row - k]
        a, b = pick(left), pick(right)
        if a is not None and b is not None:
            return a + b
        return [row] if scores[row] >= tau else None

    sys.setrecursionlimit(10000)
    root = len(scores) - 1
    return pick(root) or [root]


def tree_cut(tau: float) -> Construction:
    def labels_from(fine: np.ndarray, nodes: np.ndarray, picked: list[int]) -> np.ndarray:
        code_of_fine = np.full(nodes.shape[1], -1)
        for new, row in enumerate(picked):
            code_of_fine[nodes[row]] = new
        return code_of_fine[fine]

    def build(x: np.ndarray, exclude: np.ndarray, cfg: ClusterConfig):  # type: ignore[no-untyped-def]
        n = len(x)
        k = codes_mod.target_codes(n, cfg)
        rng = np.random.default_rng(cfg.seed)
        pool = np.arange(n)
        if n > stable.STABILITY_POOL:
            pool = np.sort(rng.choice(n, size=stable.STABILITY_POOL, replace=False))
        size = max(2, min(round(len(pool) * 0.8), stable.STABILITY_MAX))
        trees = []
        for _ in range(cfg.stability_resamples):
            idx = np.sort(rng.choice(pool, size=size, replace=False))
            fine, nodes, children = tree_of(x[idx], k)
            full = np.full(n, stable.ABSENT)
            full[idx] = fine
            trees.append((full, nodes, children))
        # Each resample's cut, judged against the other resamples' trees.
        rows = np.full((len(trees), n), stable.ABSENT)
        for r, (fine, nodes, children) in enumerate(trees):
            others = [t for s, t in enumerate(trees) if s != r]
            sc = np.mean([node_reappearance(fine, nodes, f, nd) for f, nd, _ in others], axis=0)
            rows[r] = np.where(
                fine > stable.ABSENT,
                labels_from(np.maximum(fine, 0), nodes, finest_stable(sc, children, k, tau)),
                stable.ABSENT,
            )
        fine, nodes, children = tree_of(x, k)
        sc = np.mean([node_reappearance(fine, nodes, f, nd) for f, nd, _ in trees], axis=0)
        labels = labels_from(fine, nodes, finest_stable(sc, children, k, tau))
        labels[exclude] = -1
        return labels, rows

    return build


# ---- scoring ----------------------------------------------------------------------------


def compact(labels: np.ndarray) -> np.ndarray:
    live = [c for c in np.unique(labels) if c >= 0]
    out = np.full(len(labels), -1)
    for new, c in enumerate(live):
        out[labels == c] = new
    return out


def nested(
    build: Construction, x: np.ndarray, exclude: np.ndarray, cfg: ClusterConfig, labels: np.ndarray
) -> float:
    rng = np.random.default_rng(99)
    n = len(x)
    k = codes_mod.target_codes(n, cfg)
    outer = np.full((4, n), stable.ABSENT)
    for j in range(4):
        idx = np.sort(rng.choice(n, size=round(0.8 * n), replace=False))
        # The same settings: the number of codes the full run asked for, not fewer for
        # fewer passages (a coarser rerun would not be the same construction).
        same = cfg.model_copy(update={"seed": 1000 + j, "n_codes": k})
        sub, _ = build(x[idx], exclude[idx], same)
        outer[j, idx] = sub
    return float(np.nanmean(stable.stability(labels, outer)))


def measure(name: str, spec: dict[str, Any], only: list[str]) -> list[str]:
    x, exclude, cfg, passages = captured(spec)
    data = Path(spec["data"])
    gold = read_gold(Path(spec.get("gold", data.parent / "gold.jsonl")))
    per_file = bool(spec.get("per_file", False))

    def scored(labels: np.ndarray) -> tuple[float, float, float]:
        m = int(labels.max()) + 1
        cents = codes_mod.centroids(x, labels, m)
        sizes = [int((labels == c).sum()) for c in range(m)]
        theme = cut_tree(theme_linkage(cents), m, ThemesConfig(), cents, sizes)

        def recs(of: Callable[[int], str | None]) -> list[dict[str, Any]]:
            return [
                {
                    "source": p.source,
                    "line_start": p.line_start,
                    "line_end": p.line_end,
                    "code": of(int(c)),
                }
                for p, c in zip(passages, labels, strict=True)
            ]

        codes = score(recs(lambda c: f"c{c}" if c >= 0 else None), gold, per_file_labels=per_file)
        themes = score(
            recs(lambda c: f"t{theme[c]}" if c >= 0 else None), gold, per_file_labels=per_file
        )
        return codes.ami, themes.ami, codes.coverage

    k = codes_mod.target_codes(len(x), cfg)
    constructions: dict[str, Construction] = {
        "ward": ward_default,
        "fold-co": folded(cfg.unstable_below, 0.0, False),
        "fold-co-floor1/3": folded(cfg.unstable_below, 1 / 3, False),
        "fold-co-floor1/2": folded(cfg.unstable_below, 1 / 2, False),
        "fold-co-floor2/3": folded(cfg.unstable_below, 2 / 3, False),
        "fold-centre": folded(cfg.unstable_below, 0.0, True),
        "fold-co-0.6": folded(0.6, 0.0, False),
        "fold-co-held-out": folded(cfg.unstable_below, 0.0, False, True),
        "fold-co-held-out-floor1/2": folded(cfg.unstable_below, 1 / 2, False, True),
        "fold-co-held-out-floor2/3": folded(cfg.unstable_below, 2 / 3, False, True),
        "fold-centre-held-out": folded(cfg.unstable_below, 0.0, True, True),
        "fold-centre-held-out-floor1/2": folded(cfg.unstable_below, 1 / 2, True, True),
        "tree-cut": tree_cut(cfg.unstable_below),
        "core-0.5-15%": cored(0.5, 0.15),
        "core-0.7-15%": cored(0.7, 0.15),
        "core-0.7-30%": cored(0.7, 0.30),
        "core-0.5-15%+fold2/3": cored(0.5, 0.15, True),
    }
    out = []
    for what, build in constructions.items():
        if only and what not in only:
            continue
        start = time.perf_counter()
        labels, rows = build(x, exclude, cfg)
        cost = time.perf_counter() - start
        labels = compact(labels)
        stab = stable.stability(labels, rows)
        stab = stab[~np.isnan(stab)]
        ami, theme_ami, coverage = scored(labels)
        honest = nested(build, x, exclude, cfg, labels)
        unstable = int((stab < cfg.unstable_below).sum())
        out.append(
            f"| {name} | {what} | {len(stab)} (k {k}) | {np.mean(stab):.3f} | {honest:.3f} | "
            f"{unstable} ({unstable / max(1, len(stab)):.0%}) | {ami:.3f} | {theme_ami:.3f} | "
            f"{coverage:.3f} | {cost:.1f} |"
        )
        print(out[-1], flush=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sets", nargs="*", default=list(SETS))
    parser.add_argument("--only", nargs="*", default=[])
    args = parser.parse_args()
    print(
        "| set | construction | codes | stability in-run | nested | unstable | code AMI | "
        "theme AMI | coverage | seconds |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in args.sets:
        if Path(SETS[name]["data"]).exists():
            measure(name, SETS[name], args.only)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
