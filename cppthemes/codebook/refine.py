"""Apply an analyst's codebook to a run: anchors first, induction for the rest, stable ids.

Kept, renamed, merged, split and seeded codes become anchors: their centre vectors (from their
passages' embeddings, or from embedded example phrases) are passed to ``cluster`` as seeds, so
passages close to them are assigned there first. Discarded codes are anchors too, whose
passages are then left uncoded, so that induction does not simply find them again. The rest
is clustered inductively; each new cluster is matched one-to-one to a previous candidate code
by centroid (Hungarian matching above ``codebook.match_similarity``) and takes its id, or gets
a new id. Ids are never reused. Every decision is recorded as an audit event, including the
ones that could not be applied.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from cppthemes.cluster.codes import centroids, cluster
from cppthemes.codebook.anchors import (
    Book,
    Candidate,
    Encode,
    apply_discards,
    apply_keeps,
    apply_merges,
    apply_seeds,
    apply_splits,
    code_number,
)
from cppthemes.codebook.decisions import Plan, Previous, SeedSpec
from cppthemes.config import Config
from cppthemes.records import Assignment, AuditEvent, CodeStatus, Passage


@dataclass(frozen=True)
class Fixed:
    """The fields of a code that the analyst (or a framework) fixed."""

    label: str
    description: str
    status: CodeStatus
    examples: tuple[str, ...] = ()


@dataclass
class Outcome:
    """Codes as clusters: per passage a code index (-1 = uncoded), and each code's fields."""

    labels: np.ndarray
    assignment: Assignment
    ids: list[str]
    fixed: dict[str, Fixed]  # code id -> fields the analyst fixed (label, status...)
    previous_rows: dict[str, frozenset[int]]
    events: list[AuditEvent] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    discarded: list[dict[str, Any]] = field(default_factory=list)
    successors: dict[str, list[str]] = field(default_factory=dict)
    centres: dict[str, np.ndarray] = field(default_factory=dict)  # anchors' seed vectors


def cluster_around_anchors(
    book: Book,
    cfg: Config,
    candidates: Sequence[Candidate],
    exclude: np.ndarray | None = None,
) -> tuple[np.ndarray, Assignment]:
    """Cluster index per passage: anchors are clusters 0..n-1, induction numbers the rest.

    An anchor keeps the passages it had (the analyst stood behind them); only the other
    passages are clustered, with the anchors as seeds, so new data can still join them.
    ``exclude`` (the procedural bin) leaves those of the other passages uncoded, as in a
    plain run.
    """
    pinned = np.full(len(book.passages), -1, dtype=int)
    for k, a in enumerate(book.anchors):
        for row in sorted(a.old_rows):
            if pinned[row] < 0:
                pinned[row] = k
    free = np.flatnonzero(pinned < 0)
    seeds = np.vstack([a.centre for a in book.anchors]) if book.anchors else None
    ccfg = cfg.cluster
    if candidates and not ccfg.n_codes and len(free) >= len(candidates):
        # As many inductive codes as the previous run had candidates: the same granularity,
        # so each can be found again (the anchors' passages no longer count towards it).
        ccfg = ccfg.model_copy(update={"n_codes": len(candidates)})
    skip = None if exclude is None or len(exclude) != len(pinned) else exclude[free]
    sub = cluster(book.vectors[free], ccfg, seeds=seeds, exclude=skip)
    labels = pinned.copy()
    labels[free] = np.asarray(sub.labels, dtype=int)
    n_clusters = max(sub.n_clusters, len(book.anchors))
    folded = tuple(  # the folded groups' passages, as positions among all passages
        replace(f, members=tuple(int(free[m]) for m in f.members)) for f in sub.folded
    )
    return labels, replace(
        sub, labels=tuple(int(v) for v in labels), n_clusters=n_clusters, folded=folded
    )


