"""Load, at CI size: many files in one folder and one large transcript, with bounded memory.

The full-size figures (2,000 files; a 50 MB transcript) come from the same script,
benchmarks/bench_load.py, run by hand (docs/robustness.md).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

# About 110 s on the 2-core machine: outside the README's test command, run by CI (-m long).
pytestmark = pytest.mark.long

# Peak resident memory of the whole pipeline in a fresh process, with a generous margin over
# the measured ~0.5 GB at this size (Python, numpy, scikit-learn and spaCy alone are ~0.3 GB).
MAX_PEAK_MB = 1000


def test_load_many_files_and_one_large_transcript_bounded_memory() -> None:
    done = subprocess.run(
        [sys.executable, "benchmarks/bench_load.py", "--files", "400", "--chars", "600",
         "--megabytes", "0.3", "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    many, big = report["many_files"], report["one_big_file"]
    assert many["transcripts"] == 400 and many["passages"] > 400
    assert big["transcripts"] == 1 and big["passages"] > 1000
    for scenario in (many, big):
        assert scenario["codes"] >= 4
        assert scenario["peak_rss_mb"] < MAX_PEAK_MB, scenario
