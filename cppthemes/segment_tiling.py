"""TextTiling-style topic boundaries over turn vectors (segment.strategy = "topic")."""

from __future__ import annotations

import numpy as np


def depth_boundaries(vectors: np.ndarray, block: int, cutoff: float) -> list[int]:
    """TextTiling boundaries (Hearst 1997) over unit embeddings; returns unit indices.

    The gap before unit ``j`` scores the cosine similarity of the mean vectors of the ``block``
    units on each side; scores are smoothed with a moving average of three gaps, as in
    TextTiling. A gap's depth is how far its score lies below the highest score reached by
    climbing to each side (at the ends of a transcript, one side may not rise: that is
    TextTiling's rule too, and it finds the short openings and closings of meetings). Gaps
    deeper than ``mean + cutoff * std`` of all depths become boundaries, deepest first, at least
    ``block`` units apart, so no inner segment is shorter than the context that scored it.
    """
    n = len(vectors)
    if n < 2:
        return []
    v = np.asarray(vectors, dtype=np.float64)
    raw = np.empty(n - 1)
    for j in range(1, n):
        left = v[max(0, j - block) : j].mean(axis=0)
        right = v[j : j + block].mean(axis=0)
        denom = float(np.linalg.norm(left) * np.linalg.norm(right)) or 1.0
        raw[j - 1] = float(left @ right) / denom
    scores = np.convolve(np.pad(raw, 1, mode="edge"), np.ones(3) / 3, mode="valid")
    depth = np.zeros_like(scores)
    for i in range(len(scores)):
        a = i
        while a > 0 and scores[a - 1] >= scores[a]:
            a -= 1
        b = i
        while b < len(scores) - 1 and scores[b + 1] >= scores[b]:
            b += 1
        depth[i] = (scores[a] - scores[i]) + (scores[b] - scores[i])
    threshold = float(depth.mean() + cutoff * depth.std())
    chosen: list[int] = []
    # Deepest first; ties broken by position, so the result is deterministic.
    for i in sorted(range(len(depth)), key=lambda g: (-depth[g], g)):
        if depth[i] <= threshold or depth[i] <= 1e-9:
            break
        if all(abs(i - c) >= block for c in chosen):
            chosen.append(i)
    return sorted(c + 1 for c in chosen)
