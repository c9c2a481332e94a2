"""report.md: themes, codes, keyphrases, prevalence and verbatim quotes with provenance."""

from __future__ import annotations

from cppthemes.records import Code, Prevalence, Quote, Result


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def prevalence_line(p: Prevalence) -> str:
    """'17 passages from 9 participants in 6 of 8 transcripts; wave 1: 14 passages, wave 2: 3'.

    The sentence an analyst writes up. Participants are speaker labels within a transcript.
    """
    text = (
        f"{_plural(p.passages, 'passage')} from {_plural(p.speakers, 'participant')} "
        f"in {p.transcripts} of {p.transcripts_total} transcripts"
    )
    groups = []
    for key, counts in p.by_metadata.items():
        items = [f"{key} {value}: {n}" for value, n in counts.items()]
        if items:
            items[0] += " passage" if next(iter(counts.values())) == 1 else " passages"
        groups.append(", ".join(items))
    return text + ("; " + "; ".join(groups) if groups else "")


def fit_line(code: Code) -> str:
    """Coherence and distinctiveness in one line, flagged when the code is weak."""
    text = f"coherence {code.coherence:.2f}, distinctiveness {code.distinctiveness:+.2f}"
    if code.nearest_code:
        text += f" (nearest {code.nearest_code})"
    return text + (" — WEAK: read the quotes before trusting the label" if code.weak else "")


def _quote(q: Quote) -> str:
    where = f"{q.speaker}, {q.source} line {q.line}"
    if q.metadata:
        where += " (" + ", ".join(f"{k} {v}" for k, v in sorted(q.metadata.items())) + ")"
    body = " ".join(q.text.split())
    return f"> {body}\n>\n> — {where}\n"


def _code(code: Code) -> str:
    parts = [
        f"### {code.id} {code.label}{' (weak)' if code.weak else ''}\n",
        f"- Fit: {fit_line(code)}",
        f"- Keyphrases: {', '.join(code.keyphrases) or '(none)'}",
        f"- Prevalence: {prevalence_line(code.prevalence)}",
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
        f"- Passages coded or left uncoded: {stats.passages} "
        f"({stats.non_substantive_turns} back-channel turns not made passages, "
        f"{stats.split_turns} long turns split)",
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
        lines.append(
            "| code | label | passages | participants | transcripts | coherence | distinctiveness |"
        )
        lines.append("|---|---|---|---|---|---|---|")
        for cid in theme.code_ids:
            c = codes[cid]
            p = c.prevalence
            lines.append(
                f"| {c.id} | {c.label}{' (weak)' if c.weak else ''} | {p.passages} | "
                f"{p.speakers} | {p.transcripts}/{p.transcripts_total} | {c.coherence:.2f} | "
                f"{c.distinctiveness:+.2f} |"
            )
        lines.append("")
    lines += ["## Codes", ""]
    lines.extend(_code(c) for c in result.codes)
    return "\n".join(lines).rstrip() + "\n"
