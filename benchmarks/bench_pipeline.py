"""Time each pipeline stage on a corpus and report throughput.

Run by hand on any corpus (``python benchmarks/bench_pipeline.py PATH``) or in CI with
``--smoke`` (the bundled sample, one repeat). Targets live here, never in unit tests: timings
depend on the machine. Embedding is measured with a fresh cache so it is the real model cost;
a second run shows the cost of a rerun after editing the codebook (cache hits only).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cppthemes.config import load_config  # noqa: E402
from cppthemes.embed import EmbeddingCache  # noqa: E402
from cppthemes.pipeline import run  # noqa: E402

# Smoke-mode ceilings, generous for a 2-core CPU machine: they catch a tenfold regression,
# not a few per cent. The real model embeds ~110 passages/s on such a machine (FACTS.md).
SMOKE_MAX_SECONDS = {"cold": 120.0, "warm": 30.0}


def measure(paths: list[str], overrides: list[str]) -> dict[str, object]:
    cfg = load_config(None, overrides)
    with tempfile.TemporaryDirectory() as cache_dir:
        cache = EmbeddingCache(cache_dir)
        out: dict[str, object] = {}
        for label in ("cold", "warm"):
            start = time.perf_counter()
            result = run(paths, cfg, cache=cache)
            wall = time.perf_counter() - start
            n = len(result.passages)
            embed_s = float(result.info["timings_s"]["embed"])  # type: ignore[index]
            out[label] = {
                "wall_s": round(wall, 2),
                "passages": n,
                "codes": len(result.codes),
                "stages_s": result.info["timings_s"],
                "embed_passages_per_s": round(n / embed_s, 1) if embed_s else None,
            }
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("paths", nargs="*", default=[str(ROOT / "data" / "sample")])
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    parser.add_argument("--smoke", action="store_true", help="CI mode: check loose ceilings")
    args = parser.parse_args()
    report = measure(args.paths, args.overrides)
    print(json.dumps(report, indent=2))
    if args.smoke:
        for label, ceiling in SMOKE_MAX_SECONDS.items():
            wall = report[label]["wall_s"]  # type: ignore[index]
            if wall > ceiling:
                print(f"smoke: {label} run took {wall}s > {ceiling}s", file=sys.stderr)
                return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
