"""The analyst's decisions as anchors: one function per rule of the codebook.

Kept, renamed, merged, split and seeded codes become anchors: their centre vectors (from their
passages' embeddings, or from embedded example phrases) are passed to ``cluster`` as seeds, so
passages close to them are assigned there first. Discarded codes are anchors too, whose
passages are then left uncoded, so that induction does not simply find them again. Codes the
analyst did not decide on become candidates that induction may find again. Each rule records
an audit event for what it did, and for what it could not do.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cppthemes.codebook.decisions import ANCHOR_STATUSES, BookCode, Plan, Previous, SeedSpec
from cppthemes.records import AuditEvent, CodeStatus, Passage

Encode = Callable[[list[str]], np.ndarray]


@dataclass
class Anchor:
    id: str
    label: str
    description: str
    status: CodeStatus
    centre: np.ndarray
    discard: bool = False
    examples: tuple[str, ...] = ()
    old_rows: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Candidate:
    """A previous candidate code that induction may find again (and then takes its id)."""

    id: str
    centre: np.ndarray
    rows: frozenset[int]


def code_number(code_id: str) -> int:
    """The number at the end of a code or theme id (C07 -> 7; 0 without one)."""
    m = re.search(r"(\d+)$", code_id)
    return int(m.group(1)) if m else 0


class IdAllocator:
    """New code ids after every id ever used, so a retired id never comes back."""

    def __init__(self, used: Sequence[str]) -> None:
        self.used = set(used)
        self.last = max((code_number(u) for u in used), default=0)
        self.width = max([2, *(len(str(code_number(u))) for u in used)])

    def take(self, wanted: str | None = None) -> str:
        if wanted and wanted not in self.used:
            self.used.add(wanted)
            self.last = max(self.last, code_number(wanted))
            return wanted
        self.last += 1
        new = f"C{self.last:0{self.width}d}"
        self.used.add(new)
        return new


def _unit(v: np.ndarray) -> np.ndarray:
    return v / (np.linalg.norm(v) or 1.0)


@dataclass
class Book:
    """The plan being applied: what each rule reads (codes, passages, vectors) and what the
    rules build up in order (anchors, retired ids, events)."""

    passages: Sequence[Passage]
    vectors: np.ndarray
    plan: Plan
    previous: Previous | None
    encode: Encode
    index: dict[str, int] = field(default_factory=dict)
    codes: dict[str, BookCode] = field(default_factory=dict)
    ids: IdAllocator = field(default_factory=lambda: IdAllocator(()))
    anchors: list[Anchor] = field(default_factory=list)
    consumed: set[str] = field(default_factory=set)
    events: list[AuditEvent] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    discarded: list[dict[str, Any]] = field(default_factory=list)
    successors: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        plan, previous = self.plan, self.previous
        self.index = {p.id: i for i, p in enumerate(self.passages)}
        self.codes = {c.id: c for c in plan.codes}
        self.retired = list(plan.retired)
        used = [*self.codes, *plan.retired, *(d.id for d in plan.discarded)]
        used += list(previous.members) if previous else []
        used += [s.id for s in plan.seeds if s.id and s.id in self.codes]
        self.ids = IdAllocator(used)
        for rule, code, why in plan.problems:
            self.not_applied(rule, code, why)

    def event(self, rule: str, code: str, what: str) -> None:
        self.events.append(AuditEvent(rule, code, what))

    def not_applied(self, rule: str, code: str, why: str) -> None:
        self.event("not applied", code, f"{rule}: {why}")

    def rows_of(self, cid: str) -> list[int]:
        """Rows of the code's passages: the previous run's members (else its quotes), plus
        the passages the analyst attached to it."""
        c = self.codes.get(cid)
        pids: list[str] = []
        if self.previous is not None and cid in self.previous.members:
            pids += self.previous.members[cid]
        elif c is not None:
            pids += [pid for pid, _ in c.quotes]
        if c is not None:
            pids += c.passages
        return sorted({self.index[p] for p in pids if p in self.index})

    def rows_in(self, pids: Sequence[str]) -> list[int]:
        return sorted({self.index[p] for p in pids if p in self.index})

    def centre(self, rows: Sequence[int], texts: Sequence[str]) -> np.ndarray | None:
        """The unit mean of the rows' vectors and the embedded texts (None for neither)."""
        parts = [np.asarray(self.vectors[list(rows)], dtype=np.float64)] if rows else []
        if texts:
            parts.append(np.asarray(self.encode(list(texts)), dtype=np.float64))
        if not parts:
            return None
        return _unit(np.vstack(parts).mean(axis=0))

    def discard_anchor(self, cid: str, label: str, rows: Sequence[int], cen: np.ndarray) -> None:
        status = CodeStatus.DISCARDED
        old = frozenset(rows)
        self.anchors.append(Anchor(cid, label, "", status, cen, discard=True, old_rows=old))


