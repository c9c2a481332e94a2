"""Terminal review of a run folder: the codes table and one code in detail.

Both read only the run folder (through ``load_run``), so they work without the model or the
transcripts; labels edited in codebook.yaml show at once.
"""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from cppthemes.errors import RunDirError
from cppthemes.report.context import prevalence_line, quote_where, unstable_codes
from cppthemes.runfolder import load_run

# (heading, right-aligned): numbers are right-aligned so they compare down a column.
COLUMNS = (
    ("id", False), ("label", False), ("status", False), ("theme", False), ("size", True),
    ("participants", True), ("transcripts", True), ("stability", True), ("weak", False),
    ("unstable", False),
)  # fmt: skip


def code_rows(run_dir: Path) -> list[tuple[str, ...]]:
    """One row per code, in COLUMNS order; flags say "weak" / "unstable", else nothing."""
    result = load_run(run_dir)
    theme_of = result.theme_of()
    unstable = unstable_codes(result)
    return [
        (
            c.id,
            c.label,
            c.status,
            theme_of.get(c.id, ""),
            str(c.size),
            str(c.prevalence.speakers),
            f"{c.prevalence.transcripts}/{c.prevalence.transcripts_total}",
            "" if c.stability is None else f"{c.stability:.2f}",
            "weak" if c.weak else "",
            "unstable" if c.id in unstable else "",
        )
        for c in result.codes
    ]


def codes_table(run_dir: Path) -> Table:
    """``cppthemes codes``: the codes as a table, with a caption saying how many to check."""
    rows = code_rows(run_dir)
    weak = sum(1 for r in rows if r[8])
    unstable = sum(1 for r in rows if r[9])
    caption = (
        f"{len(rows)} codes; {weak} weak (low coherence or distinctiveness), {unstable} "
        "unstable (change when re-clustered): read their passages before relying on them. "
        f"`cppthemes show {run_dir} ID` prints one code."
    )
    table = Table(title=str(run_dir), caption=caption, caption_justify="left")
    for heading, right in COLUMNS:
        table.add_column(heading, justify="right" if right else "left")
    for row in rows:
        table.add_row(*row)
    return table


def code_detail(run_dir: Path, code_id: str) -> str:
    """A code as text: label, description, keyphrases, prevalence, neighbours, quotes."""
    result = load_run(run_dir)
    by_id = {c.id: c for c in result.codes}
    code = by_id.get(code_id) or by_id.get(code_id.upper())
    if code is None:
        raise RunDirError(f"{run_dir}: no code {code_id!r} (codes: {', '.join(by_id) or 'none'})")
    lines = [f"{code.id}  {code.label}  [{code.status}]"]
    if code.description:
        lines.append(code.description)
    lines.append(f"keyphrases: {', '.join(code.keyphrases) or '(none)'}")
    lines.append(f"prevalence: {prevalence_line(code.prevalence)}")
    if code.stability is not None:
        lines.append(f"stability: {code.stability:.2f}")
    neighbours = result.info.neighbours.get(code.id) or []
    if neighbours:
        near = [f"{cid} {by_id[cid].label} ({sim:.2f})" for cid, sim in neighbours if cid in by_id]
        lines.append("nearest codes: " + "; ".join(near))
    if code.constructs:
        lines.append(
            "closest constructs: " + "; ".join(f"{k} ({v:.2f})" for k, v in code.constructs)
        )
    lines.append("")
    passages = {p.id: p for p in result.passages}
    for q in code.quotes:
        lines.append(f'"{" ".join(q.text.split())}"')
        lines.append(f"    - {quote_where(q, passages.get(q.passage_id))}")
    return "\n".join(lines)
