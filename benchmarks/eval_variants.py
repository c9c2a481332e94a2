"""Is an int8 variant of the packaged model "equal" to the float default? (issue 20)

Per set (data/sample and each shared evaluation set found), the pipeline runs once with the
float export and once with each variant (``pipeline.run``, default settings, each variant's
own vectors), and the rule in ``cppthemes/embed/agreement.py`` is applied:

1. paired bootstrap (500 resamples of the labelled lines) of AMI(variant) - AMI(fp32):
   its 95% interval must contain 0;
2. |AMI(variant) - AMI(fp32)| must not exceed the fp32 pipeline's noise floor on that set:
   the standard deviation of its AMI over 10 refits of the code clustering on 80% resamples
   of the passages (the fp32 vectors, the run's procedural bin left uncoded as in the run).

Variants are the folders ``bench_onnx_variants.py --keep DIR`` wrote (DIR/fp32, DIR/int8...).

    python benchmarks/bench_onnx_variants.py --keep artifacts/onnx-variants --rounds 1
    python benchmarks/eval_variants.py artifacts/onnx-variants --variants int8 int8-matmul
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from compare_clustering import SETS  # noqa: E402

from cppthemes.cluster.codes import cluster  # noqa: E402
from cppthemes.config import load_config  # noqa: E402
from cppthemes.embed import agreement  # noqa: E402
from cppthemes.embed.embedder import EmbeddingCache, embed_chunked  # noqa: E402
from cppthemes.embed.onnx_model import OnnxEmbedder  # noqa: E402
from cppthemes.evaluate import UNCODED, _find, _names, read_gold, score  # noqa: E402
from cppthemes.pipeline import run  # noqa: E402
from cppthemes.segment import embedding_chunks, spacy_sentences  # noqa: E402

REFITS = 10
SHARE = 0.8


class Timed:
    """The embedder, recording each encode call's text count and seconds (passages come first:
    the embed stage's chunks, then the label stage's keyphrase candidates and sentences)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.calls: list[tuple[int, float, int]] = []  # texts, seconds, characters

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def encode(self, texts: Any) -> Any:
        start = time.perf_counter()
        out = self._inner.encode(texts)
        self.calls.append((len(texts), time.perf_counter() - start, sum(map(len, texts))))
        return out

    def split(self, other: int) -> dict[str, Any]:
        """Texts and seconds of the passage calls and of the last ``other`` texts (label's)."""
        out = {
            "passage_texts": 0,
            "passage_s": 0.0,
            "other_texts": 0,
            "other_s": 0.0,
            "other_calls": 0,
        }
        left = other
        for n, s, _ in reversed(self.calls):
            if left > 0:
                left -= n
                out["other_texts"] += n
                out["other_s"] += s
                out["other_calls"] += 1
            else:
                out["passage_texts"] += n
                out["passage_s"] += s
        return {k: round(v, 2) if isinstance(v, float) else v for k, v in out.items()}


def line_codes(
    passages: Any, codes: dict[str, str | None], gold: list[dict[str, Any]], per_file: bool
) -> tuple[list[str], list[str]]:
    """Gold label and found code of every labelled line, as ``evaluate.score`` pairs them."""
    by_line: dict[tuple[str, int], str] = {}
    for p in passages:
        for line in range(p.line_start, p.line_end + 1):
            by_line[(p.source, line)] = codes.get(p.id) or UNCODED
    names = _names(p.source for p in passages)
    truth, found = [], []
    for g in gold:
        if g.get("label") is None:
            continue
        name = str(g["file"])
        truth.append(f"{name}\0{g['label']}" if per_file else str(g["label"]))
        matched = _find(names, name)
        found.append(by_line.get((matched, int(g["line"])), UNCODED) if matched else UNCODED)
    return truth, found


def refit_amis(
    result: Any,
    embedder: Any,
    cache: EmbeddingCache,
    cfg: Any,
    gold: list[dict[str, Any]],
    per_file: bool,
) -> tuple[float, list[float]]:
    """AMI of the clustering on all passages, and of REFITS refits on SHARE of them."""
    sentences = spacy_sentences(cfg.label.language)
    chunks = embedding_chunks(
        result.passages, cfg.segment, count_tokens=embedder.count_tokens, sentencizer=sentences
    )
    vectors, _ = embed_chunked(chunks, embedder, cache)
    ccfg = cfg.cluster.model_copy(update={"stability_resamples": 0})
    info = result.info if isinstance(result.info, dict) else dataclasses.asdict(result.info)
    binned = set(info.get("procedural", {}).get("passage_ids", []))
    passages = list(result.passages)

    def ami_of(idx: np.ndarray) -> float:
        exclude = np.array([passages[i].id in binned for i in idx], dtype=bool)
        labels = cluster(vectors[idx], ccfg, exclude=exclude).labels
        chosen = [passages[i] for i in idx]
        codes = {p.id: (str(c) if c >= 0 else None) for p, c in zip(chosen, labels, strict=True)}
        covered = {(p.source, line) for p in chosen for line in range(p.line_start, p.line_end + 1)}
        names = _names(p.source for p in chosen)
        sub = [
            g
            for g in gold
            if g.get("label") is not None
            and (_find(names, str(g["file"])), int(g["line"])) in covered
        ]
        truth, found = line_codes(chosen, codes, sub, per_file)
        return agreement.ami(truth, found)

    everything = ami_of(np.arange(len(passages)))
    rng = np.random.default_rng(cfg.cluster.seed)
    amis = [
        ami_of(np.sort(rng.choice(len(passages), int(SHARE * len(passages)), replace=False)))
        for _ in range(REFITS)
    ]
    return everything, amis


