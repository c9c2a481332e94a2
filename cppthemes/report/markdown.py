"""report.md: themes, codes, keyphrases, prevalence and verbatim quotes with provenance."""

from __future__ import annotations

from cppthemes.records import Code, Prevalence, Quote, Result


def prevalence_line(p: Prevalence) -> str:
    """'12 passages from 9 speakers in 6 of 8 transcripts; wave 1: 8, wave 2: 4'."""
    text = (
        f"{p.passages} passages from {p.speakers} speakers "
        f"in {p.transcripts} of {p.transcripts_total} transcripts"
    )
    groups = [
        ", ".join(f"{key} {value}: {n}" for value, n in counts.items())
        for key, counts in p.by_metadata.items()
    ]
    return text + ("; " + "; ".join(groups) if groups else "")


def _quote(q: Quote) -> str:
    where = f"{q.speaker}, {q.source} line {q.line}"
    if q.metadata:
        where += " (" + ", ".join(f"{k} {v}" for k, v in sorted(q.metadata.items())) + ")"
    body = " ".join(q.text.split())
    return f"> {body}\n>\n> — {where}\n"


def _code(code: Code) -> str:
    parts = [
        f"### {code.id} {code.label}\n",
        f"- Keyphrases: {', '.join(code.keyphrases) or '(none)'}",
        f"- Prevalence: {prevalence_line(code.prevalence)}",
        f"- Coherence (mean similarity to the code's centre): {code.coherence:.2f}",
        "",
    ]
    parts.extend(_quote(q) for q in code.quotes)
    return "\n".join(parts)


def render_markdown(result: Result) -> str:
    stats = result.segment_stats
    info = result.info
    codes = {c.id: c for c in result.codes}
    coded = sum(c.size for c in result.codes)
    lines = [
        "# Candidate codes and themes",
        "",
        "Proposed by cppthemes for an analyst to review: every code below is a suggestion, and "
        "every quote is verbatim with its file, speaker and line.",
        "",
        "## Overview",
        "",
        f"- Transcripts: {len(result.transcripts)}; turns: {stats.turns} "
        f"({stats.facilitator_turns} facilitator, {stats.participant_turns} participant)",
        f"- Passages coded or left uncoded: {stats.passages}, segmented by {stats.strategy} "
        f"({stats.non_substantive_turns} back-channel turns not made passages, "
        f"{stats.merged_turns} merged into a neighbouring passage, "
        f"{stats.split_turns} long turns split"
        + (f", {stats.topic_segments} topic segments)" if stats.strategy == "topic" else ")"),
        f"- Candidate codes: {len(result.codes)} in {len(result.themes)} candidate themes",
        f"- Coverage: {coded} of {stats.passages} passages coded ({result.coverage:.0%})",
        f"- Embedding model: {info.get('model', '?')}",
        "",
        "## Themes",
        "",
    ]
    for theme in result.themes:
        lines.append(f"### {theme.id} {theme.label}\n")
        lines.append(f"{prevalence_line(theme.prevalence)}\n")
        lines.append("| code | label | passages | speakers | transcripts |")
        lines.append("|---|---|---|---|---|")
        for cid in theme.code_ids:
            c = codes[cid]
            p = c.prevalence
            lines.append(
                f"| {c.id} | {c.label} | {p.passages} | {p.speakers} | "
                f"{p.transcripts}/{p.transcripts_total} |"
            )
        lines.append("")
    lines += ["## Codes", ""]
    lines.extend(_code(c) for c in result.codes)
    return "\n".join(lines).rstrip() + "\n"
