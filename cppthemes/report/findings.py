"""What the report shows beside codes and themes: the procedural bin, the seeded codes and
the folded groups.

Read from run.json's ``procedural``, ``seeded_codes`` and ``stability.folded``
(cppthemes/procedural.py, cppthemes/seed_codes.py, cppthemes/cluster/stable.py), so a report
made again from a run folder shows the same.
"""

from __future__ import annotations

from typing import Any

from cppthemes.provenance import place
from cppthemes.records import Result


def binned_line(result: Result) -> str:
    """What the procedural bin holds, as the end of the coverage line ('' when empty)."""
    n = int((result.info.procedural or {}).get("passages", 0))
    if not n:
        return ""
    substantive = len(result.passages) - n
    coded = sum(1 for p in result.passages if result.passage_codes.get(p.id) is not None)
    return (
        f"; {n} procedural passages (greetings, thanks, masks, ...) set aside as "
        f"non-substantive, so {coded} of {substantive} substantive passages coded "
        f"({coded / max(1, substantive):.0%}; listed under 'Procedural bin')"
    )


def seeded_rows(result: Result) -> list[dict[str, Any]]:
    """Each seeded code: passages taken and their similarity to its phrases, in words."""
    rows = []
    for cid, s in (result.info.seeded_codes or {}).items():
        sim = s.get("similarity") or {}
        spread = (
            f"median {sim['median']:.2f} (from {sim['min']:.2f} to {sim['max']:.2f})"
            if sim.get("median") is not None
            else "no passages yet"
        )
        least = "; ".join(f"{r['where']} ({r['similarity']:.2f})" for r in s["least_confident"])
        rows.append(
            {
                "id": cid,
                "label": s.get("label", ""),
                "passages": s.get("passages", 0),
                "similarity": spread,
                "check_first": least,
            }
        )
    return rows


def procedural_rows(result: Result) -> list[dict[str, str]]:
    """The procedural bin as report rows: kind, where (speaker, file, line) and the text."""
    from cppthemes.procedural import Bin

    raw = result.info.procedural or {}
    kinds = Bin.from_info(raw).kinds
    by_id = {p.id: p for p in result.passages}
    rows = []
    for pid in raw.get("passage_ids", []):
        p = by_id.get(pid)
        if p is None:
            continue
        text = " ".join(p.text.split())
        rows.append(
            {
                "kind": kinds.get(pid, ""),
                "where": f"{p.speaker}, {p.source} {place(p)}",
                "text": text if len(text) <= 160 else text[:157] + "...",
            }
        )
    return rows


def folded_by_code(stab: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Per code id: the groups of passages folded into it (run.json ``stability.folded``)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for fold in stab.get("folded") or []:
        if isinstance(fold, dict) and fold.get("into"):
            out.setdefault(str(fold["into"]), []).append(fold)
    return out


def folded_line(folds: list[dict[str, Any]]) -> str:
    """One line on what a code was folded from, for both reports."""
    parts = "; ".join(
        f"{f.get('passages')} passages (stability {f.get('stability', 0):.2f} on their own)"
        for f in folds
    )
    return (
        f"{len(folds)} group{'s' if len(folds) != 1 else ''} that did not come back as codes "
        f"of their own folded in: {parts}"
    )
