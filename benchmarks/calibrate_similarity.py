"""Measure the multilingual model's cosine scale against MiniLM's (quantile matching).

The pipeline's similarity settings (cluster.min_similarity, cluster.seed_threshold,
codebook.match_similarity, themes.distance_threshold, label.weak_*) were chosen on
all-MiniLM-L6-v2's cosine scale. multilingual-e5-small's cosines are bunched high, so the same
number means something else. This script embeds the same English passages with both models,
takes every pair's cosine, and fits s_e5 = offset + slope * s_minilm through the matched
quantiles (1st to 99th percentile) of the two distributions: a threshold at quantile q of
MiniLM's pairs moves to quantile q of e5's. Prints the fit per corpus and pooled.

    python benchmarks/calibrate_similarity.py data/sample
        ../shared/eval/serdif-usability/transcripts ../shared/eval/swda-small/transcripts
"""

from __future__ import annotations

import random
import re
import sys
from pathlib import Path

import numpy as np

from cppthemes.embed.embedder import SentenceTransformerEmbedder
from cppthemes.embed.multilingual import MultilingualEmbedder

TURN = re.compile(r"^\s*([^:\n]{1,40}):\s+(.+)$")


def turns(folder: Path, limit: int = 400) -> list[str]:
    """Participant turns of at least 8 words (the facilitator's are left out)."""
    out = []
    for path in sorted(folder.glob("*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            m = TURN.match(line)
            text = m.group(2) if m else line.strip()
            if m and m.group(1).lower().startswith(("facilitator", "interviewer", "moderator")):
                continue
            if len(text.split()) >= 8:
                out.append(text)
    random.Random(0).shuffle(out)
    return out[:limit]


def pair_sims(vectors: np.ndarray) -> np.ndarray:
    sims = vectors @ vectors.T
    return sims[np.triu_indices(len(vectors), k=1)]


def fit(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    qs = np.linspace(1, 99, 99)
    qa, qb = np.percentile(a, qs), np.percentile(b, qs)
    slope, offset = np.polyfit(qa, qb, 1)
    resid = float(np.abs(offset + slope * qa - qb).max())
    return float(offset), float(slope), resid


def main(folders: list[str]) -> None:
    mini = SentenceTransformerEmbedder(threads=2)
    e5 = MultilingualEmbedder(threads=2)
    pooled_a, pooled_b = [], []
    for folder in folders:
        texts = turns(Path(folder))
        a = pair_sims(mini.encode(texts))
        b = pair_sims(e5.encode(texts))
        pooled_a.append(a)
        pooled_b.append(b)
        off, slope, resid = fit(a, b)
        print(
            f"{folder}: {len(texts)} passages; MiniLM pairs mean {a.mean():.3f}, e5 mean "
            f"{b.mean():.3f}; e5 = {off:.4f} + {slope:.4f} * MiniLM "
            f"(max quantile error {resid:.4f})"
        )
    off, slope, resid = fit(np.concatenate(pooled_a), np.concatenate(pooled_b))
    print(f"pooled: e5 = {off:.4f} + {slope:.4f} * MiniLM (max quantile error {resid:.4f})")
    for name, t in (
        ("cluster.min_similarity", 0.2),
        ("cluster.seed_threshold", 0.5),
        ("codebook.match_similarity", 0.7),
        ("label.weak_coherence", 0.5),
    ):
        print(f"  {name} {t} -> {off + slope * t:.3f}")


if __name__ == "__main__":
    main(sys.argv[1:] or ["data/sample"])
