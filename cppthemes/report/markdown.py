"""report.md: the report as text, with the same content as report.html except the figures.

Overview and settings, the theme -> code tree, prevalence by group (the heatmap's numbers),
each code's keyphrases, prevalence, coherence (and stability once measured) and verbatim quotes
with provenance, then the audit trail when the run folder has one.
"""

from __future__ import annotations

from typing import Any

from cppthemes.records import Result
from cppthemes.report.context import ReportContext, build_context, prevalence_line

__all__ = ["prevalence_line", "render_markdown"]


def _cell(text: Any) -> str:
    """A table cell: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(_cell(h) for h in header) + " |"]
    lines.append("|" + "---|" * len(header))
    lines.extend("| " + " | ".join(_cell(v) for v in row) + " |" for row in rows)
    return [*lines, ""]


def _code(code: dict[str, Any]) -> list[str]:
    lines = [f"### {code['id']} {code['label']}{' (weak)' if code['weak'] else ''}", ""]
    if code["description"]:
        lines += [code["description"], ""]
    if code.get("central"):
        central = code["central"]
        lines += [f"In their words: \u201c{central['text']}\u201d ({central['where']})", ""]
    lines += [
        f"- Theme: {code['theme'] or '(none)'}",
        f"- Keyphrases: {', '.join(code['keyphrases']) or '(none)'}",
        f"- Prevalence: {code['prevalence']}",
        f"- Fit: {code['fit']}",
    ]
    if code["stability"] is not None:
        flag = " **(unstable: check before relying on it)**" if code.get("unstable") else ""
        lines.append(
            "- Stability (best-match Jaccard when re-clustered on resamples): "
            f"{code['stability']:.2f}{flag}"
        )
    if code.get("folded"):
        lines.append(f"- Folded: {code['folded']}")
    if code.get("constructs"):
        lines.append(
            "- Closest framework constructs: "
            + "; ".join(f"{k['construct']} ({k['similarity']:.2f})" for k in code["constructs"])
        )
    lines.append("")
    for q in code["quotes"]:
        lines += [f"> {q['text']}", ">", f"> — {q['where']}"]
        if q.get("omitted"):
            lines += [">", "> (left out, another speaker: " + " / ".join(q["omitted"]) + ")"]
        lines.append("")
    return lines


def _seeded(rows: list[dict[str, Any]]) -> list[str]:
    """Which passages each seeded code took, and how confidently (similarity to its phrases)."""
    if not rows:
        return []
    lines = [
        "## Seeded codes",
        "",
        "Each seeded code took the passages at least `cluster.seed_threshold` similar to its "
        "phrases; the similarity is the confidence. Check the least confident first.",
        "",
    ]
    table = [[r["id"], r["label"], r["passages"], r["similarity"], r["check_first"]] for r in rows]
    return lines + _table(
        ["code", "label", "passages", "similarity to its phrases", "least confident"], table
    )


def _procedural(rows: list[dict[str, str]]) -> list[str]:
    """The procedural bin: every passage set aside, so nothing is lost in silence."""
    if not rows:
        return []
    lines = [
        "## Procedural bin",
        "",
        f"{len(rows)} passages were set aside as procedural or content-free (greetings, "
        "goodbyes, thanks, technical trouble, logistics, redaction masks, no content words): "
        "not coded, never quoted, counted as non-substantive (docs/clustering.md gives the "
        "rule; `--set cluster.procedural=false` codes them).",
        "",
    ]
    return lines + _table(
        ["kind", "where", "text"], [[r["kind"], r["where"], r["text"]] for r in rows]
    )


def render_context(ctx: ReportContext) -> str:
    lines = [
        "# Candidate codes and themes",
        "",
        "Proposed by cppthemes for an analyst to review: every code below is a suggestion, and "
        "every quote is verbatim with its file, speaker and line. report.html has the same "
        "content and more to work with: every passage of every code with the turns around it, "
        "a prevalence heatmap whose numbers open their passages, search and filters, a theme "
        "dendrogram and a map of the passages.",
        "",
    ]
    if ctx.warnings:
        lines += [
            "## Warnings",
            "",
            "Read these first: each names a transcript the run may have read wrong or not at "
            "all (see docs/ingest.md, 'Warnings').",
            "",
        ]
        lines += [f"- {_cell(w)}" for w in ctx.warnings] + [""]
    lines += [
        "## Overview",
        "",
    ]
    lines += [f"- {name}: {value}" for name, value in ctx.overview]
    lines.append("")
    if ctx.settings:
        lines += ["## Settings", ""]
        lines += _table(["setting", "value", "meaning"], [list(s) for s in ctx.settings])
    lines += _transcripts(ctx)
    lines += _themes(ctx)
    lines += _heatmap(ctx)
    if ctx.tree:
        lines += [
            "## How codes join (theme tree)",
            "",
            "Each line joins two codes or groups at a linkage distance (Ward on the code centres, "
            'unless themes.method is "distance": cosine); themes cut this tree.',
            "",
        ]
        lines += [f"- {node}" for node in ctx.tree] + [""]
    lines += ["## Codes", ""]
    for code in ctx.codes:
        lines += _code(code)
    lines += _seeded(ctx.seeded)
    lines += _procedural(ctx.procedural)
    lines += ["## Audit trail", ""]
    if ctx.audit:
        lines += _table(ctx.audit_columns, ctx.audit)
    else:
        lines += ["No codebook decisions are recorded in this run folder yet.", ""]
    return "\n".join(lines).rstrip() + "\n"


def _transcripts(ctx: ReportContext) -> list[str]:
    lines: list[str] = []
    lines += ["## Transcripts", ""]
    lines += _table(
        [
            "source",
            "metadata",
            "lines",
            "turns",
            "facilitator turns",
            "participant turns",
            "back-channels",
            "lines in no turn",
            "passages",
            "coded",
            "facilitator (decided by)",
        ],
        [
            [
                t["source"],
                t["metadata"],
                t["lines"],
                t["turns"],
                t["facilitator_turns"],
                t["participant_turns"],
                t["backchannels"],
                t["lines_in_no_turn"],
                t["passages"],
                t["coded"],
                t["facilitator"],
            ]
            for t in ctx.transcripts
        ],
    )
    evidence = [t for t in ctx.transcripts if t["roles_evidence"]]
    if evidence:
        lines += ["How each facilitator was decided:", ""]
        lines += [f"- {t['source']}: {_cell(t['roles_evidence'])}" for t in evidence] + [""]
    return lines


def _themes(ctx: ReportContext) -> list[str]:
    lines: list[str] = []
    lines += ["## Themes", ""]
    columns = [
        "code", "label", "passages", "participants", "transcripts", "coherence", "distinctiveness",
    ]  # fmt: skip
    if ctx.stability_shown:
        columns.append("stability")

    def row(c: dict[str, Any]) -> list[Any]:
        label = f"{c['label']} (weak)" if c["weak"] else c["label"]
        cells = [c["id"], label, c["size"], c["speakers"], c["transcripts"]]
        cells += [f"{c['coherence']:.2f}", f"{c['distinctiveness']:+.2f}"]
        if ctx.stability_shown:
            cells.append("" if c["stability"] is None else f"{c['stability']:.2f}")
        return cells

    for theme in ctx.themes:
        lines += [f"### {theme['id']} {theme['label']}", ""]
        if theme["description"]:
            lines += [theme["description"], ""]
        lines += [theme["prevalence"], ""]
        lines += _table(columns, [row(c) for c in theme["codes"]])
    if ctx.loose_codes:
        loose = [c for c in ctx.codes if c["id"] in ctx.loose_codes]
        lines += ["### Codes in no theme", ""]
        lines += _table(columns, [row(c) for c in loose])

    return lines


def _heatmap(ctx: ReportContext) -> list[str]:
    lines: list[str] = []
    hm = ctx.heatmap
    if hm.columns and ctx.codes:
        what = "metadata group" if hm.by == "metadata" else "transcript"
        lines += [
            "## Prevalence by group",
            "",
            f"Passages of each code per {what} (the group's share of its own passages in "
            "brackets).",
            "",
        ]
        header = [
            "code",
            *(f"{c} (n={n})" for c, n in zip(hm.columns, hm.group_totals, strict=True)),
        ]
        body = [
            [hm.rows[i]]
            + [f"{hm.counts[i, j]} ({hm.shares[i, j]:.0%})" for j in range(len(hm.columns))]
            for i in range(len(hm.rows))
        ]
        lines += _table(header, body)
    return lines


def render_markdown(result: Result) -> str:
    return render_context(build_context(result))
