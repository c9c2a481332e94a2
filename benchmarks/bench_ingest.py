"""Ingest throughput: turns per second on a generated corpus of about 10 MB per format.

``python benchmarks/bench_ingest.py`` writes a synthetic corpus (seeded, so every run reads the
same bytes) into a temporary folder, reads it with `cppthemes.ingest.load_corpus` (decoding,
speaker conventions, roles: everything but the pipeline's later stages) and prints turns/s and
MB/s as JSON (wall clock, best of ``--repeats``; ``turns_per_cpu_s`` from process time, which
a busy machine disturbs less). ``--mb`` sets the size, ``--formats`` which readers to time
(text by default; ``text,vtt,csv,json`` for more). Timings depend on the machine; nothing
here is a unit test.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cppthemes.config import IngestConfig  # noqa: E402
from cppthemes.ingest import load_corpus  # noqa: E402

WORDS = (
    "the", "team", "we", "training", "family", "child", "parent", "session", "week", "clinic",
    "because", "really", "think", "time", "home", "visit", "report", "case", "work", "started",
    "felt", "supervision", "video", "small", "changes", "after", "before", "always", "never",
    "sometimes", "leader", "budget", "notes", "form", "meeting", "[laughs]",
    "[inaudible 00:01:02]", "(crosstalk)",
)  # fmt: skip
SPEAKERS = ["Facilitator", "Anna", "Ben", "Cara", "Dag", "Eli"]
TURNS_PER_FILE = 400


def _turns(rng: random.Random, n: int) -> list[tuple[str, str]]:
    out = []
    for i in range(n):
        speaker = SPEAKERS[0] if i % 4 == 0 else rng.choice(SPEAKERS[1:])
        words = [rng.choice(WORDS) for _ in range(rng.randint(3, 80))]
        out.append((speaker, " ".join(words).capitalize() + ("?" if i % 4 == 0 else ".")))
    return out


def _render(fmt: str, turns: list[tuple[str, str]]) -> str:
    if fmt == "text":
        return "".join(f"{s}: {t}\n" for s, t in turns)
    if fmt == "vtt":
        cues = [
            f"{i}\n00:{i // 60 % 60:02d}:{i % 60:02d}.000 --> 00:{i // 60 % 60:02d}:{i % 60:02d}"
            f".900\n{s}: {t}\n"
            for i, (s, t) in enumerate(turns)
        ]
        return "WEBVTT\n\n" + "\n".join(cues)
    if fmt == "csv":
        return "Speaker,Text\n" + "".join(f'{s},"{t}"\n' for s, t in turns)
    if fmt == "json":
        segments = [{"start": i, "end": i + 0.9, "text": t, "speaker": s} for i, (s, t) in
                    enumerate(turns)]  # fmt: skip
        return json.dumps({"segments": segments})
    raise ValueError(fmt)


def write_corpus(folder: Path, fmt: str, megabytes: float, seed: int = 0) -> tuple[int, int]:
    """Files of ``TURNS_PER_FILE`` turns until ``megabytes`` are written; (files, bytes)."""
    rng = random.Random(seed)
    suffix = {"text": ".txt", "vtt": ".vtt", "csv": ".csv", "json": ".json"}[fmt]
    written = files = 0
    while written < megabytes * 1_000_000:
        data = _render(fmt, _turns(rng, TURNS_PER_FILE)).encode("utf-8")
        (folder / f"group{files:04d}{suffix}").write_bytes(data)
        written += len(data)
        files += 1
    return files, written


def measure(fmt: str, megabytes: float, repeats: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files, size = write_corpus(folder, fmt, megabytes)
        best = best_cpu = float("inf")
        turns = 0
        for _ in range(repeats):
            start, start_cpu = time.perf_counter(), time.process_time()
            corpus = load_corpus([folder], IngestConfig())
            best = min(best, time.perf_counter() - start)
            best_cpu = min(best_cpu, time.process_time() - start_cpu)
            turns = sum(len(t.turns) for t in corpus.transcripts)
    return {
        "format": fmt,
        "files": files,
        "mb": round(size / 1e6, 2),
        "turns": turns,
        "seconds": round(best, 3),
        "cpu_seconds": round(best_cpu, 3),
        "turns_per_s": round(turns / best),
        "turns_per_cpu_s": round(turns / best_cpu),
        "mb_per_s": round(size / 1e6 / best, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=float, default=10.0, help="corpus size per format")
    parser.add_argument("--formats", default="text", help="comma-separated: text,vtt,csv,json")
    parser.add_argument("--repeats", type=int, default=3, help="best of N reads")
    args = parser.parse_args()
    for fmt in args.formats.split(","):
        print(json.dumps(measure(fmt.strip(), args.mb, args.repeats)))


if __name__ == "__main__":
    main()
