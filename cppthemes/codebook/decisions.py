"""The analyst's decisions in codebook.yaml, read into a plan that a rerun applies.

Two ways to decide, both documented in docs/codebook.md: edit a code in place (its ``label``,
``description``, ``theme`` or ``status``), or write an explicit entry under ``decisions:``
(``rename``, ``describe``, ``merge``, ``split``, ``discard``, ``keep``, ``theme``) and new codes
under ``seeded:``. In-place edits are recognised by comparing with what the previous run wrote
(run.json keeps a snapshot), so a label the tool proposed and one the analyst wrote differ.
A decision that cannot be read is not dropped: it becomes a message in the plan's ``problems``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cppthemes.records import AuditEvent, CodeStatus

# Statuses that make a code an anchor: the analyst (or a framework) stands behind it.
ANCHOR_STATUSES = frozenset(str(s) for s in CodeStatus if s.anchors)
DISCARD_STATUSES = frozenset(str(s) for s in CodeStatus if s.discards)


@dataclass(frozen=True)
class BookCode:
    """A code as the (possibly edited) codebook holds it."""

    id: str
    label: str
    description: str
    status: str
    theme: str | None
    examples: tuple[str, ...] = ()
    passages: tuple[str, ...] = ()  # passage ids the analyst attached to it
    quotes: tuple[tuple[str, str], ...] = ()  # (passage id, text)


@dataclass(frozen=True)
class SeedSpec:
    """A new code the analyst (or a framework) brings: a label and what defines it."""

    label: str
    description: str = ""
    examples: tuple[str, ...] = ()
    passages: tuple[str, ...] = ()
    id: str | None = None
    theme: str | None = None
    status: CodeStatus = CodeStatus.SEEDED


@dataclass(frozen=True)
class ThemeSpec:
    """A theme whose membership the analyst fixed."""

    id: str | None
    label: str
    codes: tuple[str, ...]
    description: str = ""
    rule: str = "theme"


@dataclass(frozen=True)
class Discarded:
    id: str
    label: str
    passages: tuple[str, ...]


@dataclass
class Plan:
    """Everything a rerun must honour, read from one codebook file."""

    source: str
    codes: list[BookCode] = field(default_factory=list)
    renames: dict[str, str] = field(default_factory=dict)
    describes: dict[str, str] = field(default_factory=dict)
    keeps: list[str] = field(default_factory=list)
    merges: list[tuple[tuple[str, ...], str | None]] = field(default_factory=list)
    splits: list[tuple[str, int]] = field(default_factory=list)
    discards: list[str] = field(default_factory=list)
    themes: list[ThemeSpec] = field(default_factory=list)
    seeds: list[SeedSpec] = field(default_factory=list)
    discarded: list[Discarded] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    problems: list[tuple[str, str, str]] = field(default_factory=list)  # (rule, code, why)


@dataclass(frozen=True)
class Previous:
    """What the previous run in a folder decided: memberships, audit trail, snapshot."""

    members: dict[str, tuple[str, ...]]
    audit: tuple[AuditEvent, ...]
    snapshot: dict[str, dict[str, Any]]


def _strs(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str | int):
        return (str(value),)
    return tuple(str(v) for v in value if v is not None and str(v).strip())


def read_previous(run_dir: Path) -> Previous | None:
    """The previous run's memberships (passages.jsonl), audit.jsonl and run.json snapshot."""
    from cppthemes.codec import read_audit, read_passages, read_run_json

    if not (run_dir / "passages.jsonl").is_file():
        return None
    members: dict[str, list[str]] = {}
    for record in read_passages(run_dir):
        if record.get("code"):
            members.setdefault(str(record["code"]), []).append(str(record["id"]))
    run = read_run_json(run_dir) if (run_dir / "run.json").is_file() else {}
    snapshot = ((run.get("codebook") or {}).get("codes")) or {}
    return Previous(
        members={k: tuple(v) for k, v in members.items()},
        audit=read_audit(run_dir),
        snapshot={str(k): dict(v) for k, v in snapshot.items()},
    )


