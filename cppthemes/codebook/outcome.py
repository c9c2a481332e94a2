"""What a codebook run reports and fixes after clustering: membership changes and themes.

``membership_events`` compares each code's passages with the previous run's; ``fixed_themes``
keeps the analyst's themes as given and lets the run propose themes for the remaining codes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from cppthemes.codebook.anchors import code_number
from cppthemes.codebook.decisions import ThemeSpec
from cppthemes.codebook.refine import Outcome
from cppthemes.label import prevalence
from cppthemes.records import AuditEvent, Code, Passage, Theme

# The tool's themes for a list of codes and their centroids (a run's ``Coder.themes``).
ProposeThemes = Callable[[Sequence[Code], np.ndarray], list[Theme]]


def membership_events(
    codes: Sequence[Code], outcome: Outcome, index: dict[str, int]
) -> list[AuditEvent]:
    """What each code gained and lost against the previous run, and which codes are new."""
    out: list[AuditEvent] = []
    for code in codes:
        now = {index[p] for p in code.passage_ids}
        before = outcome.previous_rows.get(code.id)
        if not now and code.id in outcome.fixed:
            what = (
                f"'{code.label}' has no passages: none reached "
                "cluster.seed_threshold (lower it with --set, or add passages)"
            )
            out.append(AuditEvent("empty", code.id, what, gained=0, lost=len(before or ())))
            continue
        if before is None:
            if code.id not in outcome.fixed:
                what = f"new code '{code.label}' found"
                out.append(AuditEvent("new code", code.id, what, gained=len(now), lost=0))
            continue
        gained, lost = len(now - before), len(before - now)
        if gained or lost:
            what = f"{len(before)} -> {len(now)} passages"
            out.append(AuditEvent("membership", code.id, what, gained=gained, lost=lost))
    return out


def _theme_members(
    spec: ThemeSpec, present: dict[str, int], taken: set[str], successors: dict[str, list[str]]
) -> list[str]:
    """The codes of a fixed theme that are still here: its own, their successors (merged or
    split into), and codes seeded into it by id or label."""
    wanted = [
        *spec.codes,
        *successors.get(f"theme:{spec.id}", []),
        *(successors.get(f"theme:{spec.label}", []) if spec.label != spec.id else []),
    ]
    members: list[str] = []
    for cid in wanted:
        for c in successors.get(cid, [cid]) if cid not in present else [cid]:
            if c in present and c not in taken and c not in members:
                members.append(c)
    return members


def fixed_themes(
    codes: Sequence[Code],
    code_centroids: np.ndarray,
    passages: Sequence[Passage],
    specs: Sequence[ThemeSpec],
    successors: dict[str, list[str]],
    propose: ProposeThemes,
) -> tuple[list[Theme], list[str], list[AuditEvent]]:
    """The analyst's themes as given, the tool's themes (``propose``, as a plain run makes
    them) for the codes left over.

    Returns the themes, the ids of the fixed ones, and audit events (one per fixed theme, and
    one per theme code that no longer exists).
    """
    present = {c.id: i for i, c in enumerate(codes)}
    index = {p.id: i for i, p in enumerate(passages)}
    n_transcripts = len({p.transcript_id for p in passages})
    events: list[AuditEvent] = []
    themes: list[Theme] = []
    taken_codes: set[str] = set()
    used = {s.id for s in specs if s.id}
    last = max((code_number(t) for t in used if t), default=0)
    for spec in specs:
        members = _theme_members(spec, present, taken_codes, successors)
        gone = [c for c in spec.codes if c not in present and c not in successors]
        if not members:
            what = f"{spec.rule}: none of its codes is left"
            events.append(AuditEvent("not applied", spec.id or spec.label, what))
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
        events.append(AuditEvent(spec.rule, tid, f"'{spec.label}': {', '.join(members)}{note}"))
    kept_ids = [t.id for t in themes]
    rest = [i for i, c in enumerate(codes) if c.id not in taken_codes]
    tool = propose([codes[i] for i in rest], code_centroids[rest])
    last = max([last, *(code_number(t) for t in kept_ids)])
    for t in tool:
        last += 1
        themes.append(replace(t, id=f"T{last:02d}"))
    return themes, kept_ids, events