def apply_discards(book: Book) -> None:
    """Discards: new ones, then those of earlier runs, which keep absorbing their passages."""
    for cid in dict.fromkeys(book.plan.discards):
        c = book.codes.get(cid)
        if c is None:
            book.not_applied("discard", cid, "no such code in the codebook")
            continue
        rows = book.rows_of(cid)
        cen = book.centre(rows, [] if rows else [t for _, t in c.quotes])
        book.consumed.add(cid)
        pids = [book.passages[i].id for i in rows]
        book.discarded.append({"id": cid, "label": c.label, "passages": pids})
        if cen is not None:
            book.discard_anchor(cid, c.label, rows, cen)
        book.event("discard", cid, f"'{c.label}' discarded; its passages are left uncoded")
    for d in book.plan.discarded:
        if d.id in book.consumed:
            continue
        rows = book.rows_in(d.passages)
        book.discarded.append({"id": d.id, "label": d.label, "passages": list(d.passages)})
        book.consumed.add(d.id)
        cen = book.centre(rows, [])
        if cen is not None:
            book.discard_anchor(d.id, d.label, rows, cen)


def apply_merges(book: Book) -> None:
    """Merges: the first code listed keeps its id; the others are retired."""
    plan = book.plan
    for group, label in plan.merges:
        present = [c for c in group if c in book.codes and c not in book.consumed]
        missing = [c for c in group if c not in present]
        if len(present) < 2:
            why = f"{', '.join(missing)} no longer in the codebook"
            book.not_applied("merge", "+".join(group), why)
            continue
        rows = sorted({r for c in present for r in book.rows_of(c)})
        texts = [e for c in present for e in book.codes[c].examples]
        if not rows and not texts:
            texts = [t for c in present for _, t in book.codes[c].quotes if t]
        cen = book.centre(rows, texts)
        if cen is None:
            why = "none of their passages is in this corpus"
            book.not_applied("merge", "+".join(group), why)
            continue
        target = present[0]
        first = book.codes[target]
        book.anchors.append(
            Anchor(
                target,
                label or plan.renames.get(target) or first.label,
                plan.describes.get(target) or first.description,
                CodeStatus.KEPT,
                cen,
                examples=tuple(texts),
                old_rows=frozenset(rows),
            )
        )
        book.consumed.update(present)
        book.retired.extend(present[1:])
        for other in present[1:]:
            book.successors[other] = [target]
        note = f" ({', '.join(missing)} not found)" if missing else ""
        book.event("merge", target, f"{' + '.join(present)} merged into {target}{note}")


def apply_splits(book: Book) -> None:
    """Splits: the code's passages are cut into parts (Ward), each a new anchored code."""
    for cid, into in book.plan.splits:
        if cid not in book.codes or cid in book.consumed:
            why = "no such code in the codebook" if cid not in book.codes else "already merged away"
            book.not_applied("split", cid, why)
            continue
        rows = book.rows_of(cid)
        if len(rows) < into:
            book.not_applied("split", cid, f"it has {len(rows)} passages, fewer than {into}")
            continue
        from sklearn.cluster import AgglomerativeClustering  # only a split needs it (seconds)

        parts = AgglomerativeClustering(n_clusters=into, linkage="ward").fit_predict(
            np.asarray(book.vectors[rows], dtype=np.float64)
        )
        order = sorted(range(into), key=lambda k: (-int((parts == k).sum()), k))
        new_ids = []
        c = book.codes[cid]
        for n, k in enumerate(order, start=1):
            part = [rows[i] for i in np.flatnonzero(parts == k)]
            new = book.ids.take()
            new_ids.append(new)
            book.anchors.append(
                Anchor(
                    new,
                    f"{book.plan.renames.get(cid) or c.label} ({n} of {into})",
                    c.description,
                    CodeStatus.KEPT,
                    _unit(np.asarray(book.vectors[part], dtype=np.float64).mean(axis=0)),
                    old_rows=frozenset(part),
                )
            )
        book.consumed.add(cid)
        book.retired.append(cid)
        book.successors[cid] = new_ids
        book.event("split", cid, f"{cid} split into {', '.join(new_ids)}")


