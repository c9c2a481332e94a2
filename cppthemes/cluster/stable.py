"""Stable codes: measure each code on resamples, and fold the ones that do not come back.

A candidate code is worth an analyst's time when it comes back, with mostly the same passages,
when the corpus is clustered again without a random fifth of it (Hennig 2007, the clusterwise
Jaccard bootstrap). This module holds that measure and one construction built on it:

- ``resample_fits``: the seeded 80% resamples the clusterer is refitted on. Above
  ``STABILITY_POOL`` passages they are drawn from one seeded pool of that size, so any two
  resamples share most of their passages (needed to compare resamples with each other) and ten
  refits stay about a second.
- ``stability``: each code's mean best-match Jaccard against partitions of resamples, compared
  on the passages both saw.
- ``fold_unstable``: the least stable code below the flag threshold is merged into its nearest
  code (by co-association over the resamples: how often the resamples put its passages with
  that code's), re-scored, and so on until every code passes or ``floor`` codes are left.

The score stays honest: the codes of the full corpus are judged against the same construction
rerun on each resample (each resample's Ward partition folded by the same rule, judged against
the other resamples, never against the full run), not against the raw resample partitions nor
against themselves. benchmarks/stable_codes.py also reruns the whole construction on outer
subsamples ("nested"), the strict check that the in-run score tells the truth.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from cppthemes.records import Folded

ABSENT = -2  # a passage the partition did not see (outside its resample)
STABILITY_MAX = 1500
STABILITY_POOL = round(STABILITY_MAX / 0.8)

Fit = Callable[[np.ndarray, int, int], np.ndarray]


@dataclass(frozen=True)
class Fold:
    """One merge: code ``code`` (``size`` passages, stability ``stability``) folded into
    ``into``; ``similarity`` is the co-association (or centre cosine) that chose ``into``.
    Codes are numbered as in the partition before any merge."""

    code: int
    into: int
    size: int
    stability: float
    similarity: float
    members: tuple[int, ...] = ()


def resample_fits(x: np.ndarray, k: int, fit: Fit, resamples: int, seed: int) -> np.ndarray:
    """Labels of ``resamples`` seeded refits, one row each over all passages (ABSENT outside).

    Up to ``STABILITY_POOL`` passages the resamples are 80% of the corpus (what the stability
    check has always drawn, with the same seeds); above it, 80% of one seeded pool of that size.
    ``fit(x, k, seed)`` is the clusterer.
    """
    n = len(x)
    rng = np.random.default_rng(seed)
    pool = np.arange(n)
    if n > STABILITY_POOL:
        pool = np.sort(rng.choice(n, size=STABILITY_POOL, replace=False))
    size = max(2, min(round(len(pool) * 0.8), STABILITY_MAX))
    rows = np.full((resamples, n), ABSENT, dtype=int)
    for r in range(resamples):
        idx = np.sort(rng.choice(pool, size=min(size, len(pool)), replace=False))
        rows[r, idx] = fit(x[idx], min(k, len(idx)), seed + r + 1)
    return rows


def _table(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Contingency of two partitions on the passages both saw; row/column 0 = uncoded."""
    both = (a > ABSENT) & (b > ABSENT)
    aa, bb = a[both] + 1, b[both] + 1
    na, nb = int(a.max(initial=-1)) + 2, int(b.max(initial=-1)) + 2
    return np.bincount(aa * nb + bb, minlength=na * nb).reshape(na, nb)


def _best_jaccard(table: np.ndarray) -> np.ndarray:
    """Per code of the rows, the Jaccard of its best match among the columns' codes."""
    inter = table[1:, 1:].astype(np.float64)
    if inter.size == 0:
        return np.zeros(table.shape[0] - 1)
    rows = table[1:, :].sum(axis=1).astype(np.float64)
    cols = table[:, 1:].sum(axis=0).astype(np.float64)
    union = rows[:, None] + cols[None, :] - inter
    jac = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    return jac.max(axis=1)


