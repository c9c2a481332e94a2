"""report.html as a place to work: every passage of every code, with the turns around it.

The static report showed five quotes a code; an analyst checking a code needs all of its
passages, each with the facilitator's prompt and the neighbouring turns, and a way from a
number in the heatmap to the passages behind it. This module computes that as plain data for
the template: passage lists per code (and the uncoded ones), the heatmap as table rows grouped
by theme, and the values the page's filters offer. Everything is rendered into the HTML, so the
page reads with scripts off; the inline script only filters, searches and sorts what is there.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any

from cppthemes.provenance import place
from cppthemes.records import Passage, Result, Transcript, Turn
from cppthemes.report.context import Heatmap, ReportContext, unstable_codes
from cppthemes.report.plots import BLUES, blues

# Neighbouring turns are context, not quotes: long ones are cut here (marked with "…"), so
# a 3,000-passage report stays a few megabytes. The passage itself is always whole.
NEIGHBOUR_CHARS = 280


@dataclass
class Workspace:
    """What the interactive parts of report.html show."""

    passages: dict[str, list[dict[str, Any]]]  # code id ("" = uncoded) -> passage items
    heat_rows: list[dict[str, Any]]  # theme header rows and code rows of the heatmap table
    heat_columns: list[dict[str, Any]]
    groups: list[str]  # filter values: "wave=1", ... (or transcript ids)
    speakers: list[str]
    themes: list[tuple[str, str]]  # (id, label)
    total: int = 0
    flags: dict[str, list[str]] = field(default_factory=dict)  # code id -> ["weak", ...]


def _short(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= NEIGHBOUR_CHARS else flat[: NEIGHBOUR_CHARS - 1].rstrip() + "…"


class _Turns:
    """A transcript's turns by character position: which turn ends before, starts after."""

    def __init__(self, t: Transcript) -> None:
        self.turns: list[Turn] = sorted(t.turns, key=lambda turn: turn.char_start)
        self.starts = [turn.char_start for turn in self.turns]
        self.ends = sorted(turn.char_end for turn in self.turns)

    def around(self, p: Passage) -> tuple[Turn | None, Turn | None]:
        i = bisect.bisect_right(self.starts, p.char_start) - 1
        while i >= 0 and self.turns[i].char_end > p.char_start:
            i -= 1
        j = bisect.bisect_left(self.starts, p.char_end)
        before = self.turns[i] if i >= 0 else None
        after = self.turns[j] if j < len(self.turns) else None
        return before, after


def _turn_item(turn: Turn, role: str) -> dict[str, str]:
    line = turn.ref_line if turn.ref_line is not None else turn.line_start
    return {"role": role, "speaker": turn.speaker, "text": _short(turn.text), "line": str(line)}


def _context(p: Passage, turns: _Turns | None) -> list[dict[str, str]]:
    """The prompt the passage answers, then the turn before (if another) and the turn after."""
    items: list[dict[str, str]] = []
    before, after = turns.around(p) if turns else (None, None)
    prompt = " ".join((p.context or "").split())
    if prompt:
        items.append({"role": "prompt", "speaker": "", "text": _short(prompt), "line": ""})
    if before is not None and " ".join(before.text.split()) not in (prompt, ""):
        items.append(_turn_item(before, "before"))
    if after is not None:
        items.append(_turn_item(after, "after"))
    return items


def _groups(p: Passage, by: str) -> list[str]:
    if by == "metadata":
        return [f"{k}={v}" for k, v in sorted(p.metadata.items())]
    return [p.transcript_id]


def passage_items(result: Result, by: str) -> dict[str, list[dict[str, Any]]]:
    """Code id -> its passages in file order, each with text, reference, context and groups."""
    turns = {t.id: _Turns(t) for t in result.transcripts if t.turns}
    theme_of = result.theme_of()
    out: dict[str, list[dict[str, Any]]] = {c.id: [] for c in result.codes}
    out[""] = []
    for p in sorted(result.passages, key=lambda p: (p.source, p.char_start)):
        code = result.passage_codes.get(p.id) or ""
        meta = ", ".join(f"{k} {v}" for k, v in sorted(p.metadata.items()))
        out.setdefault(code, []).append(
            {
                "id": p.id,
                "code": code,
                "theme": theme_of.get(code, "") if code else "",
                "speaker": p.speaker,
                "groups": _groups(p, by),
                "text": p.text,
                "where": f"{p.speaker}, {p.source} {place(p)}" + (f" ({meta})" if meta else ""),
                "context": _context(p, turns.get(p.transcript_id)),
            }
        )
    return out


def _cell(hm: Heatmap, i: int, j: int, peak: float) -> dict[str, Any]:
    share = float(hm.shares[i, j])
    count = int(hm.counts[i, j])
    column = hm.columns[j]
    return {
        "count": count,
        "group": column,
        "colour": blues(share / peak) if peak > 0 else BLUES[0],
        "dark": peak > 0 and share > peak * 0.6,
        "title": f"{count} of the {hm.group_totals[j]} passages of {column} ({share:.0%})",
    }


def heat_rows(ctx: ReportContext) -> list[dict[str, Any]]:
    """The heatmap as table rows, codes grouped under their themes (loose codes last)."""
    hm = ctx.heatmap
    row_of = {c["id"]: i for i, c in enumerate(ctx.codes)}
    peak = float(hm.shares.max()) if hm.shares.size else 0.0
    rows: list[dict[str, Any]] = []
    sections = [(f"{t['id']} {t['label']}", [c["id"] for c in t["codes"]]) for t in ctx.themes]
    if ctx.loose_codes:
        sections.append(("Codes in no theme", list(ctx.loose_codes)))
    for title, members in sections:
        rows.append({"theme": title})
        for cid in members:
            i = row_of.get(cid)
            if i is None:
                continue
            code = ctx.codes[i]
            cells = [_cell(hm, i, j, peak) for j in range(len(hm.columns))]
            rows.append({"code": code, "cells": cells})
    return rows


def build_workspace(result: Result, ctx: ReportContext) -> Workspace:
    hm = ctx.heatmap
    unstable = unstable_codes(result)
    flags = {
        c.id: [f for f, on in (("weak", c.weak), ("unstable", c.id in unstable)) if on]
        for c in result.codes
    }
    return Workspace(
        passages=passage_items(result, hm.by),
        heat_rows=heat_rows(ctx),
        heat_columns=[
            {"name": n, "total": t} for n, t in zip(hm.columns, hm.group_totals, strict=True)
        ],
        groups=list(hm.columns),
        speakers=sorted({p.speaker for p in result.passages}, key=str.casefold),
        themes=[(t["id"], t["label"]) for t in ctx.themes],
        total=len(result.passages),
        flags=flags,
    )
