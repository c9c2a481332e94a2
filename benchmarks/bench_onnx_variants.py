"""ONNX variants of the packaged MiniLM: speed and closeness to torch, back to back (issue 20).

Builds, in a temporary folder, the float export (``onnx_export.export``) and variants of it:

- ``fp32`` - the plain export (what the default ran before issue 20);
- ``fp32-ort`` - onnxruntime's own graph optimisations (ORT_ENABLE_ALL) applied once and the
  optimised graph saved (the default session applies the same at every load);
- ``fp32-bert`` - onnxruntime.transformers' BERT fusions (Attention, SkipLayerNormalization,
  BiasGelu/FastGelu, EmbedLayerNormalization) in float;
- ``int8-*`` - dynamic int8 quantisations (``onnx_graph.quantize``): the current one
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
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
sys.path.insert(0, str(ROOT))

from bench_onnx import encode_all, interleaved  # noqa: E402
from bench_pipeline import SETS, texts_of  # noqa: E402

from cppthemes.config import load_config  # noqa: E402
from cppthemes.embed import onnx_export, onnx_graph  # noqa: E402
from cppthemes.embed.embedder import SentenceTransformerEmbedder  # noqa: E402
from cppthemes.embed.onnx_model import CONFIG_FILE, MODEL_FILE, OnnxEmbedder  # noqa: E402

VARIANTS = ("fp32", "fp32-ort", "fp32-bert", "int8", "int8-matmul", "int8-matmul-last-ffn")


def build_variant(name: str, target: Path, *, source_dir: Path) -> Path:
    """Write variant ``name`` into ``target`` (the plain float export into ``source_dir``
    first, once); returns the folder holding it."""
    if not (source_dir / MODEL_FILE).is_file():
        onnx_export.export(source_dir, quantize=False)
    if name == "fp32":
        return source_dir
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source_dir, target)
    model, plain = target / MODEL_FILE, target / "source.onnx"
    model.rename(plain)
    if name == "fp32-ort":
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
        options.optimized_model_filepath = str(model)
        options.log_severity_level = 3
        ort.InferenceSession(str(plain), options, providers=["CPUExecutionProvider"])
    elif name == "fp32-bert":
        onnx_graph.bert_fused(plain, model, heads=12, hidden=384)
    elif name.startswith("int8"):
        ops, exclude = (["MatMul"], last_ffn(plain)) if "matmul" in name else (None, [])
        onnx_graph.quantize(plain, model, ops=ops, exclude=exclude if "ffn" in name else [])
    else:
        raise SystemExit(f"unknown variant {name!r} (known: {', '.join(VARIANTS)})")
    plain.unlink()
    config = json.loads((target / CONFIG_FILE).read_text(encoding="utf-8"))
    config.update(name=name, quantized=name.startswith("int8"))
    (target / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return target


def last_ffn(path: Path) -> list[str]:
    """Names of the last encoder layer's feed-forward MatMuls (kept in float by one variant)."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    layers = sorted({n.name.split("/")[3] for n in graph.node if "/encoder/layer." in n.name})
    return [
        n.name
        for n in graph.node
        if n.op_type == "MatMul"
        and f"/{layers[-1]}/" in n.name
        and ("/intermediate/" in n.name or "/output/dense" in n.name)
        and "/attention/" not in n.name
    ]


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
        rates, vectors = interleaved(backends, texts, args.rounds, set_name)
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
