"""Synthetic scale test: time and peak memory per stage at 10k, 100k, 1M passages.

The corpus is data/sample replicated and perturbed (seeded): each copy of a transcript gets
its participant turns' words lightly shuffled and some dropped or repeated, so passages are not
byte-identical (the embedding cache would otherwise make copies free) but keep the sample's
topics. The static model (`cppthemes model distill`) embeds, so the test measures the
pipeline's own scaling rather than a transformer's.

    python benchmarks/bench_scale.py --sizes 10000 100000       # prints a markdown table
    python benchmarks/bench_scale.py --sizes 1000000 --no-cache  # 1M without the SQLite cache

Peak RSS is sampled every 10 ms and attributed to the stage announced last through the
pipeline's ``on_progress`` callback.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cppthemes.config import load_config  # noqa: E402
from cppthemes.embed.embedder import EmbeddingCache  # noqa: E402
from cppthemes.embed.static_model import StaticEmbedder  # noqa: E402
from cppthemes.pipeline import run  # noqa: E402

SAMPLE = ROOT / "data" / "sample"
TURN = re.compile(r"^([^:\n]{1,40}):(.*)$")


def perturb(line: str, rng: np.random.Generator) -> str:
    match = TURN.match(line)
    if not match or len(match.group(2).split()) < 6:
        return line
    words = match.group(2).split()
    for _ in range(max(1, len(words) // 8)):
        i, j = rng.integers(0, len(words), size=2)
        words[i], words[j] = words[j], words[i]
    if rng.random() < 0.5:
        del words[int(rng.integers(0, len(words)))]
    else:
        k = int(rng.integers(0, len(words)))
        words.insert(k, words[k])
    return f"{match.group(1)}: {' '.join(words)}"


def make_corpus(folder: Path, passages: int, per_file: float, seed: int = 0) -> int:
    """Write perturbed copies of the sample until about ``passages`` passages; files written."""
    rng = np.random.default_rng(seed)
    sources = sorted(SAMPLE.glob("*.txt"))
    texts = [p.read_text(encoding="utf-8").splitlines() for p in sources]
    n_files = max(1, round(passages / per_file))
    for i in range(n_files):
        lines = texts[i % len(texts)]
        body = "\n".join(perturb(line, rng) for line in lines) + "\n"
        (folder / f"copy{i:06d}-{sources[i % len(sources)].name}").write_text(body, "utf-8")
    return n_files


class StageMemory:
    """Peak RSS per pipeline stage (the stage last announced through ``on_progress``)."""

    def __init__(self) -> None:
        self.stage = "start"
        self.peaks: dict[str, int] = {}
        self.page = os.sysconf("SC_PAGE_SIZE")
        self.stop = threading.Event()

    def rss(self) -> int:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * self.page

    def watch(self) -> None:
        while not self.stop.is_set():
            value = self.rss()
            self.peaks[self.stage] = max(self.peaks.get(self.stage, 0), value)
            time.sleep(0.01)

    def on_progress(self, stage: str, done: int, total: int) -> None:
        self.stage = stage


def measure(size: int, embedder: StaticEmbedder, use_cache: bool) -> dict[str, Any]:
    cfg = load_config(None, ['embed.model="static"'])
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "corpus"
        data.mkdir()
        per_file = 625 / 8  # passages per sample transcript
        start = time.perf_counter()
        files = make_corpus(data, size, per_file)
        generate_s = time.perf_counter() - start
        memory = StageMemory()
        watcher = threading.Thread(target=memory.watch, daemon=True)
        watcher.start()
        load = os.getloadavg()[0]
        start = time.perf_counter()
        cache = EmbeddingCache(Path(tmp) / "cache") if use_cache else None
        result = run([data], cfg, embedder=embedder, cache=cache, on_progress=memory.on_progress)
        wall = time.perf_counter() - start
        memory.stop.set()
        watcher.join()
    return {
        "target": size,
        "files": files,
        "passages": len(result.passages),
        "codes": len(result.codes),
        "generate_s": round(generate_s, 1),
        "wall_s": round(wall, 1),
        "stages_s": result.info.timings_s,
        "peak_rss_mib": {k: v // 2**20 for k, v in memory.peaks.items()},
        "load": [round(load, 2), round(os.getloadavg()[0], 2)],
        "cache": use_cache,
    }


def markdown(rows: list[dict[str, Any]]) -> str:
    stages = ("ingest", "segment", "embed", "cluster", "label", "map")
    lines = [
        "| passages | files | wall s | "
        + " | ".join(f"{s} s" for s in stages)
        + " | peak RSS MiB (stage) | cache | load |",
        "|---" * (len(stages) + 6) + "|",
    ]
    for r in rows:
        peak_stage = max(r["peak_rss_mib"], key=r["peak_rss_mib"].get)
        lines.append(
            f"| {r['passages']:,} | {r['files']} | {r['wall_s']} | "
            + " | ".join(f"{r['stages_s'].get(s, 0):g}" for s in stages)
            + f" | {r['peak_rss_mib'][peak_stage]:,} ({peak_stage}) | "
            f"{'yes' if r['cache'] else 'no'} | {r['load'][0]} -> {r['load'][1]} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", nargs="*", type=int, default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--no-cache", action="store_true", help="embed without the SQLite cache")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    embedder = StaticEmbedder()
    rows = []
    for size in args.sizes:
        rows.append(measure(size, embedder, not args.no_cache))
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