def match_ids(
    labels: np.ndarray,
    cents: np.ndarray,
    inductive: Sequence[int],
    candidates: Sequence[Candidate],
    floor: float,
) -> dict[int, str]:
    """Inductive cluster -> the id of the previous candidate code it is found again as.

    First by shared passages (Jaccard >= 0.5 is one-to-one in practice), then the rest by
    centroid cosine above ``floor`` (codebook.match_similarity); both one-to-one (Hungarian).
    """
    match: dict[int, str] = {}
    if not inductive or not candidates:
        return match
    # Imported here: scipy.optimize took about a second of every run's start-up.
    from scipy.optimize import linear_sum_assignment

    members = [frozenset(np.flatnonzero(labels == k).tolist()) for k in inductive]
    overlap = np.array(
        [[len(m & c.rows) / (len(m | c.rows) or 1) for c in candidates] for m in members]
    )
    cosine = cents[list(inductive)] @ np.vstack([c.centre for c in candidates]).T
    for sims, least in ((overlap, 0.5), (cosine, floor)):
        free_r = [r for r in range(len(inductive)) if inductive[r] not in match]
        taken = set(match.values())
        free_c = [c for c in range(len(candidates)) if candidates[c].id not in taken]
        if not free_r or not free_c:
            break
        block = sims[np.ix_(free_r, free_c)]
        for r, c in zip(*linear_sum_assignment(-block), strict=True):
            if block[r, c] >= least:
                match[inductive[free_r[r]]] = candidates[free_c[c]].id
    return match


def apply_plan(
    passages: Sequence[Passage],
    vectors: np.ndarray,
    cfg: Config,
    plan: Plan,
    previous: Previous | None,
    encode: Encode,
    extra_seeds: Sequence[SeedSpec] = (),
    exclude: np.ndarray | None = None,
) -> Outcome:
    """Cluster with the codebook's anchors and name every cluster by the plan.

    The rules run in a fixed order (discard, merge, split, keep, seed), each adding anchors;
    induction clusters the rest, and each inductive cluster is matched to a previous
    candidate code's id or takes a new one.
    """
    book = Book(passages, vectors, plan, previous, encode)
    apply_discards(book)
    apply_merges(book)
    apply_splits(book)
    candidates = apply_keeps(book)
    apply_seeds(book, [*plan.seeds, *extra_seeds])
    labels, assignment = cluster_around_anchors(book, cfg, candidates, exclude)
    n_anchor, n_clusters = len(book.anchors), assignment.n_clusters
    cents = centroids(vectors, labels, n_clusters)
    inductive = list(range(n_anchor, n_clusters))
    match = match_ids(labels, cents, inductive, candidates, cfg.codebook.match_similarity)
    matched = set(match.values())
    for cand in candidates:
        if cand.id not in matched:
            book.retired.append(cand.id)
            book.event("lost", cand.id, f"'{book.codes[cand.id].label}' was not found again")
    return _outcome(book, labels, assignment, match, candidates)


def _outcome(
    book: Book,
    labels: np.ndarray,
    assignment: Assignment,
    match: dict[int, str],
    candidates: Sequence[Candidate],
) -> Outcome:
    """Discard anchors dropped, clusters renumbered to the codes that remain, ids given."""
    out_ids: list[str] = []
    fixed: dict[str, Fixed] = {}
    previous_rows: dict[str, frozenset[int]] = {}
    centres: dict[str, np.ndarray] = {}
    old_rows = {c.id: c.rows for c in candidates}
    remap = np.full(assignment.n_clusters, -1, dtype=int)
    for k in range(assignment.n_clusters):
        if k < len(book.anchors):
            a = book.anchors[k]
            if a.discard:
                continue
            cid = a.id
            fixed[cid] = Fixed(a.label, a.description, a.status, a.examples)
            previous_rows[cid] = a.old_rows
            centres[cid] = a.centre
        else:
            cid = match.get(k) or book.ids.take()
            if cid in old_rows:
                previous_rows[cid] = old_rows[cid]
        remap[k] = len(out_ids)
        out_ids.append(cid)
    final = np.where(labels >= 0, remap[np.maximum(labels, 0)], -1)
    kept = [k for k in range(assignment.n_clusters) if remap[k] >= 0]
    stability = tuple(assignment.stability[k] for k in kept) if assignment.stability else ()
    compact = Assignment(
        labels=tuple(int(v) for v in final),
        n_clusters=len(out_ids),
        method=assignment.method,
        params=assignment.params,
        stability=stability,
        folded=tuple(
            replace(f, into=int(remap[f.into])) for f in assignment.folded if remap[f.into] >= 0
        ),
    )
    return Outcome(
        labels=final,
        assignment=compact,
        ids=out_ids,
        fixed=fixed,
        previous_rows=previous_rows,
        events=book.events,
        retired=sorted(set(book.retired) - set(out_ids), key=lambda c: (code_number(c), c)),
        discarded=book.discarded,
        successors=book.successors,
        centres=centres,
    )
