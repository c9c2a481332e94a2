"""ONNX variants of the packaged MiniLM: speed and closeness to torch, back to back (issue 20).

Builds, in a temporary folder, the float export (``onnx_export.export``) and variants of it:

- ``fp32`` - the plain export (what the default ran before issue 20);
- ``fp32-ort`` - onnxruntime's own graph optimisations (ORT_ENABLE_ALL) applied once and the
  optimised graph saved (the default session applies the same at every load);
- ``fp32-bert`` - onnxruntime.transformers' BERT fusions (Attention, SkipLayerNormalization,
  BiasGelu/FastGelu, EmbedLayerNormalization) in float;
- ``int8-*`` - dynamic int8 quantisations (``onnx_export.quantize_variant``): the current one
  (every default operator, the word-embedding Gather included), MatMul weights only, and MatMul
  only with the last layer's feed-forward kept in float.

Every variant encodes exactly the texts a cold run embeds (``bench_pipeline.texts_of``), in
the pipeline's chunks, order reversed every round; the table gives passages/s (median), ratio
to ``fp32``, and the vectors' max abs difference and cosine (mean / min) to torch's.

    python benchmarks/bench_onnx_variants.py --sets sample swda-small --rounds 2 --threads 2
    python benchmarks/bench_onnx_variants.py --keep artifacts/onnx-variants   # keep the models
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
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
from cppthemes.embed.engines import chunks  # noqa: E402
from cppthemes.embed.onnx_export import VARIANTS, build_variant  # noqa: E402
from cppthemes.embed.onnx_model import OnnxEmbedder  # noqa: E402


def encode_all(embedder: Any, texts: list[str]) -> tuple[np.ndarray, float]:
    """All texts in the pipeline's chunks; the vectors in chunk order and the wall time."""
    start = time.perf_counter()
    vectors = [embedder.encode(part) for part in chunks(texts, 256)]
    return np.vstack(vectors), time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sets", nargs="*", default=["sample", "swda-small"])
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS))
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--limit", type=int, default=0, help="first N texts of each set")
    parser.add_argument("--keep", type=Path, default=None, help="keep the variants here")
    args = parser.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="onnx-variants-"))
    work.mkdir(parents=True, exist_ok=True)
    built: dict[str, Path] = {}
    for name in args.variants:
        start = time.perf_counter()
        built[name] = build_variant(name, work / name, source_dir=work / "fp32")
        print(f"built {name} in {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
    cfg = load_config(None, [])
    torch_model = SentenceTransformerEmbedder(cfg.embed.model, device="cpu", threads=args.threads)
    backends = {n: OnnxEmbedder(p, threads=args.threads, name=n) for n, p in built.items()}
    print(f"threads {args.threads}, load average at start {os.getloadavg()}")
    print(
        "| set | texts | variant | passages/s (median) | rounds | x fp32 | max abs diff "
        "| cosine mean / min |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for set_name in args.sets:
        texts = texts_of([Path(SETS[set_name]["data"])], cfg, torch_model)
        if args.limit:
            texts = texts[: args.limit]
        reference, _ = encode_all(torch_model, texts)
        for embedder in backends.values():  # warm-up: first-call allocations, page faults
            embedder.encode(texts[:64])
        rates: dict[str, list[float]] = {name: [] for name in backends}
        vectors: dict[str, np.ndarray] = {}
        for round_ in range(args.rounds):
            names = list(backends) if round_ % 2 == 0 else list(backends)[::-1]
            for name in names:
                before = os.getloadavg()[0]
                vectors[name], wall = encode_all(backends[name], texts)
                rates[name].append(len(texts) / wall)
                print(
                    f"  {set_name} round {round_} {name}: {len(texts) / wall:.1f}/s "
                    f"(load {before:.2f} -> {os.getloadavg()[0]:.2f})",
                    file=sys.stderr,
                    flush=True,
                )
        base = statistics.median(rates.get("fp32") or next(iter(rates.values())))
        for name, got in rates.items():
            cos = (vectors[name] * reference).sum(axis=1)
            diff = float(np.abs(vectors[name] - reference).max())
            median = statistics.median(got)
            print(
                f"| {set_name} | {len(texts)} | {name} | {median:.1f} | "
                f"{' / '.join(f'{r:.0f}' for r in got)} | {median / base:.2f} | {diff:.2e} | "
                f"{cos.mean():.4f} / {cos.min():.4f} |",
                flush=True,
            )
    print(f"load average at end {os.getloadavg()}")
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
