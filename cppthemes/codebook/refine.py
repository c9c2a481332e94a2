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

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from cppthemes.cluster.codes import centroids, cluster
from cppthemes.cluster.themes import group_codes
from cppthemes.codebook.decisions import ANCHOR_STATUSES, Plan, Previous, SeedSpec, ThemeSpec
from cppthemes.config import Config
from cppthemes.label import Terms, prevalence
from cppthemes.records import Assignment, Code, Passage, Theme

Encode = Callable[[list[str]], np.ndarray]


@dataclass
class Anchor:
    id: str
    label: str
    description: str
    status: str
    centre: np.ndarray
    discard: bool = False
    examples: tuple[str, ...] = ()
    old_rows: frozenset[int] = frozenset()


@dataclass
class Outcome:
    """Codes as clusters: per passage a code index (-1 = uncoded), and each code's fields."""

    labels: np.ndarray
    assignment: Assignment
    ids: list[str]
    fixed: dict[str, dict[str, Any]]  # code id -> fields the analyst fixed (label, status...)
    previous_rows: dict[str, frozenset[int]]
    events: list[dict[str, Any]] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    discarded: list[dict[str, Any]] = field(default_factory=list)
    successors: dict[str, list[str]] = field(default_factory=dict)
    centres: dict[str, np.ndarray] = field(default_factory=dict)  # anchors' seed vectors


def _number(code_id: str) -> int:
    m = re.search(r"(\d+)$", code_id)
    return int(m.group(1)) if m else 0


class IdAllocator:
    """New code ids after every id ever used, so a retired id never comes back."""

    def __init__(self, used: Sequence[str]) -> None:
        self.used = set(used)
        self.last = max((_number(u) for u in used), default=0)
        self.width = max([2, *(len(str(_number(u))) for u in used)])

    def take(self, wanted: str | None = None) -> str:
        if wanted and wanted not in self.used:
            self.used.add(wanted)
            self.last = max(self.last, _number(wanted))
            return wanted
        self.last += 1
        new = f"C{self.last:0{self.width}d}"
        self.used.add(new)
        return new


def _unit(v: np.ndarray) -> np.ndarray:
    return v / (np.linalg.norm(v) or 1.0)