def _unknown_edits(book: Book) -> None:
    plan = book.plan
    for cid in [*plan.renames, *plan.describes, *plan.keeps]:
        if cid not in book.codes:
            rule = (
                "rename"
                if cid in plan.renames
                else ("describe" if cid in plan.describes else "keep")
            )
            book.not_applied(rule, cid, "no such code in the codebook")


def apply_keeps(book: Book) -> list[Candidate]:
    """Every other code: anchored if the analyst stands behind it (kept, renamed, described,
    seeded), else a candidate for induction to find again. Returns the candidates."""
    _unknown_edits(book)
    plan = book.plan
    candidates: list[Candidate] = []
    for c in plan.codes:
        if c.id in book.consumed:
            continue
        rename, describe = plan.renames.get(c.id), plan.describes.get(c.id)
        anchored = c.status in ANCHOR_STATUSES or bool(rename or describe) or c.id in plan.keeps
        rows = book.rows_of(c.id)
        # A codebook from another corpus: its quotes, embedded, stand for its passages.
        cen = book.centre(rows, c.examples or ([] if rows else [t for _, t in c.quotes if t]))
        if cen is None:
            book.retired.append(c.id)
            if anchored:
                book.not_applied("keep", c.id, "none of its passages is in this corpus")
            else:
                book.event("lost", c.id, f"'{c.label}': none of its passages is in this corpus")
            continue
        if not anchored:
            candidates.append(Candidate(c.id, cen, frozenset(rows)))
            continue
        status = CodeStatus(c.status) if c.status in {"seeded", "deductive"} else CodeStatus.KEPT
        label, description = rename or c.label, describe or c.description
        old = frozenset(rows)
        book.anchors.append(
            Anchor(c.id, label, description, status, cen, examples=c.examples, old_rows=old)
        )
        if rename:
            renamed = f"'{c.label}' renamed to '{rename}'" if rename != c.label else ""
            book.event("rename", c.id, renamed or f"renamed to '{rename}'")
        if describe:
            book.event("describe", c.id, "description set by the analyst")
        if c.id in plan.keeps:
            book.event("keep", c.id, "kept as an anchor")
    return candidates


def apply_seeds(book: Book, seeds: Sequence[SeedSpec]) -> None:
    """Seeded codes: defined by example phrases, passages, or else their label and description."""
    for s in seeds:
        rows = book.rows_in(s.passages)
        missing = [p for p in s.passages if p not in book.index]
        texts = list(s.examples)
        if not texts and not rows:
            texts = [f"{s.label}: {s.description}" if s.description else s.label]
        cen = book.centre(rows, texts)
        if cen is None:  # pragma: no cover - texts is never empty here
            book.not_applied("seed", s.label, "nothing defines it")
            continue
        new = book.ids.take(s.id)
        status = CodeStatus(s.status)
        old = frozenset(rows)
        book.anchors.append(
            Anchor(new, s.label, s.description, status, cen, examples=s.examples, old_rows=old)
        )
        how = f"{len(s.examples)} example phrases, {len(rows)} passages"
        if missing:
            how += f" ({len(missing)} passage ids not in this corpus)"
        rule = "seed" if status == CodeStatus.SEEDED else "framework seed"
        book.event(rule, new, f"seeded code '{s.label}' from {how}")
        if s.theme:
            book.successors.setdefault(f"theme:{s.theme}", []).append(new)