def _decision(plan: Plan, entry: Any, number: int) -> None:
    """One entry of ``decisions:``: a mapping with one rule name as its key."""
    if not isinstance(entry, dict) or len(entry) != 1:
        plan.problems.append(("decision", f"#{number}", "expected one rule, e.g. 'discard: C09'"))
        return
    ((rule, value),) = entry.items()
    rule = str(rule)
    try:
        if rule == "rename":
            plan.renames[str(value["code"])] = str(value.get("label") or value["to"])
        elif rule == "describe":
            plan.describes[str(value["code"])] = str(value.get("text") or value["description"])
        elif rule == "merge":
            ids = _strs(value.get("codes") if isinstance(value, dict) else value)
            label = value.get("label") if isinstance(value, dict) else None
            if len(ids) < 2:
                raise ValueError("merge needs two codes or more")
            plan.merges.append((ids, str(label) if label else None))
        elif rule == "split":
            into = int(value.get("into", 2))
            if into < 2:
                raise ValueError("split needs into >= 2")
            plan.splits.append((str(value["code"]), into))
        elif rule in ("discard", "keep"):
            ids = _strs(value.get("codes") if isinstance(value, dict) else value)
            (plan.discards if rule == "discard" else plan.keeps).extend(ids)
        elif rule == "theme":
            plan.themes.append(
                ThemeSpec(
                    id=str(value["id"]) if value.get("id") else None,
                    label=str(value.get("label") or value.get("id")),
                    codes=_strs(value.get("codes")),
                    description=str(value.get("description") or ""),
                )
            )
        else:
            plan.problems.append(
                (
                    rule,
                    f"#{number}",
                    "unknown rule (allowed: rename, describe, merge, split, discard, keep, theme)",
                )
            )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        plan.problems.append((rule, f"#{number}", f"cannot be read ({exc})"))


def _read_seeds(plan: Plan, seeded: list[Any]) -> None:
    """The codes under ``seeded:``: a label and what defines it."""
    for number, s in enumerate(seeded, start=1):
        if not isinstance(s, dict) or not s.get("label"):
            plan.problems.append(("seed", f"#{number}", "a seeded code needs a label"))
            continue
        plan.seeds.append(
            SeedSpec(
                label=str(s["label"]),
                description=str(s.get("description") or ""),
                examples=_strs(s.get("examples")),
                passages=_strs(s.get("passages")),
                id=str(s["id"]) if s.get("id") else None,
                theme=str(s["theme"]) if s.get("theme") else None,
            )
        )


def read_plan(book: dict[str, Any], source: str, previous: Previous | None) -> Plan:
    """The decisions in a loaded codebook, explicit and in place."""
    plan = Plan(source=source)
    snapshot = previous.snapshot if previous else {}
    theme_edits: set[str] = set()
    for c in book.get("codes") or []:
        if not isinstance(c, dict) or not c.get("id"):
            plan.problems.append(("code", "?", "a code without an id"))
            continue
        code = BookCode(
            id=str(c["id"]),
            label=str(c.get("label") or c["id"]),
            description=str(c.get("description") or ""),
            status=str(c.get("status") or "candidate").strip().lower(),
            theme=str(c["theme"]) if c.get("theme") else None,
            examples=_strs(c.get("examples")),
            passages=_strs(c.get("passages")),
            quotes=tuple(
                (str(q.get("passage")), str(q.get("text", "")))
                for q in c.get("quotes") or []
                if isinstance(q, dict)
            ),
        )
        if code.status in DISCARD_STATUSES:
            plan.discards.append(code.id)
        before = snapshot.get(code.id)
        if before is not None:
            if code.label != before.get("label") and code.id not in plan.renames:
                plan.renames[code.id] = code.label
            if code.description != (before.get("description") or "") and code.description:
                plan.describes.setdefault(code.id, code.description)
            if code.theme and code.theme != before.get("theme"):
                theme_edits.add(code.theme)
        plan.codes.append(code)
    for number, entry in enumerate(book.get("decisions") or [], start=1):
        _decision(plan, entry, number)
    _read_seeds(plan, book.get("seeded") or [])
    themes = {str(t.get("id")): t for t in book.get("themes") or [] if isinstance(t, dict)}
    for tid, t in themes.items():
        edited = tid in theme_edits
        if str(t.get("status") or "").lower() in ANCHOR_STATUSES or edited:
            codes = (
                tuple(c.id for c in plan.codes if c.theme == tid)
                if edited
                else _strs(t.get("codes"))
            )
            plan.themes.append(
                ThemeSpec(
                    id=tid,
                    label=str(t.get("label") or tid),
                    codes=codes,
                    description=str(t.get("description") or ""),
                    rule="theme (edited)" if edited else "theme (kept)",
                )
            )
    for tid in sorted(theme_edits - set(themes)):
        plan.themes.append(
            ThemeSpec(
                id=tid,
                label=tid,
                codes=tuple(c.id for c in plan.codes if c.theme == tid),
                rule="theme (edited)",
            )
        )
    for d in book.get("discarded") or []:
        if isinstance(d, dict) and d.get("id"):
            plan.discarded.append(
                Discarded(str(d["id"]), str(d.get("label") or ""), _strs(d.get("passages")))
            )
    plan.retired = list(_strs(book.get("retired")))
    return plan