def apply_plan(
    passages: Sequence[Passage],
    vectors: np.ndarray,
    cfg: Config,
    plan: Plan,
    previous: Previous | None,
    encode: Encode,
    extra_seeds: Sequence[SeedSpec] = (),
) -> Outcome:
    """Cluster with the codebook's anchors and name every cluster by the plan."""
    index = {p.id: i for i, p in enumerate(passages)}
    book = {c.id: c for c in plan.codes}
    events: list[dict[str, Any]] = []
    retired = list(plan.retired)
    discarded: list[dict[str, Any]] = []
    successors: dict[str, list[str]] = {}
    used = [*book, *plan.retired, *(d.id for d in plan.discarded)]
    used += list(previous.members) if previous else []
    used += [s.id for s in plan.seeds if s.id and s.id in book]
    ids = IdAllocator(used)

    def event(rule: str, code: str, what: str, **extra: Any) -> None:
        events.append({"rule": rule, "code": code, "what": what, **extra})

    def not_applied(rule: str, code: str, why: str) -> None:
        event("not applied", code, f"{rule}: {why}")

    for rule, code, why in plan.problems:
        not_applied(rule, code, why)

    def rows_of(cid: str) -> list[int]:
        c = book.get(cid)
        pids: list[str] = []
        if previous is not None and cid in previous.members:
            pids += previous.members[cid]
        elif c is not None:
            pids += [pid for pid, _ in c.quotes]
        if c is not None:
            pids += c.passages
        return sorted({index[p] for p in pids if p in index})

    def centre(rows: Sequence[int], texts: Sequence[str]) -> np.ndarray | None:
        parts = [np.asarray(vectors[list(rows)], dtype=np.float64)] if rows else []
        if texts:
            parts.append(np.asarray(encode(list(texts)), dtype=np.float64))
        if not parts:
            return None
        return _unit(np.vstack(parts).mean(axis=0))

    anchors: list[Anchor] = []
    consumed: set[str] = set()

    # Discards: new ones, then those of earlier runs, which keep absorbing their passages.
    for cid in dict.fromkeys(plan.discards):
        c = book.get(cid)
        if c is None:
            not_applied("discard", cid, "no such code in the codebook")
            continue
        rows = rows_of(cid)
        cen = centre(rows, [] if rows else [t for _, t in c.quotes])
        consumed.add(cid)
        pids = tuple(passages[i].id for i in rows)
        discarded.append({"id": cid, "label": c.label, "passages": list(pids)})
        if cen is not None:
            anchors.append(
                Anchor(cid, c.label, "", "discarded", cen, discard=True, old_rows=frozenset(rows))
            )
        event("discard", cid, f"'{c.label}' discarded; its passages are left uncoded")
    for d in plan.discarded:
        if d.id in consumed:
            continue
        rows = sorted({index[p] for p in d.passages if p in index})
        discarded.append({"id": d.id, "label": d.label, "passages": list(d.passages)})
        consumed.add(d.id)
        cen = centre(rows, [])
        if cen is not None:
            anchors.append(
                Anchor(d.id, d.label, "", "discarded", cen, discard=True, old_rows=frozenset(rows))
            )

    # Merges: the first code listed keeps its id; the others are retired.
    for group, label in plan.merges:
        present = [c for c in group if c in book and c not in consumed]
        missing = [c for c in group if c not in present]
        if len(present) < 2:
            not_applied("merge", "+".join(group), f"{', '.join(missing)} no longer in the codebook")
            continue
        rows = sorted({r for c in present for r in rows_of(c)})
        texts = [e for c in present for e in book[c].examples]
        if not rows and not texts:
            texts = [t for c in present for _, t in book[c].quotes if t]
        cen = centre(rows, texts)
        if cen is None:
            not_applied("merge", "+".join(group), "none of their passages is in this corpus")
            continue
        target = present[0]
        first = book[target]
        anchors.append(
            Anchor(
                target,
                label or plan.renames.get(target) or first.label,
                plan.describes.get(target) or first.description,
                "kept",
                cen,
                examples=tuple(texts),
                old_rows=frozenset(rows),
            )
        )
        consumed.update(present)
        retired.extend(present[1:])
        for other in present[1:]:
            successors[other] = [target]
        note = f" ({', '.join(missing)} not found)" if missing else ""
        event("merge", target, f"{' + '.join(present)} merged into {target}{note}")

    # Splits: the code's passages are cut into parts (Ward), each a new anchored code.
    for cid, into in plan.splits:
        if cid not in book or cid in consumed:
            why = "no such code in the codebook" if cid not in book else "already merged away"
            not_applied("split", cid, why)
            continue
        rows = rows_of(cid)
        if len(rows) < into:
            not_applied("split", cid, f"it has {len(rows)} passages, fewer than {into}")
            continue
        from sklearn.cluster import AgglomerativeClustering  # only a split needs it (seconds)

        parts = AgglomerativeClustering(n_clusters=into, linkage="ward").fit_predict(
            np.asarray(vectors[rows], dtype=np.float64)
        )
        order = sorted(range(into), key=lambda k: (-int((parts == k).sum()), k))
        new_ids = []
        c = book[cid]
        for n, k in enumerate(order, start=1):
            part = [rows[i] for i in np.flatnonzero(parts == k)]
            new = ids.take()
            new_ids.append(new)
            anchors.append(
                Anchor(
                    new,
                    f"{plan.renames.get(cid) or c.label} ({n} of {into})",
                    c.description,
                    "kept",
                    _unit(np.asarray(vectors[part], dtype=np.float64).mean(axis=0)),
                    old_rows=frozenset(part),
                )
            )
        consumed.add(cid)
        retired.append(cid)
        successors[cid] = new_ids
        event("split", cid, f"{cid} split into {', '.join(new_ids)}")

    # Every other code: anchored if the analyst stands behind it, else a candidate to match.
    candidates: list[tuple[str, np.ndarray, frozenset[int]]] = []
    for cid in [*plan.renames, *plan.describes, *plan.keeps]:
        if cid not in book:
            rule = (
                "rename"
                if cid in plan.renames
                else ("describe" if cid in plan.describes else "keep")
            )
            not_applied(rule, cid, "no such code in the codebook")
    for c in plan.codes:
        if c.id in consumed:
            continue
        rename = plan.renames.get(c.id)
        describe = plan.describes.get(c.id)
        anchored = c.status in ANCHOR_STATUSES or bool(rename or describe) or c.id in plan.keeps
        rows = rows_of(c.id)
        # A codebook from another corpus: its quotes, embedded, stand for its passages.
        cen = centre(rows, c.examples or ([] if rows else [t for _, t in c.quotes if t]))
        if cen is None:
            retired.append(c.id)
            if anchored:
                not_applied("keep", c.id, "none of its passages is in this corpus")
            else:
                event("lost", c.id, f"'{c.label}': none of its passages is in this corpus")
            continue
        if not anchored:
            candidates.append((c.id, cen, frozenset(rows)))
            continue
        status = c.status if c.status in {"seeded", "deductive"} else "kept"
        anchors.append(
            Anchor(
                c.id,
                rename or c.label,
                describe or c.description,
                status,
                cen,
                examples=c.examples,
                old_rows=frozenset(rows),
            )
        )
        if rename:
            event(
                "rename",
                c.id,
                f"'{c.label}' renamed to '{rename}'"
                if rename != c.label
                else f"renamed to '{rename}'",
            )
        if describe:
            event("describe", c.id, "description set by the analyst")
        if c.id in plan.keeps:
            event("keep", c.id, "kept as an anchor")

    # Seeded codes: defined by example phrases, passages, or else their label and description.
    for s in [*plan.seeds, *extra_seeds]:
        rows = sorted({index[p] for p in s.passages if p in index})
        missing = [p for p in s.passages if p not in index]
        texts = list(s.examples)
        if not texts and not rows:
            texts = [f"{s.label}: {s.description}" if s.description else s.label]
        cen = centre(rows, texts)
        if cen is None:  # pragma: no cover - texts is never empty here
            not_applied("seed", s.label, "nothing defines it")
            continue
        new = ids.take(s.id)
        anchors.append(
            Anchor(
                new,
                s.label,
                s.description,
                s.status,
                cen,
                examples=s.examples,
                old_rows=frozenset(rows),
            )
        )
        how = f"{len(s.examples)} example phrases, {len(rows)} passages"
        if missing:
            how += f" ({len(missing)} passage ids not in this corpus)"
        rule = "seed" if s.status == "seeded" else "framework seed"
        event(rule, new, f"seeded code '{s.label}' from {how}")
        if s.theme:
            successors.setdefault(f"theme:{s.theme}", []).append(new)

    # An anchor keeps the passages it had (the analyst stood behind them); only the other
    # passages are clustered, with the anchors as seeds, so new data can still join them.
    pinned = np.full(len(passages), -1, dtype=int)
    for k, a in enumerate(anchors):
        for row in sorted(a.old_rows):
            if pinned[row] < 0:
                pinned[row] = k
    free = np.flatnonzero(pinned < 0)
    seeds = np.vstack([a.centre for a in anchors]) if anchors else None
    ccfg = cfg.cluster
    if candidates and not ccfg.n_codes and len(free) >= len(candidates):
        # As many inductive codes as the previous run had candidates: the same granularity,
        # so each can be found again (the anchors' passages no longer count towards it).
        ccfg = ccfg.model_copy(update={"n_codes": len(candidates)})
    sub = cluster(vectors[free], ccfg, seeds=seeds)
    labels = pinned.copy()
    labels[free] = np.asarray(sub.labels, dtype=int)
    n_anchor = len(anchors)
    n_clusters = max(sub.n_clusters, n_anchor)
    assignment = replace(sub, labels=tuple(int(v) for v in labels), n_clusters=n_clusters)

    # Inductive clusters take the id of the previous candidate code with the closest centre.
    inductive = list(range(n_anchor, n_clusters))
    cents = centroids(vectors, labels, n_clusters)
    match: dict[int, str] = {}
    if inductive and candidates:
        # First by shared passages (Jaccard >= 0.5 is one-to-one in practice), then the rest
        # by centroid above codebook.match_similarity; both one-to-one (Hungarian).
        members = [frozenset(np.flatnonzero(labels == k).tolist()) for k in inductive]
        overlap = np.array(
            [[len(m & old) / (len(m | old) or 1) for _, _, old in candidates] for m in members]
        )
        cosine = cents[inductive] @ np.vstack([c[1] for c in candidates]).T
        for sims, floor in ((overlap, 0.5), (cosine, cfg.codebook.match_similarity)):
            free_r = [r for r in range(len(inductive)) if inductive[r] not in match]
            taken = set(match.values())
            free_c = [c for c in range(len(candidates)) if candidates[c][0] not in taken]
            if not free_r or not free_c:
                break
            block = sims[np.ix_(free_r, free_c)]
            for r, c in zip(*linear_sum_assignment(-block), strict=True):
                if block[r, c] >= floor:
                    match[inductive[free_r[r]]] = candidates[free_c[c]][0]
    matched = set(match.values())
    for cid, _, _ in candidates:
        if cid not in matched:
            retired.append(cid)
            event("lost", cid, f"'{book[cid].label}' was not found again")

    out_ids: list[str] = []
    fixed: dict[str, dict[str, Any]] = {}
    previous_rows: dict[str, frozenset[int]] = {}
    centres: dict[str, np.ndarray] = {}
    remap = np.full(n_clusters, -1, dtype=int)
    for k in range(n_clusters):
        if k < n_anchor:
            a = anchors[k]
            if a.discard:
                continue
            cid = a.id
            fixed[cid] = {
                "label": a.label,
                "description": a.description,
                "status": a.status,
                "examples": a.examples,
            }
            previous_rows[cid] = a.old_rows
            centres[cid] = a.centre
        else:
            cid = match.get(k) or ids.take()
            for c_id, _, old in candidates:
                if c_id == cid:
                    previous_rows[cid] = old
        remap[k] = len(out_ids)
        out_ids.append(cid)
    final = np.where(labels >= 0, remap[np.maximum(labels, 0)], -1)
    stability = (
        tuple(assignment.stability[k] for k in range(n_clusters) if remap[k] >= 0)
        if assignment.stability
        else ()
    )
    compact = Assignment(
        labels=tuple(int(v) for v in final),
        n_clusters=len(out_ids),
        method=assignment.method,
        params=assignment.params,
        stability=stability,
    )
    return Outcome(
        labels=final,
        assignment=compact,
        ids=out_ids,
        fixed=fixed,
        previous_rows=previous_rows,
        events=events,
        retired=sorted(set(retired) - set(out_ids), key=lambda c: (_number(c), c)),
        discarded=discarded,
        successors=successors,
        centres=centres,
    )