def evaluate_set(
    name: str,
    spec: dict[str, Any],
    folders: dict[str, Path],
    cache: EmbeddingCache,
    threads: int,
    resamples: int,
) -> dict[str, Any]:
    data = Path(spec["data"])
    gold = read_gold(Path(spec.get("gold", data.parent / "gold.jsonl")))
    per_file = bool(spec.get("per_file", False))
    cfg = load_config(spec.get("config"), [])
    out: dict[str, Any] = {"set": name}
    lines: dict[str, list[str]] = {}
    truth: list[str] = []
    fp32_result: Any = None
    fp32_embedder: Any = None
    for variant, folder in folders.items():
        embedder: Any = Timed(OnnxEmbedder(folder, name=variant, threads=threads))
        start = time.perf_counter()
        result = run([data], cfg, embedder=embedder, cache=cache)
        other = int((result.info.embeddings or {}).get("other_texts_embedded") or 0)
        wall = time.perf_counter() - start
        truth, lines[variant] = line_codes(result.passages, result.passage_codes, gold, per_file)
        records = [
            {
                "source": p.source,
                "line_start": p.line_start,
                "line_end": p.line_end,
                "code": result.passage_codes[p.id],
            }
            for p in result.passages
        ]
        checked = score(records, gold, per_file_labels=per_file).ami
        out[variant] = {
            "ami": round(agreement.ami(truth, lines[variant]), 4),
            "ami_evaluate": checked,
            "codes": len(result.codes),
            "seconds": round(wall, 1),
            "encode_calls": embedder.split(other),
        }
        print(f"{name} {variant}: {out[variant]}", file=sys.stderr, flush=True)
        if variant == "fp32":
            fp32_result, fp32_embedder = result, embedder
    everything, amis = refit_amis(fp32_result, fp32_embedder, cache, cfg, gold, per_file)
    floor = agreement.noise_floor(amis)
    out["fp32_refit"] = {"all": round(everything, 4), "refits": [round(a, 4) for a in amis]}
    out["noise_floor"] = floor
    for variant in folders:
        if variant == "fp32":
            continue
        paired = agreement.paired_bootstrap(
            truth, lines["fp32"], lines[variant], resamples=resamples
        )
        v = agreement.verdict(paired, floor)
        out[variant]["paired"] = dataclasses.asdict(paired)
        out[variant]["equal"] = v.equal
        print(
            f"{name} {variant}: {paired} floor {floor} equal {v.equal}", file=sys.stderr, flush=True
        )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("variants_dir", type=Path)
    parser.add_argument("--variants", nargs="*", default=["int8"])
    parser.add_argument(
        "--sets", nargs="*", default=["sample", "swda-small", "serdif-usability", "qmsum-small"]
    )
    parser.add_argument("--cache", type=Path, default=ROOT / "artifacts" / "variant-cache")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--resamples", type=int, default=agreement.BOOTSTRAP_RESAMPLES)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    folders = {"fp32": args.variants_dir / "fp32"}
    folders.update({v: args.variants_dir / v for v in args.variants})
    cache = EmbeddingCache(args.cache)
    rows = []
    for name in args.sets:
        spec = SETS[name]
        if not Path(spec["data"]).exists():
            print(f"skip {name}: {spec['data']} not found", file=sys.stderr)
            continue
        rows.append(evaluate_set(name, spec, folders, cache, args.threads, args.resamples))
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    print("| set | variant | AMI fp32 | AMI variant | delta | 95% interval | noise floor | equal |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        for variant in args.variants:
            p = r[variant]["paired"]
            print(
                f"| {r['set']} | {variant} | {r['fp32']['ami']:.3f} | {r[variant]['ami']:.3f} | "
                f"{p['delta']:+.3f} | [{p['low']:+.3f}, {p['high']:+.3f}] | "
                f"{r['noise_floor']:.3f} | "
                f"{'yes' if r[variant]['equal'] else 'no'} |"
            )
    for variant in args.variants:
        ok = all(r[variant]["equal"] for r in rows)
        print(f"{variant}: {'equal on every set' if ok else 'not equal on every set'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
