"""Long fuzz runs: the fuzz tests with many more examples, and the kill test many times.

CI runs the same tests at their small default size (tests/test_fuzz.py,
tests/test_ingest_robust.py, tests/test_interrupt.py) and this script with a short budget:

    python scripts/fuzz.py --scale 50            # ~50x the CI examples of every fuzz test
    python scripts/fuzz.py --kills 40            # 40 random SIGINT/SIGKILL of a real run
    python scripts/fuzz.py --scale 2 --kills 4   # what CI runs

It prints how many inputs each fuzz test tried (Hypothesis statistics) and the kill summary,
the figures quoted in docs/robustness.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FUZZ_TESTS = ["tests/test_fuzz.py", "tests/test_ingest_robust.py"]


def fuzz(scale: float) -> dict[str, object]:
    env = {**os.environ, "CPPTHEMES_FUZZ_SCALE": str(scale)}
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "",
         "--hypothesis-show-statistics", *FUZZ_TESTS],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    counts = re.findall(r"- (\d+) passing, (\d+) failing", done.stdout)
    tried = [int(p) for p, _ in counts]
    failing = [int(f) for _, f in counts]
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-500:]
    return {
        "scale": scale,
        "fuzzed_tests": len(tried),
        "inputs_tried": sum(tried) + sum(failing),
        "failing_inputs": sum(failing),
        "pytest": summary,
        "returncode": done.returncode,
        "seconds": round(time.perf_counter() - start, 1),
    }


def kills(times: int, seed: int) -> dict[str, object]:
    from cppthemes.config import Config
    from cppthemes.pipeline import run
    from cppthemes.runfolder import write_run
    from tests.conftest import FakeEmbedder, write_corpus
    from tests.interrupt import kill_runs

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        first = write_corpus(base / "first", n_files=2)
        second = write_corpus(base / "second", n_files=6, manifest=False)
        out = base / "run"
        result = run([first], Config(), embedder=FakeEmbedder())
        write_run(result, Config(), out, [str(first)])
        # One uninterrupted run first (into a scratch folder, own cache) sets the range of the
        # random delays, so kills land in every stage on this machine, however loaded.
        start = time.perf_counter()
        timing = kill_runs(second, base / "scratch", base / "scratch-cache", times=1, seed=seed,
                           max_delay=600.0, signals=())  # fmt: skip
        full_run_s = time.perf_counter() - start
        assert timing.finished_first == 1
        start = time.perf_counter()
        report = kill_runs(
            second,
            out,
            base / "cache",
            times=times,
            seed=seed,
            max_delay=full_run_s * 1.1,
            fresh_cache=True,
        )
    bad = [s for s in report.states if s != "complete"]
    return {
        "runs_started": times,
        "uninterrupted_run_s": round(full_run_s, 1),
        "killed": report.kills,
        "by_signal": report.by_signal,
        "finished_before_the_kill": report.finished_first,
        "folders_not_complete_after_a_kill": len(bad),
        "problems": sorted(set(bad)),
        "passages": 72,
        "cached_vectors_after_each": report.cached_after,
        "killed_mid_embedding": sum(1 for n in report.cached_after if 0 < n < 72),
        "seconds": round(time.perf_counter() - start, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=0, help="Fuzz examples x this (0: skip).")
    parser.add_argument("--kills", type=int, default=0, help="Random kills of a real run.")
    parser.add_argument("--seed", type=int, default=20261127)
    args = parser.parse_args()
    report: dict[str, object] = {}
    if args.scale:
        report["fuzz"] = fuzz(args.scale)
    if args.kills:
        report["kills"] = kills(args.kills, args.seed)
    print(json.dumps(report, indent=2))
    failed = (args.scale and report["fuzz"]["returncode"] != 0) or (  # type: ignore[index]
        args.kills and report["kills"]["folders_not_complete_after_a_kill"]  # type: ignore[index]
    )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
