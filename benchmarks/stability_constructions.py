"""Can codes be made stable by construction? The measurements behind issue 17's answer.

For each set: the default pipeline's passage vectors (user embedding cache), then, scored
against the human labels (AMI, `cppthemes evaluate`'s rule) and by Hennig's clusterwise
Jaccard stability (10 seeded 80% resamples, at most 1,500 passages each, as `cluster` does):

- Ward at the default number of codes, and at 2/3 and 1/2 of it (fewer, larger codes);
- consensus clustering: a co-association matrix over the 10 resample partitions, cut by
  average linkage at the same number of codes, scored against the same resamples and, honestly,
  against the whole consensus procedure rerun on 4 outer 80% subsamples ("nested");
- Ward followed by Lloyd (nearest-centre) refinement.

    python benchmarks/stability_constructions.py --sets sample serdif-usability
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy.cluster.hierarchy import linkage
from scipy.spatial.distance import squareform

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import eval_codes  # noqa: E402

import cppthemes.coding as coding  # noqa: E402
import cppthemes.pipeline as pipeline  # noqa: E402
from cppthemes.cluster import fastward  # noqa: E402
from cppthemes.config import load_config  # noqa: E402
from cppthemes.embed.embedder import EmbeddingCache, default_cache_dir  # noqa: E402
from cppthemes.evaluate import read_gold, score  # noqa: E402

Parts = list[tuple[np.ndarray, np.ndarray]]


def vectors_of(spec: dict[str, Any]) -> tuple[np.ndarray, Any]:
    """The default run's passages and the vectors it clustered."""
    seen: dict[str, np.ndarray] = {}
    real = coding.cluster  # the plain run's cluster call (cppthemes/coding.py)

    def capture(vectors: np.ndarray, cfg: Any, seeds: Any = None, exclude: Any = None) -> Any:
        seen["v"] = np.asarray(vectors, dtype=np.float64)
        return real(vectors, cfg, seeds, exclude)

    coding.cluster = capture
    try:
        cfg = load_config(spec.get("config"), ["cluster.stability_resamples=0"])
        result = pipeline.run([Path(spec["data"])], cfg, cache=EmbeddingCache(default_cache_dir()))
    finally:
        coding.cluster = real
    return seen["v"], result.passages


def resamples(x: np.ndarray, k: int, seed: int, fit: Any = fastward.ward, r: int = 10) -> Parts:
    rng = np.random.default_rng(seed)
    n = len(x)
    size = max(2, min(round(n * 0.8), 1500))
    out = []
    for _ in range(r):
        idx = np.sort(rng.choice(n, size=min(size, n), replace=False))
        out.append((idx, fit(x[idx], min(k, len(idx)))))
    return out


def jaccard(labels: np.ndarray, parts: Parts) -> list[float]:
    """Hennig's mean best-match Jaccard of each cluster over the partitions."""
    codes = [c for c in np.unique(labels) if c >= 0]
    totals = dict.fromkeys(codes, 0.0)
    for idx, found in parts:
        original = labels[idx]
        for c in codes:
            mine = original == c
            if mine.any():
                totals[c] += max(
                    float((mine & (found == o)).sum() / (mine | (found == o)).sum())
                    for o in np.unique(found[mine])
                )
    return [totals[c] / len(parts) for c in codes]


def consensus(x: np.ndarray, k: int, parts: Parts) -> np.ndarray:
    n = len(x)
    together = np.zeros((n, n), dtype=np.float32)
    sampled = np.zeros((n, n), dtype=np.float32)
    for idx, found in parts:
        together[np.ix_(idx, idx)] += found[:, None] == found[None, :]
        sampled[np.ix_(idx, idx)] += 1
    dist = 1.0 - np.where(sampled > 0, together / np.maximum(sampled, 1), 0.0)
    np.fill_diagonal(dist, 0.0)
    return fastward.cut(linkage(squareform(dist, checks=False), method="average"), n, k)


def lloyd(x: np.ndarray, k: int) -> np.ndarray:
    labels = fastward.ward(x, k)
    for _ in range(30):
        cents = np.vstack([x[labels == c].mean(axis=0) for c in range(labels.max() + 1)])
        new = np.argmax(x @ cents.T, axis=1)
        if (new == labels).all():
            break
        labels = new
    return labels


def line(name: str, what: str, ami: float, stab: list[float], extra: str = "") -> str:
    unstable = sum(s < 0.5 for s in stab)
    return (
        f"| {name} | {what} | {len(stab)} | {ami:.3f} | {np.mean(stab):.3f} | {unstable} |{extra}"
    )


def measure(name: str, spec: dict[str, Any]) -> list[str]:
    x, passages = vectors_of(spec)
    data = Path(spec["data"])
    gold = read_gold(Path(spec.get("gold", data.parent / "gold.jsonl")))
    per_file = bool(spec.get("per_file", False))

    def ami(labels: np.ndarray) -> float:
        records = [
            {
                "source": p.source,
                "line_start": p.line_start,
                "line_end": p.line_end,
                "code": f"c{c}",
            }
            for p, c in zip(passages, labels, strict=True)
        ]
        return score(records, gold, per_file_labels=per_file).ami

    n = len(x)
    k = max(4, min(60, round(n / 30)))
    rows = []
    for kk in (k, round(k * 2 / 3), round(k / 2)):
        labels = fastward.ward(x, kk)
        rows.append(
            line(name, f"Ward, {kk} codes", ami(labels), jaccard(labels, resamples(x, kk, 7)))
        )
    parts = resamples(x, k, 0)
    start = time.perf_counter()
    labels = consensus(x, k, parts)
    cost = time.perf_counter() - start
    rng = np.random.default_rng(99)
    outer = []
    for j in range(4):
        idx = np.sort(rng.choice(n, size=round(0.8 * n), replace=False))
        outer.append((idx, consensus(x[idx], k, resamples(x[idx], k, 1000 + j))))
    nested = np.mean(jaccard(labels, outer))
    rows.append(
        line(
            name,
            "consensus (co-association, average linkage)",
            ami(labels),
            jaccard(labels, parts),
            f" nested {nested:.3f}; {cost:.1f} s |",
        )
    )
    labels = lloyd(x, k)
    rows.append(
        line(
            name, "Ward + Lloyd refinement", ami(labels), jaccard(labels, resamples(x, k, 7, lloyd))
        )
    )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sets", nargs="*", default=list(eval_codes.SETS))
    args = parser.parse_args()
    print("| set | construction | codes | AMI | mean stability | unstable | notes |")
    print("|---|---|---|---|---|---|---|")
    for name in args.sets:
        for row in measure(name, eval_codes.SETS[name]):
            print(row if row.endswith("|") else row + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
