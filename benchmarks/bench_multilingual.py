"""Which model for which language: agreement with the planted topics, and speed, side by side.

Runs the `cppthemes` CLI (cold embedding cache each time, so wall time is what a first run
costs) on:
- data/sample (English) with the default model and with the multilingual one;
- data/sample-nb (Bokmål) with both;
- the parallel subset: data/sample-nb-parallel (Bokmål) and the same 60 lines of English,
  reporting the ARI between the two runs' partitions of the same transcript lines.

    python benchmarks/bench_multilingual.py            # about 5-8 minutes on 2 cores
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sklearn.metrics import adjusted_rand_score

from cppthemes.evaluate import read_gold, score

ROOT = Path(__file__).resolve().parent.parent
MODELS = {"minilm": "all-MiniLM-L6-v2", "multilingual": "multilingual"}


def run(corpus: Path, model: str, out: Path, language: str) -> tuple[float, dict, list[dict]]:
    with tempfile.TemporaryDirectory() as cache:
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "cppthemes", "run", str(corpus), "--out", str(out), "-q",
             "--model", model, "--cache-dir", cache, "--set", f'label.language="{language}"'],
            check=True, cwd=ROOT,
        )  # fmt: skip
        wall = time.perf_counter() - start
    info = json.loads((out / "run.json").read_text(encoding="utf-8"))
    passages = [json.loads(line) for line in (out / "passages.jsonl").open(encoding="utf-8")]
    return wall, info, passages


def codes_by_line(passages: list[dict]) -> dict[int, str]:
    return {
        line: p["code"] or "-"
        for p in passages
        for line in range(int(p["line_start"]), int(p["line_end"]) + 1)
    }


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-multilingual-"))
    rows = []
    for corpus, language in ((ROOT / "data/sample", "en"), (ROOT / "data/sample-nb", "nb")):
        gold = read_gold(corpus / "gold.jsonl")
        for key, model in MODELS.items():
            wall, info, passages = run(corpus, model, work / f"{corpus.name}-{key}", language)
            s = score(passages, gold)
            n = info["embeddings"]["pieces"]
            embed_s = info["timings_s"]["embed"]
            rows.append(
                f"| {corpus.name} | {key} | {s.ami:.3f} | {s.codes} | {len(passages)} | "
                f"{embed_s:.1f} s ({n / embed_s:.0f}/s) | {wall:.1f} s |"
            )
    print("| corpus | model | AMI | codes | passages | embed stage | CLI wall |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))

    english = work / "parallel-en"
    english.mkdir()
    name = "c1-w1-mental-health.txt"
    lines = (ROOT / "data/sample" / name).read_text(encoding="utf-8").splitlines()[:60]
    (english / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    for key, model in MODELS.items():
        _, _, en = run(english, model, work / f"par-en-{key}", "en")
        _, _, nb = run(ROOT / "data/sample-nb-parallel", model, work / f"par-nb-{key}", "nb")
        a, b = codes_by_line(en), codes_by_line(nb)
        shared = sorted(set(a) & set(b))
        ari = adjusted_rand_score([a[i] for i in shared], [b[i] for i in shared])
        gold = read_gold(ROOT / "data/sample-nb-parallel/gold.jsonl")
        print(
            f"parallel subset, {key}: ARI English vs Bokmål partitions {ari:.3f} over "
            f"{len(shared)} shared lines; AMI with gold en {score(en, gold).ami:.3f}, "
            f"nb {score(nb, gold).ami:.3f}"
        )


if __name__ == "__main__":
    main()
