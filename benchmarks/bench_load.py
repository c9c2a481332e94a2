"""Load: many transcript files in one folder, and one very large transcript.

Each scenario runs the whole pipeline (ingest -> ... -> run folder written) in a fresh child
process with a cheap deterministic embedder (the tests' FakeEmbedder, 384 dimensions like the
real model), so what is measured is everything but the model's arithmetic: reading, parsing,
segmenting, clustering (on a sample above cluster.max_fit), labelling and writing every output.
The child reports its wall time and peak resident memory (ru_maxrss).

    python benchmarks/bench_load.py                  # 2,000 files, and a 50 MB transcript
    python benchmarks/bench_load.py --files 200 --megabytes 2 --json   # CI size

Generated text: seeded sentences from a small vocabulary, a facilitator question every few
turns, three participants per file.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WORDS = (  # noqa: SIM905 - a word list reads better as text
    "garden soil compost tomatoes beans train platform signals tickets delay soup "
    "garlic onions recipe dinner school teacher homework classroom parents clinic "
    "nurse waiting appointment doctor medicine budget leader meeting staff training "
    "schedule weekend morning evening children family neighbour support trust worry "
    "money time help"
).split()


def _turn(rng: random.Random) -> str:
    n = rng.randint(8, 40)
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def transcript_text(rng: random.Random, chars: int) -> str:
    lines: list[str] = []
    size = 0
    speakers = ["Anna", "Ben", "Cara"]
    while size < chars:
        line = (
            f"Facilitator: What about {rng.choice(WORDS)}?"
            if rng.random() < 0.2
            else f"{rng.choice(speakers)}: {_turn(rng)}"
        )
        lines.append(line)
        size += len(line) + 1
    return "\n".join(lines) + "\n"


def make_many(folder: Path, files: int, chars: int = 3000) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(1)
    for i in range(files):
        (folder / f"t{i:05d}.txt").write_text(transcript_text(rng, chars), encoding="utf-8")
    return folder


def make_big(folder: Path, megabytes: float) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "big.txt"
    rng = random.Random(2)
    with path.open("w", encoding="utf-8") as fh:
        written = 0
        target = int(megabytes * 1_000_000)
        while written < target:
            chunk = transcript_text(rng, 200_000)
            fh.write(chunk)
            written += len(chunk)
    return folder


CHILD = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
from cppthemes.config import load_config
from cppthemes.embed.embedder import EmbeddingCache
from cppthemes.pipeline import run
from cppthemes.runfolder import write_run
from tests.conftest import FakeEmbedder
start = time.perf_counter()
cfg = load_config(None, {overrides!r})
result = run([{corpus!r}], cfg, embedder=FakeEmbedder(dim=384), cache=EmbeddingCache({cache!r}))
write_run(result, cfg, __import__("pathlib").Path({out!r}), [{corpus!r}])
print(json.dumps({{
    "wall_s": round(time.perf_counter() - start, 1),
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
    "transcripts": len(result.transcripts),
    "passages": len(result.passages),
    "codes": len(result.codes),
    "stages_s": result.info.timings_s,
}}))
"""


def measure(corpus: Path, work: Path, overrides: list[str]) -> dict[str, object]:
    code = CHILD.format(
        root=str(ROOT), corpus=str(corpus), cache=str(work / "cache"), out=str(work / "run"),
        overrides=overrides,
    )  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"child failed ({done.returncode}): {done.stderr[-2000:]}")
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    input_bytes = sum(p.stat().st_size for p in corpus.rglob("*") if p.is_file())
    result["input_mb"] = round(input_bytes / 1e6, 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--chars", type=int, default=3000, help="Size of each of the files.")
    parser.add_argument("--megabytes", type=float, default=50.0)
    parser.add_argument("--set", action="append", default=[], help="Setting overrides.")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    report: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        start = time.perf_counter()
        many = make_many(base / "many", args.files, args.chars)
        report["many_files"] = {
            "files": args.files,
            "generate_s": round(time.perf_counter() - start, 1),
            **measure(many, base / "w1", args.set),
        }
        start = time.perf_counter()
        big = make_big(base / "big", args.megabytes)
        report["one_big_file"] = {
            "megabytes": args.megabytes,
            "generate_s": round(time.perf_counter() - start, 1),
            **measure(big, base / "w2", args.set),
        }
    report["machine_cpus"] = len(__import__("os").sched_getaffinity(0))
    report["parent_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(json.dumps(report, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
