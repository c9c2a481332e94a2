"""Texts known in advance, embedded in one call and handed out to the calls that ask for them.

The label stage picks each code's central sentence from a few candidates (quotes.py): one
embedding call per code, about sixty calls of three texts on swda-small. Each call paid for a
model run on a tiny, badly padded batch and for one committed (fsynced) write to the
embedding cache: 4.3 s, and 57 of the run's 75 cache writes, for 175 texts at load 5
(benchmarks/profile_cold.py, docs/benchmarks.md). Gathered, the same texts go to the model in
one call, sorted by length with the rest, and each code reads its rows back.

Whether that gives the same vectors is the model's property, not this module's: the default
runtime (the fused float32 ONNX export) gives every text the same vector bit for bit whatever
its batch-mates, padding and thread count (tests/test_onnx_integration.py checks it). A model
whose vectors depend on their batch (torch's padding kernels, int8's per-batch activation
scales: onnx_model.py runs int8 one text at a time for that reason) gives vectors that differ
from the per-code calls' as a cached vector already does from a freshly computed one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np

Embed = Callable[[Sequence[str]], np.ndarray]


class Gathered:
    """``embed`` called once on ``texts`` (each distinct text once, in first-seen order);
    calling the object returns the rows of the texts asked for. A text not gathered is
    embedded on demand with ``embed`` (and remembered), so a caller is never wrong, only
    slower, when it asks for more than it announced."""

    def __init__(self, embed: Embed, texts: Iterable[str]) -> None:
        self._embed = embed
        self._rows: dict[str, int] = {}
        self._parts: list[np.ndarray] = []
        self._vectors: np.ndarray | None = None
        self._add(list(dict.fromkeys(texts)))

    def _add(self, texts: list[str]) -> None:
        if not texts:
            return
        vectors = np.asarray(self._embed(texts))
        base = len(self._rows)
        self._rows.update((t, base + i) for i, t in enumerate(texts))
        self._parts.append(vectors)
        self._vectors = None

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self._rows))
        self._add(missing)
        if not texts:
            return np.asarray(self._embed([]))
        if self._vectors is None:
            self._vectors = self._parts[0] if len(self._parts) == 1 else np.vstack(self._parts)
            self._parts = [self._vectors]
        return self._vectors[[self._rows[t] for t in texts]]
