"""Vectors, side by side: translation pairs vs unrelated pairs, and encode speed, both models.

The English/Bokmål pairs are the parallel subset: line i of data/sample/c1-w1-mental-health.txt
and line i of data/sample-nb-parallel/c1-w1-mental-health.txt (participant turns of at least
8 words). A model that understands both languages puts each line nearest its translation.
Speed: the same 200 passages of data/sample encoded by both models in this process, 2 threads,
alternating, best of 2 (ratios are what to read on a shared machine).

    python benchmarks/bench_multilingual_vectors.py
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from cppthemes.embed.embedder import SentenceTransformerEmbedder
from cppthemes.embed.multilingual import MultilingualEmbedder

ROOT = Path(__file__).resolve().parent.parent
NAME = "c1-w1-mental-health.txt"


def pairs() -> tuple[list[str], list[str]]:
    en = (ROOT / "data/sample" / NAME).read_text(encoding="utf-8").splitlines()
    nb = (ROOT / "data/sample-nb-parallel" / NAME).read_text(encoding="utf-8").splitlines()
    out_en, out_nb = [], []
    for a, b in zip(en, nb, strict=False):
        speaker, _, text = a.partition(": ")
        if speaker != "Facilitator" and len(text.split()) >= 8:
            out_en.append(text)
            out_nb.append(b.partition(": ")[2])
    return out_en, out_nb


def main() -> None:
    models = {
        "minilm": SentenceTransformerEmbedder(threads=2),
        "multilingual": MultilingualEmbedder(threads=2),
    }
    en, nb = pairs()
    for key, model in models.items():
        sims = model.encode(en) @ model.encode(nb).T
        off = sims[~np.eye(len(en), dtype=bool)]
        top1 = float((sims.argmax(axis=1) == np.arange(len(en))).mean())
        print(
            f"{key}: {len(en)} translation pairs, mean cosine {np.diag(sims).mean():.3f} vs "
            f"unrelated {off.mean():.3f}; top-1 {top1:.0%}"
        )
    lines = []
    for path in sorted((ROOT / "data/sample").glob("*.txt")):
        lines += [t.partition(": ")[2] for t in path.read_text(encoding="utf-8").splitlines()]
    texts = [t for t in lines if len(t.split()) >= 20][:200]
    best = {k: float("inf") for k in models}
    for _ in range(2):
        for key, model in models.items():
            start = time.perf_counter()
            model.encode(texts)
            best[key] = min(best[key], time.perf_counter() - start)
    for key in models:
        print(
            f"{key}: {len(texts) / best[key]:.1f} passages/s ({len(texts)} passages of 20+ words)"
        )
    print(f"ratio minilm/multilingual: {best['multilingual'] / best['minilm']:.2f}x")


if __name__ == "__main__":
    main()
