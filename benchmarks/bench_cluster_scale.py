"""Time and peak memory of the cluster stage at growing corpus sizes (synthetic vectors).

    python benchmarks/bench_cluster_scale.py 10000 100000

Vectors are 384-d unit vectors around 80 random centres (the shape of sentence embeddings of a
topical corpus). Above `cluster.max_fit` (10,000) the clusterer is fitted on a seeded sample
and the rest are assigned to the nearest centre, so memory is bounded by the sample's pairwise
distances (10,000^2 / 2 doubles = 400 MB) plus the vectors themselves.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cppthemes.cluster.codes import cluster
from cppthemes.config import ClusterConfig


def synthetic(n: int, dim: int = 384, centres: int = 80, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((centres, dim)).astype(np.float32)
    x = c[rng.integers(0, centres, n)] + 1.5 * rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def main() -> int:
    sizes = [int(a) for a in sys.argv[1:]] or [10_000, 100_000]
    for n in sizes:
        x = synthetic(n)
        start = time.perf_counter()
        a = cluster(x, ClusterConfig())
        seconds = time.perf_counter() - start
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"passages": n, "codes": a.n_clusters, "seconds": round(seconds, 1),
                          "peak_rss_mib_so_far": round(peak_mib)}))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
