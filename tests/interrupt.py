"""Kill `cppthemes run` at random moments and check that nothing is lost (shared by
tests/test_interrupt.py, a few kills in CI, and scripts/kill_runs.py, many).

After every kill the run folder must hold one complete run: every output file matches the
SHA-256 that the same run's run.json recorded for it (the earlier run's, or the new one's
if it finished first). The embedding cache keeps every batch finished before the kill.
"""

from __future__ import annotations

import hashlib
import json
import random
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def folder_state(out: Path) -> str:
    """'complete' when every output matches run.json's hashes, else what is wrong."""
    try:
        run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return f"run.json unreadable ({type(exc).__name__})"
    for name, digest in (run.get("outputs") or {}).items():
        path = out / name
        if not path.is_file():
            return f"{name} missing"
        if hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            return f"{name} does not belong to run.json's run"
    return "complete" if run.get("outputs") else "run.json lists no outputs"


def cached_vectors(cache: Path) -> int:
    path = cache / "embeddings.sqlite3"
    if not path.is_file():
        return 0
    with sqlite3.connect(path) as conn:
        try:
            return int(conn.execute("SELECT COUNT(*) FROM vectors_v2").fetchone()[0])
        except sqlite3.OperationalError:
            return 0


@dataclass
class KillReport:
    kills: int = 0
    finished_first: int = 0
    by_signal: dict[str, int] = field(default_factory=dict)
    states: list[str] = field(default_factory=list)
    cached_after: list[int] = field(default_factory=list)


def kill_runs(
    corpus: Path,
    out: Path,
    cache: Path,
    *,
    times: int,
    seed: int,
    max_delay: float = 5.0,
    signals: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGKILL),
    fresh_cache: bool = False,
) -> KillReport:
    """Start `cppthemes run` ``times`` times and kill each after a random delay.

    With ``fresh_cache`` each run gets an empty cache of its own, so ``cached_after`` shows
    how much each killed run had kept (a run killed while embedding keeps its whole batches).
    """
    rng = random.Random(seed)
    report = KillReport()
    for i in range(times):
        run_cache = cache / f"run{i}" if fresh_cache else cache
        cmd = [sys.executable, "-m", "tests.slow_cli", "run", str(corpus), "--out", str(out),
               "--cache-dir", str(run_cache), "-q"]  # fmt: skip
        sig = signals[i % len(signals)] if signals else None
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if sig is None:  # no signal: wait for the run to finish (a timing run)
            proc.wait(timeout=max_delay)
        else:
            deadline = time.monotonic() + rng.uniform(0.2, max_delay)
            while time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.05)
        finished = proc.poll() is not None
        if not finished and sig is not None:
            proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=120)
        if finished:
            report.finished_first += 1
        else:
            report.kills += 1
            report.by_signal[sig.name] = report.by_signal.get(sig.name, 0) + 1
            if sig == signal.SIGINT and b"Traceback" in stderr:
                report.states.append("SIGINT printed a traceback")
        report.states.append(folder_state(out))
        report.cached_after.append(cached_vectors(run_cache))
    return report