def membership_events(
    codes: Sequence[Any], outcome: Outcome, index: dict[str, int]
) -> list[dict[str, Any]]:
    """What each code gained and lost against the previous run, and which codes are new."""
    out: list[dict[str, Any]] = []
    for code in codes:
        now = {index[p] for p in code.passage_ids}
        before = outcome.previous_rows.get(code.id)
        if not now and code.id in outcome.fixed:
            out.append(
                {
                    "rule": "empty",
                    "code": code.id,
                    "what": f"'{code.label}' has no passages: none reached "
                    "cluster.seed_threshold (lower it with --set, or add passages)",
                    "gained": 0,
                    "lost": len(before or ()),
                }
            )
            continue
        if before is None:
            if code.id not in outcome.fixed:
                out.append(
                    {
                        "rule": "new code",
                        "code": code.id,
                        "what": f"new code '{code.label}' found",
                        "gained": len(now),
                        "lost": 0,
                    }
                )
            continue
        gained, lost = len(now - before), len(before - now)
        if gained or lost:
            out.append(
                {
                    "rule": "membership",
                    "code": code.id,
                    "what": f"{len(before)} -> {len(now)} passages",
                    "gained": gained,
                    "lost": lost,
                }
            )
    return out


def fixed_themes(
    codes: Sequence[Code],
    code_centroids: np.ndarray,
    passages: Sequence[Passage],
    terms: Terms,
    cfg: Config,
    specs: Sequence[ThemeSpec],
    successors: dict[str, list[str]],
) -> tuple[list[Theme], list[str], list[dict[str, Any]]]:
    """The analyst's themes as given, the tool's themes for the codes left over.

    Returns the themes, the ids of the fixed ones, and audit events (one per fixed theme, and
    one per theme code that no longer exists).
    """
    present = {c.id: i for i, c in enumerate(codes)}
    index = {p.id: i for i, p in enumerate(passages)}
    n_transcripts = len({p.transcript_id for p in passages})
    events: list[dict[str, Any]] = []
    themes: list[Theme] = []
    taken_codes: set[str] = set()
    used = {s.id for s in specs if s.id}
    last = max((_number(t) for t in used if t), default=0)
    for spec in specs:
        wanted = [
            *spec.codes,
            *successors.get(f"theme:{spec.id}", []),
            *(successors.get(f"theme:{spec.label}", []) if spec.label != spec.id else []),
        ]
        members: list[str] = []
        for cid in wanted:
            for c in successors.get(cid, [cid]) if cid not in present else [cid]:
                if c in present and c not in taken_codes and c not in members:
                    members.append(c)
        gone = [c for c in spec.codes if c not in present and c not in successors]
        if not members:
            events.append(
                {
                    "rule": "not applied",
                    "code": spec.id or spec.label,
                    "what": f"{spec.rule}: none of its codes is left",
                }
            )
            continue
        tid = spec.id
        if not tid:
            last += 1
            tid = f"T{last:02d}"
        taken_codes.update(members)
        rows = sorted(index[p] for c in members for p in codes[present[c]].passage_ids)
        themes.append(
            Theme(
                id=tid,
                label=spec.label,
                code_ids=tuple(members),
                prevalence=prevalence(rows, passages, n_transcripts),
                description=spec.description,
            )
        )
        note = f"; {', '.join(gone)} no longer exist" if gone else ""
        events.append(
            {"rule": spec.rule, "code": tid, "what": f"'{spec.label}': {', '.join(members)}{note}"}
        )
    kept_ids = [t.id for t in themes]
    rest = [i for i, c in enumerate(codes) if c.id not in taken_codes]
    tool = group_codes([codes[i] for i in rest], code_centroids[rest], passages, terms, cfg.themes)
    last = max([last, *(_number(t) for t in kept_ids)])
    for t in tool:
        last += 1
        themes.append(replace(t, id=f"T{last:02d}"))
    return themes, kept_ids, events
