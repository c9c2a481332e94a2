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


def _stability(value: float | None, unstable: bool) -> str:
    if value is None:
        return "not measured"
    flag = " **(unstable: check before you rely on it)**" if unstable else ""
    return f"{value:.2f}{flag}"


def _unstable(info: dict[str, object]) -> set[str]:
    stab = info.get("stability")
    return set(stab.get("unstable_codes") or []) if isinstance(stab, dict) else set()


def _code(code: Code, unstable: bool) -> str:
    parts = [
        f"### {code.id} {code.label}\n",
        f"- Keyphrases: {', '.join(code.keyphrases) or '(none)'}",
        f"- Prevalence: {prevalence_line(code.prevalence)}",
        f"- Coherence (mean similarity to the code's centre): {code.coherence:.2f}",
        f"- Stability (mean Jaccard of its best match when re-clustered on resamples): "
        f"{_stability(code.stability, unstable)}",
        "",
    ]
    parts.extend(_quote(q) for q in code.quotes)
    return "\n".join(parts)


def _run_stability(info: dict[str, object]) -> str:
    stab = info.get("stability")
    if not isinstance(stab, dict):
        return "not measured"
    unstable = stab.get("unstable_codes") or []
    text = (
        f"agreement across clustering seeds (ARI) {stab.get('ari_across_seeds')}, "
        f"across 80% resamples {stab.get('ari_across_resamples')}"
    )
    return text + (
        f"; unstable codes: {', '.join(unstable)}" if unstable else "; no unstable codes"
    )


def _tree(info: dict[str, object]) -> list[str]:
    nodes = info.get("theme_tree")
    if not isinstance(nodes, list) or not nodes:
        return []
    out = [
        "## How codes join (theme tree)",
        "",
        "Each line joins two codes or groups at a cosine distance; themes cut this tree.",
        "",
    ]
    out += [f"- {n['id']} = {' + '.join(n['children'])} at {n['distance']:.2f}" for n in nodes]
    return [*out, ""]


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
        f"- Stability: {_run_stability(info)}",
        "",
        "## Themes",
        "",
    ]
    for theme in result.themes:
        lines.append(f"### {theme.id} {theme.label}\n")
        lines.append(f"{prevalence_line(theme.prevalence)}\n")
        lines.append("| code | label | passages | speakers | transcripts | stability |")
        lines.append("|---|---|---|---|---|---|")
        for cid in theme.code_ids:
            c = codes[cid]
            p = c.prevalence
            stab = "n/a" if c.stability is None else f"{c.stability:.2f}"
            lines.append(
                f"| {c.id} | {c.label} | {p.passages} | {p.speakers} | "
                f"{p.transcripts}/{p.transcripts_total} | {stab} |"
            )
        lines.append("")
    lines += _tree(info)
    lines += ["## Codes", ""]
    unstable = _unstable(info)
    lines.extend(_code(c, c.id in unstable) for c in result.codes)
    return "\n".join(lines).rstrip() + "\n"
