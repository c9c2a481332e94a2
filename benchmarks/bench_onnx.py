"""Embedding speed of the torch default against the ONNX models, back to back in one process.

On exactly the texts the pipeline embeds for each set (``bench_pipeline.texts_of``), each
backend encodes all of them in the pipeline's chunks (``engines.chunks``, 256 texts sorted by
length, batch 32 inside), with the same number of threads. The order of the backends alternates
between rounds, so a machine that gets busier or quieter during the run does not favour one;
the table gives each backend's median, its ratio to torch, the cosine of its vectors to torch's
and the load average before and after each round.

    python benchmarks/bench_onnx.py                        # sample and swda-small, 2 rounds
    python benchmarks/bench_onnx.py --sets swda-small --rounds 4 --threads 1

The ONNX models must be exported first (`cppthemes model export-onnx`, and with
`--no-quantize` for onnx-fp32); a missing one is left out with a note.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
sys.path.insert(0, str(ROOT))

from bench_pipeline import SETS, texts_of  # noqa: E402

from cppthemes.config import load_config  # noqa: E402
from cppthemes.embed.embedder import SentenceTransformerEmbedder  # noqa: E402
from cppthemes.embed.engines import chunks, resolve_threads  # noqa: E402
from cppthemes.embed.onnx_model import FP32_NAME, INT8_NAME, OnnxEmbedder  # noqa: E402
from cppthemes.errors import ModelError  # noqa: E402


def encode_all(embedder: Any, texts: list[str]) -> tuple[np.ndarray, float]:
    """All texts in the pipeline's chunks; the vectors in chunk order and the wall time."""
    start = time.perf_counter()
    vectors = [embedder.encode(part) for part in chunks(texts, 256)]
    return np.vstack(vectors), time.perf_counter() - start


def interleaved(
    backends: dict[str, Any], texts: list[str], rounds: int, label: str
) -> tuple[dict[str, list[float]], dict[str, np.ndarray]]:
    """Each backend encodes ``texts`` once per round, the order reversed every other round (so
    a drifting load favours none); texts/s per round and the last vectors, per backend."""
    for embedder in backends.values():  # warm-up: first-call allocations, page faults
        embedder.encode(texts[:64])
    rates: dict[str, list[float]] = {name: [] for name in backends}
    vectors: dict[str, np.ndarray] = {}
    for round_ in range(rounds):
        names = list(backends) if round_ % 2 == 0 else list(backends)[::-1]
        for name in names:
            before = os.getloadavg()[0]
            vectors[name], wall = encode_all(backends[name], texts)
            rates[name].append(len(texts) / wall)
            print(
                f"  {label} round {round_} {name}: {len(texts) / wall:.1f}/s "
                f"(load {before:.2f} -> {os.getloadavg()[0]:.2f})",
                file=sys.stderr,
                flush=True,
            )
    return rates, vectors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sets", nargs="*", default=["sample", "swda-small"])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=0, help="0 = cores minus load, once")
    args = parser.parse_args()

    threads = resolve_threads(args.threads)
    cfg = load_config(None, [])
    backends: dict[str, Any] = {
        "torch": SentenceTransformerEmbedder(cfg.embed.model, device="cpu", threads=threads)
    }
    for name in (FP32_NAME, INT8_NAME):
        try:
            backends[name] = OnnxEmbedder(name=name, threads=threads)
        except ModelError as exc:
            print(f"left out: {exc}", file=sys.stderr)
    print(f"threads {threads}, load average at start {os.getloadavg()}")
    print("| set | texts | backend | passages/s (median) | rounds | x torch | cosine mean / min |")
    print("|---|---|---|---|---|---|---|")
    for set_name in args.sets:
        texts = texts_of([Path(SETS[set_name]["data"])], cfg, backends["torch"])
        rates, vectors = interleaved(backends, texts, args.rounds, set_name)
        base = statistics.median(rates["torch"])
        for name, got in rates.items():
            cos = (vectors[name] * vectors["torch"]).sum(axis=1)
            median = statistics.median(got)
            print(
                f"| {set_name} | {len(texts)} | {name} | {median:.1f} | "
                f"{' / '.join(f'{r:.0f}' for r in got)} | {median / base:.2f} | "
                f"{cos.mean():.4f} / {cos.min():.4f} |",
                flush=True,
            )
    print(f"load average at end {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
