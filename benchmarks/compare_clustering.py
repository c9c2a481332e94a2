"""cppthemes against its peers on human-coded corpora: AMI, coverage, codes, time.

For each corpus: the cppthemes pipeline with its defaults (end to end), BERTopic 0.17 with its
defaults on the same passages and the same embedding model, and k-means told the true number
of human labels (on cppthemes' own vectors). Every method is scored with `cppthemes evaluate`'s
rule: the code of the passage covering each labelled line.

    python benchmarks/compare_clustering.py               # every set found, markdown table
    python benchmarks/compare_clustering.py --sets sample serdif-usability --json

BERTopic is a benchmark-only dependency: `pip install -e ".[bench]"`. Run with a warm
embedding cache for speed; the first run embeds every corpus (several minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sklearn.cluster import KMeans  # noqa: E402

from cppthemes.config import load_config  # noqa: E402
from cppthemes.embed.embedder import (  # noqa: E402
    EmbeddingCache,
    SentenceTransformerEmbedder,
    default_cache_dir,
    embed,
)
from cppthemes.evaluate import read_gold, score  # noqa: E402
from cppthemes.pipeline import run  # noqa: E402
from cppthemes.segment import embedding_texts  # noqa: E402

EVAL = ROOT.parent / "shared" / "eval"
SETS: dict[str, dict[str, Any]] = {
    "sample": {"data": ROOT / "data" / "sample", "gold": ROOT / "data" / "sample" / "gold.jsonl"},
    "serdif-usability": {"data": EVAL / "serdif-usability" / "transcripts"},
    "serdif-usability+preset": {
        "data": EVAL / "serdif-usability" / "transcripts",
        "config": ROOT / "configs" / "think-aloud.toml",
    },
    "swda-small": {"data": EVAL / "swda-small" / "transcripts"},
    "qmsum-small": {"data": EVAL / "qmsum-small" / "transcripts", "per_file": True},
}


def _records(passages: Any, labels: Any) -> list[dict[str, Any]]:
    return [
        {"source": p.source, "line_start": p.line_start, "line_end": p.line_end, "code": code}
        for p, code in zip(passages, labels, strict=True)
    ]


def _score(
    records: list[dict[str, Any]], gold: list[dict[str, Any]], per_file: bool
) -> dict[str, Any]:
    s = score(records, gold, per_file_labels=per_file)
    return {"ami": s.ami, "nmi": s.nmi, "ari": s.ari, "coverage": s.coverage, "codes": s.codes}


def bertopic_codes(texts: list[str], vectors: np.ndarray, model: Any) -> list[str | None]:
    from bertopic import BERTopic

    topics, _ = BERTopic(embedding_model=model).fit_transform(texts, vectors)
    return [None if t < 0 else f"B{t}" for t in topics]


def compare(name: str, spec: dict[str, Any], overrides: list[str], peers: bool) -> dict[str, Any]:
    data = Path(spec["data"])
    gold = read_gold(Path(spec.get("gold", data.parent / "gold.jsonl")))
    per_file = bool(spec.get("per_file", False))
    cfg = load_config(spec.get("config"), overrides)
    embedder = SentenceTransformerEmbedder(cfg.embed.model)
    cache = EmbeddingCache(default_cache_dir())
    out: dict[str, Any] = {"set": name}

    start = time.perf_counter()
    result = run([data], cfg, embedder=embedder, cache=cache)
    wall = time.perf_counter() - start
    passages = result.passages
    own = _score(_records(passages, [result.passage_codes[p.id] for p in passages]), gold, per_file)
    coded = sum(c.size for c in result.codes) / max(1, len(passages))
    out["cppthemes"] = {**own, "passages_coded": round(coded, 3), "seconds": round(wall, 1)}
    out["passages"] = len(passages)
    if not peers:
        return out

    vectors, _ = embed(embedding_texts(passages, cfg.segment), embedder, cache)
    true_k = len({(g["file"] if per_file else "", g["label"]) for g in gold if g.get("label")})
    start = time.perf_counter()
    km = KMeans(n_clusters=true_k, n_init=4, random_state=0).fit_predict(vectors)
    out["kmeans_true_k"] = {
        **_score(_records(passages, [f"K{k}" for k in km]), gold, per_file),
        "k": true_k,
        "seconds": round(time.perf_counter() - start, 1),
    }

    texts = [p.text for p in passages]
    plain, _ = embed(texts, embedder, cache)  # BERTopic's own use: the passage alone
    start = time.perf_counter()
    topics = bertopic_codes(texts, plain, embedder._model)
    outliers = sum(t is None for t in topics) / len(topics)
    out["bertopic"] = {
        **_score(_records(passages, topics), gold, per_file),
        "outliers": round(outliers, 3),
        "seconds": round(time.perf_counter() - start, 1),
    }
    return out


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| set | passages | method | codes | AMI | NMI | ARI | line coverage | seconds |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        for method in ("cppthemes", "bertopic", "kmeans_true_k"):
            if method not in row:
                continue
            m = row[method]
            extra = ""
            if method == "bertopic":
                extra = f" ({m['outliers']:.0%} outliers)"
            if method == "cppthemes":
                extra = f" ({m['passages_coded']:.0%} of passages coded)"
            lines.append(
                f"| {row['set']} | {row['passages']} | {method}{extra} | {m['codes']} | "
                f"{m['ami']:.3f} | {m['nmi']:.3f} | {m['ari']:.3f} | {m['coverage']:.2f} | "
                f"{m['seconds']} |"
            )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sets", nargs="*", default=list(SETS))
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    parser.add_argument("--no-peers", action="store_true", help="cppthemes only")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = []
    for name in args.sets:
        spec = SETS[name]
        if not Path(spec["data"]).exists():
            print(f"skip {name}: {spec['data']} not found", file=sys.stderr)
            continue
        rows.append(compare(name, spec, args.overrides, not args.no_peers))
        print(json.dumps(rows[-1]), file=sys.stderr)
    print(json.dumps(rows, indent=2) if args.json else markdown(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