def stability(labels: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Mean best-match Jaccard of each code of ``labels`` (0..m-1) against each row of
    ``others``, on the passages both saw; a code absent from a resample scores 0 there."""
    m = int(labels.max(initial=-1)) + 1
    if len(others) == 0:
        return np.full(m, np.nan)
    total = np.zeros(m)
    for row in others:
        best = _best_jaccard(_table(labels, row))
        total[: len(best)] += best
    return total / len(others)


def _co_association(labels: np.ndarray, code: int, others: np.ndarray) -> np.ndarray:
    """For every code j of ``labels``: the share of (passage of ``code``, passage of j) pairs
    that the partitions in ``others`` put in one code, averaged over them."""
    m = int(labels.max(initial=-1)) + 1
    total = np.zeros(m)
    for row in others:
        t = _table(labels, row)[1:, 1:].astype(np.float64)
        sizes = t.sum(axis=1)
        if code >= len(t) or sizes[code] == 0:
            continue
        together = t @ t[code]
        total[: len(t)] += np.divide(
            together, sizes * sizes[code], out=np.zeros_like(together), where=sizes > 0
        )
    return total / max(1, len(others))


def _centre_similarity(labels: np.ndarray, code: int, x: np.ndarray) -> np.ndarray:
    m = int(labels.max(initial=-1)) + 1
    cents = np.zeros((m, x.shape[1]))
    for c in range(m):
        members = x[labels == c]
        if len(members):
            mean = members.mean(axis=0)
            cents[c] = mean / (np.linalg.norm(mean) or 1.0)
    return cents @ cents[code]


def _fold_once(
    labels: np.ndarray,
    others: np.ndarray,
    threshold: float,
    floor: int,
    x: np.ndarray | None,
) -> Fold | None:
    """Merge the least stable code below ``threshold`` into its nearest code (in place)."""
    live = [int(c) for c in np.unique(labels) if c >= 0]
    if len(live) <= max(1, floor):
        return None
    scores = stability(labels, others)
    weak = [c for c in live if scores[c] < threshold]
    if not weak:
        return None
    code = min(weak, key=lambda c: (scores[c], c))
    near = (
        _co_association(labels, code, others) if x is None else _centre_similarity(labels, code, x)
    )
    candidates = [c for c in live if c != code]
    into = max(candidates, key=lambda c: (near[c], -c))
    members = np.flatnonzero(labels == code)
    labels[members] = into
    return Fold(
        code,
        into,
        len(members),
        round(float(scores[code]), 4),
        round(float(near[into]), 4),
        tuple(int(m) for m in members),
    )


def fold_resamples(
    rows: np.ndarray, threshold: float, floor: int, x: np.ndarray | None = None
) -> np.ndarray:
    """The construction rerun on each resample: every resample's partition folded by the same
    rule, each judged against the other resamples (one merge each a round, until none merges).
    ``x`` given: the nearest code by centre cosine instead of co-association."""
    rows = rows.copy()
    if len(rows) < 2:
        return rows
    active = list(range(len(rows)))
    while active:
        still = []
        for r in active:
            others = np.delete(rows, r, axis=0)
            if _fold_once(rows[r], others, threshold, floor, x) is not None:
                still.append(r)
        active = still
    return rows


def fold_held_out(
    labels: np.ndarray,
    rows: np.ndarray,
    threshold: float,
    floor: int,
    x: np.ndarray | None = None,
) -> tuple[np.ndarray, list[Fold], np.ndarray, np.ndarray]:
    """Fold ``labels`` against half the resamples, score the result against the other half.

    Folded together, resamples agree with each other more than with an independent rerun (each
    is judged against the others), so scoring the codes against the resamples that decided
    their folds flatters them (measured: serdif-usability 0.71 in-run against 0.67 for the
    whole construction rerun on outer subsamples). Here the even resamples are folded among
    themselves and decide the folds; the odd ones, folded among themselves and never seen by
    the folding, score the codes. Returns the folded labels (old numbers), the folds, the
    stability per old code number and the scoring resamples.
    """
    decide = fold_resamples(rows[0::2], threshold, floor, x)
    judge = fold_resamples(rows[1::2], threshold, floor, x)
    labels, folds, _ = fold_unstable(labels, decide, threshold, floor, x)
    return labels, folds, stability(labels, judge), judge


def fold_unstable(
    labels: np.ndarray,
    rows: np.ndarray,
    threshold: float,
    floor: int,
    x: np.ndarray | None = None,
) -> tuple[np.ndarray, list[Fold], np.ndarray]:
    """Fold the codes of ``labels`` (-1 uncoded) that do not come back in the folded resamples
    ``rows`` (``fold_resamples``), least stable first, until all pass ``threshold`` or
    ``floor`` codes are left. Returns the folded labels (codes keep their old numbers, with
    gaps), the merges in order, and the final stability per old code number."""
    labels = np.asarray(labels, dtype=int).copy()
    folds = []
    while (fold := _fold_once(labels, rows, threshold, floor, x)) is not None:
        folds.append(fold)
    return labels, folds, stability(labels, rows)


def agreement(labels: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Per passage: the share of the partitions in ``others`` that saw it and put it in the
    cluster that best matches its code there (NaN for uncoded passages or none saw it)."""
    agree = np.zeros(len(labels))
    seen = np.zeros(len(labels))
    coded = labels >= 0
    for row in others:
        table = _table(labels, row)
        inter = table[1:, 1:].astype(np.float64)
        if inter.size == 0:
            continue
        rows = table[1:, :].sum(axis=1).astype(np.float64)
        cols = table[:, 1:].sum(axis=0).astype(np.float64)
        union = rows[:, None] + cols[None, :] - inter
        jac = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        match = jac.argmax(axis=1)
        here = coded & (row > ABSENT)
        agree[here] += row[here] == match[labels[here]]
        seen[here] += 1
    return np.divide(agree, seen, out=np.full(len(labels), np.nan), where=seen > 0)


def cores(labels: np.ndarray, others: np.ndarray, level: float, max_share: float) -> np.ndarray:
    """``labels`` with the coded passages whose ``agreement`` is below ``level`` uncoded, the
    least agreed first, at most ``max_share`` of the coded passages."""
    labels = np.asarray(labels, dtype=int).copy()
    score = agreement(labels, others)
    coded = np.flatnonzero(labels >= 0)
    weak = coded[np.nan_to_num(score[coded], nan=1.0) < level]
    budget = int(max_share * len(coded))
    weak = weak[np.argsort(score[weak], kind="stable")][:budget]
    labels[weak] = -1
    return labels


def core_resamples(rows: np.ndarray, level: float, max_share: float) -> np.ndarray:
    """Each resample's partition reduced to its cores, judged against the other resamples."""
    out = rows.copy()
    for r in range(len(rows)):
        seen = rows[r] > ABSENT
        core = cores(np.where(seen, rows[r], -1), np.delete(rows, r, axis=0), level, max_share)
        out[r] = np.where(seen, core, ABSENT)
    return out


def folds_info(
    folded: Sequence[Folded], passage_ids: Sequence[str], code_ids: Sequence[str]
) -> list[dict[str, Any]]:
    """run.json's record of the folds, in the order they were made: which code each group of
    passages was folded into, its size, its stability as a code of its own and how often the
    resamples put it with that code, and its passages (so the analyst can split it again)."""
    return [
        {
            "into": code_ids[f.into] if 0 <= f.into < len(code_ids) else None,
            "passages": len(f.members),
            "stability": f.stability,
            "together": f.together,
            "passage_ids": [passage_ids[m] for m in f.members if m < len(passage_ids)],
        }
        for f in folded
    ]
