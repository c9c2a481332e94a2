"""The codebook branch of a run: one call from an analyst's plan to codes, themes and audit.

``apply_codebook`` clusters around the plan's anchors (cppthemes/codebook/refine.py), then
labels codes and groups themes through the run's ``Coder`` (cppthemes/coding.py), the same one
a plain run uses, so a refine that decides nothing labels its themes exactly like a plain run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from cppthemes.codebook.anchors import code_number
from cppthemes.codebook.decisions import Plan, Previous, SeedSpec
from cppthemes.codebook.framework import Framework
from cppthemes.codebook.outcome import fixed_themes, membership_events
from cppthemes.codebook.refine import Outcome, apply_plan
from cppthemes.coding import Coded, Coder
from cppthemes.records import AuditEvent, Code, CodeStatus


def framework_seeds(
    framework: Framework | None, deductive: bool, plan: Plan | None
) -> list[SeedSpec]:
    """The framework's constructs as seeded codes (``codebook.deductive``), except those the
    codebook already holds as deductive codes (a rerun of a deductive run)."""
    if framework is None or not deductive:
        return []
    have = {c.label for c in plan.codes if c.status == CodeStatus.DEDUCTIVE} if plan else set()
    return [
        SeedSpec(
            label=c.name,
            description=c.description,
            examples=(c.text, *c.examples),
            status=CodeStatus.DEDUCTIVE,
        )
        for c in framework.constructs
        if c.name not in have
    ]


def apply_codebook(
    coder: Coder,
    plan: Plan,
    previous: Previous | None,
    extra_seeds: Sequence[SeedSpec] = (),
) -> Coded:
    """Codes and themes that honour ``plan``, and the audit trail with this run's events."""
    cfg = coder.cfg
    outcome = apply_plan(
        coder.passages, coder.vectors, cfg, plan, previous, coder.embed_texts, extra_seeds,
        exclude=coder.binned.mask(coder.passages),
    )  # fmt: skip
    found, found_centroids = coder.codes(outcome.assignment)
    codes, cents = named(found, found_centroids, outcome)
    themes, kept_themes, theme_events = fixed_themes(
        codes, cents, coder.passages, plan.themes, outcome.successors, coder.themes
    )
    index = {p.id: i for i, p in enumerate(coder.passages)}
    summary = AuditEvent(
        "run",
        "",
        f"applied {plan.source or 'the framework'}: {len(outcome.fixed)} anchored codes, "
        f"{len(codes) - len(outcome.fixed)} found inductively",
    )
    events = [summary, *outcome.events, *theme_events, *membership_events(codes, outcome, index)]
    earlier = previous.audit if previous else ()
    number = run_number(earlier) if previous else 1
    audit = (*earlier, *(replace(e, run=number) for e in events))
    return Coded(
        assignment=outcome.assignment,
        codes=codes,
        centroids=cents,
        themes=themes,
        audit=audit,
        kept_themes=kept_themes,
        retired=outcome.retired,
        discarded=outcome.discarded,
        anchor_centres=outcome.centres,
    )


def run_number(earlier: Sequence[AuditEvent]) -> int:
    """This run's number in its folder: one after the last recorded (the folder's first run
    is 1, with or without an audit entry)."""
    return 1 + max((e.run for e in earlier), default=1)


def this_run(audit: Sequence[AuditEvent]) -> list[AuditEvent]:
    """The events of the latest run of an audit trail."""
    return [e for e in audit if e.run == audit[-1].run] if audit else []


def applied_counts(coded: Coded, previous: Previous | None) -> dict[str, int]:
    """How many events of each rule this run recorded (run.json ``codebook.applied``)."""
    new = coded.audit[len(previous.audit) if previous else 0 :]
    return dict(sorted(Counter(e.rule for e in new).items()))


def named(codes: list[Code], cents: np.ndarray, outcome: Outcome) -> tuple[list[Code], np.ndarray]:
    """Codes with the ids, labels and statuses the codebook fixed, in id order."""
    out = []
    for code, cid in zip(codes, outcome.ids, strict=True):
        fields = outcome.fixed.get(cid)
        coherence = code.coherence if code.coherence == code.coherence else 0.0
        out.append(
            replace(
                code,
                id=cid,
                label=(fields.label if fields else "") or code.label,
                description=fields.description if fields else "",
                status=fields.status if fields else CodeStatus.CANDIDATE,
                examples=fields.examples if fields else (),
                coherence=coherence,
            )
        )
    cents = cents.copy()
    for i, code in enumerate(out):
        if not code.passage_ids and code.id in outcome.centres:
            cents[i] = outcome.centres[code.id]  # an anchor with no passages yet: its seed
    order = sorted(range(len(out)), key=lambda i: (code_number(out[i].id), out[i].id))
    return [out[i] for i in order], cents[order] if len(order) else cents
