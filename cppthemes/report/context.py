"""What a report says, computed once: report.md and report.html render the same content.

Everything here is plain data (strings, numbers, lists, dicts), so the HTML template can be
autoescaped and the markdown renderer can stay simple. Optional parts (stability, the audit
trail) appear only when the run produced them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cppthemes.palette import code_colour
from cppthemes.provenance import kind_of, place
from cppthemes.records import Code, Passage, Prevalence, Quote, Result, RunInfo
from cppthemes.report.findings import (
    binned_line,
    folded_by_code,
    folded_line,
    procedural_rows,
    seeded_rows,
)

# Settings worth showing beside the results: (config section, key, what it means).
SETTINGS = (
    ("embed", "model", "embedding model"),
    ("segment", "embed_context", "facilitator prompt embedded with the answer"),
    ("segment", "min_words", "words a turn needs to become a passage"),
    ("cluster", "method", "clustering method"),
    ("cluster", "n_codes", "codes asked for (0 = from corpus size)"),
    ("cluster", "min_size", "smallest code (passages)"),
    ("cluster", "min_similarity", "least similarity to a code's centre"),
    ("cluster", "seed", "random seed"),
    ("themes", "distance_threshold", "theme distance threshold"),
    ("label", "language", "language of stop words and lemmas"),
)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def prevalence_line(p: Prevalence) -> str:
    """'17 passages from 9 participants in 6 of 8 transcripts; wave 1: 14 passages, wave 2: 3'.

    The sentence an analyst writes up. Participants are people (cppthemes/people.py: a name
    counts once across transcripts; "P3" once per transcript).
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


def quote_where(q: Quote, passage: Passage | None = None) -> str:
    """Provenance of a quote in the original file: 'Hanne, c1-w2.txt line 41 (site x, wave 2)',
    'Dan, call.vtt 00:12:31, line 45', 'P3, sessions.xlsx row 12'."""
    # A quote's own place first: "lines 41-43" (its full range in a text file), a time or a
    # row; else its first line (a quote can start after a back-channel it leaves out).
    ref = q.where or (
        place(passage) if passage is not None and kind_of(q.source) != "text" else f"line {q.line}"
    )
    where = f"{q.speaker}, {q.source} {ref}"
    if q.metadata:
        where += " (" + ", ".join(f"{k} {v}" for k, v in sorted(q.metadata.items())) + ")"
    return where


@dataclass
class Heatmap:
    """Codes (rows) x groups (columns): passage counts and shares of each group's passages."""

    rows: list[str]
    columns: list[str]
    counts: np.ndarray
    shares: np.ndarray
    group_totals: list[int]
    by: str  # what the columns are: "metadata" or "transcript"


@dataclass
class ReportContext:
    """The content of a report, independent of its format."""

    warnings: list[str]
    overview: list[tuple[str, str]]
    settings: list[tuple[str, str, str]]
    transcripts: list[dict[str, Any]]
    themes: list[dict[str, Any]]
    loose_codes: list[str]
    codes: list[dict[str, Any]]
    heatmap: Heatmap
    stability_shown: bool
    audit_columns: list[str] = field(default_factory=list)
    audit: list[list[str]] = field(default_factory=list)
    tree: list[str] = field(default_factory=list)
    # The procedural bin (cppthemes/procedural.py): one row per passage set aside.
    procedural: list[dict[str, str]] = field(default_factory=list)
    # Seeded codes (--seed-codes, --deductive): passages taken and how confidently.
    seeded: list[dict[str, Any]] = field(default_factory=list)


def heatmap(result: Result) -> Heatmap:
    """Prevalence by group, counted from the passages themselves.

    Columns are metadata values (``wave=1``...) when the corpus has a manifest, else
    transcripts. The share divides by all of a group's passages, so groups of different sizes
    compare fairly.
    """
    attrs = sorted({(k, v) for p in result.passages for k, v in p.metadata.items()})
    by = "metadata" if attrs else "transcript"
    columns = [f"{k}={v}" for k, v in attrs] if attrs else [t.id for t in result.transcripts]
    column = {name: j for j, name in enumerate(columns)}
    index = {c.id: i for i, c in enumerate(result.codes)}
    counts = np.zeros((len(result.codes), len(columns)), dtype=int)
    totals = np.zeros(len(columns), dtype=int)
    for p in result.passages:
        groups = [f"{k}={v}" for k, v in p.metadata.items()] if attrs else [p.transcript_id]
        code = result.passage_codes.get(p.id)
        for j in (column[g] for g in groups if g in column):
            totals[j] += 1
            if code in index:
                counts[index[code], j] += 1
    shares = counts / np.maximum(totals, 1)
    return Heatmap(
        rows=[f"{c.id} {c.label}" for c in result.codes],
        columns=columns,
        counts=counts,
        shares=shares,
        group_totals=[int(n) for n in totals],
        by=by,
    )


def _code(
    code: Code, index: int, theme: str | None, hm: Heatmap, passages: dict[str, Passage]
) -> dict[str, Any]:
    return {
        "id": code.id,
        "label": code.label,
        "colour": code_colour(index),
        "theme": theme,
        "status": str(code.status),
        "description": code.description,
        "keyphrases": list(code.keyphrases),
        "size": code.size,
        "coherence": code.coherence,
        "distinctiveness": code.distinctiveness,
        "nearest_code": code.nearest_code,
        "weak": code.weak,
        "fit": fit_line(code),
        "stability": code.stability,
        "prevalence": prevalence_line(code.prevalence),
        "speakers": code.prevalence.speakers,
        "transcripts": f"{code.prevalence.transcripts}/{code.prevalence.transcripts_total}",
        "groups": [
            {"group": col, "count": int(hm.counts[index, j]), "total": hm.group_totals[j]}
            for j, col in enumerate(hm.columns)
        ],
        "quotes": [
            {
                "text": " ".join(q.text.split()),
                "where": quote_where(q, passages.get(q.passage_id)),
                "similarity": q.similarity,
                "omitted": [" ".join(o.split()) for o in q.omitted],
            }
            for q in code.quotes
        ],
        "central": {
            "text": " ".join(code.central.text.split()),
            "where": quote_where(code.central, passages.get(code.central.passage_id)),
        }
        if code.central is not None
        else None,
        "constructs": [{"construct": k, "similarity": v} for k, v in code.constructs],
    }


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


def _coverage(result: Result, coded: int) -> str:
    """Passages coded, and beside it the transcripts that gave none (never a share alone)."""
    text = f"{coded} of {len(result.passages)} passages coded ({result.coverage:.0%})"
    with_passages = {p.transcript_id for p in result.passages}
    empty = [t.source for t in result.transcripts if t.id not in with_passages]
    skipped = len(result.info.skipped)
    if empty or skipped:
        total = len(result.transcripts) + skipped
        text += f"; but only {total - len(empty) - skipped} of {total} files gave passages"
        text += f" ({len(empty)} read with no passage, {skipped} not read: see Warnings)"
    return text


def build_context(result: Result) -> ReportContext:
    """Everything both renderers show, from a run's records and its ``RunInfo``."""
    info = result.info
    stabilities = [c.stability for c in result.codes if c.stability is not None]
    unstable = set((info.stability or {}).get("unstable_codes") or [])
    hm = heatmap(result)
    theme_of = result.theme_of()
    by_passage = {p.id: p for p in result.passages}
    codes = [_code(c, i, theme_of.get(c.id), hm, by_passage) for i, c in enumerate(result.codes)]
    folded = folded_by_code(info.stability or {})
    for code in codes:
        code["unstable"] = code["id"] in unstable
        code["folded"] = folded_line(folded[code["id"]]) if code["id"] in folded else ""
    by_id = {c["id"]: c for c in codes}
    themes = [
        {
            "id": t.id,
            "label": t.label,
            "description": t.description,
            "prevalence": prevalence_line(t.prevalence),
            "codes": [by_id[cid] for cid in t.code_ids if cid in by_id],
        }
        for t in result.themes
    ]
    audit_columns, audit = _audit_table(result)
    return ReportContext(
        warnings=_warnings(info),
        overview=_overview(result, stabilities, unstable),
        settings=_settings(info.config),
        transcripts=_transcript_rows(result),
        themes=themes,
        loose_codes=[c.id for c in result.codes if c.id not in theme_of],
        codes=codes,
        heatmap=hm,
        stability_shown=bool(stabilities),
        audit_columns=audit_columns,
        audit=audit,
        tree=_tree_lines(info.theme_tree),
        procedural=procedural_rows(result),
        seeded=seeded_rows(result),
    )


def _overview(
    result: Result, stabilities: list[float], unstable: set[str]
) -> list[tuple[str, str]]:
    stats = result.segment_stats
    info = result.info
    coded = sum(1 for p in result.passages if result.passage_codes.get(p.id) is not None)
    overview = [
        ("Transcripts", str(len(result.transcripts))),
        (
            "Turns",
            f"{stats.turns} ({stats.facilitator_turns} facilitator, "
            f"{stats.participant_turns} participant)",
        ),
        (
            "Passages",
            f"{stats.passages}, segmented by {stats.strategy} "
            f"({stats.non_substantive_turns} back-channel turns not made passages, "
            f"{stats.merged_turns} merged into a neighbouring passage, "
            f"{stats.split_turns} long turns split"
            + (f", {stats.topic_segments} topic segments)" if stats.strategy == "topic" else ")"),
        ),
        ("Candidate codes", f"{len(result.codes)} in {len(result.themes)} candidate themes"),
        ("Coverage", _coverage(result, coded) + binned_line(result)),
        ("Embedding model", str(info.model.id)),
    ]
    if stabilities:
        overview.append(("Stability", _stability_line(info.stability or {}, stabilities, unstable)))
    framework = info.framework
    if framework and framework.get("name"):
        overview.append(
            (
                "Framework",
                f"{framework['name']} ({framework.get('constructs')} constructs; each code lists "
                "its closest)"
                + ("; constructs seeded as codes" if framework.get("deductive") else ""),
            )
        )
    if info.cppthemes:
        overview.append(("cppthemes version", str(info.cppthemes)))
    return overview


def _stability_line(stab: dict[str, Any], stabilities: list[float], unstable: set[str]) -> str:
    text = (
        f"mean {sum(stabilities) / len(stabilities):.2f} over {len(stabilities)} codes "
        "(each code's best-match Jaccard overlap when the corpus is re-clustered on "
        "80% resamples)"
    )
    if stab.get("ari_across_resamples") is not None:
        text += (
            f"; agreement of whole partitions (ARI) across resamples "
            f"{stab['ari_across_resamples']}, across seeds "
            f"{stab.get('ari_across_seeds')}"
        )
    folds = folded_by_code(stab)
    if folds:
        text += (
            f"; {sum(len(f) for f in folds.values())} groups that did not come back on "
            f"resamples were folded into their nearest code ({', '.join(sorted(folds))})"
        )
    return text + (
        f"; unstable (below {stab.get('unstable_below', 0.5)}): {', '.join(sorted(unstable))}"
        if unstable
        else "; no unstable codes"
    )


def _settings(config: dict[str, Any]) -> list[tuple[str, str, str]]:
    settings = []
    for section, key, meaning in SETTINGS:
        sect = config.get(section)
        if isinstance(sect, dict) and key in sect:
            settings.append((f"{section}.{key}", _value(sect[key]), meaning))
    return settings


def _transcript_rows(result: Result) -> list[dict[str, Any]]:
    """One row per transcript: what it gave, line by line (the report's accounting table)."""
    counted: dict[str, list[int]] = {}
    for p in result.passages:
        entry = counted.setdefault(p.transcript_id, [0, 0])
        entry[0] += 1
        entry[1] += result.passage_codes.get(p.id) is not None
    accounts = {a.source: a for a in result.info.accounts}
    rows = []
    for t in result.transcripts:
        a = accounts.get(t.source)
        names = [s for s, r in t.roles.items() if r == "facilitator"]
        rows.append(
            {
                "source": t.source,
                "metadata": ", ".join(f"{k} {v}" for k, v in sorted(t.metadata.items())),
                "lines": a.lines if a else "",
                "turns": len(t.turns) or (a.turns if a else ""),
                "facilitator_turns": a.facilitator_turns if a else "",
                "participant_turns": a.participant_turns if a else "",
                "backchannels": a.backchannels if a else "",
                "lines_in_no_turn": a.lines_in_no_turn if a else "",
                "facilitator": (
                    f"{', '.join(names) or 'none'} ({t.roles_from or 'names'}"
                    + (", uncertain" if t.roles_uncertain else "")
                    + ")"
                ),
                "roles_evidence": t.roles_evidence,
                "passages": counted.get(t.id, [0, 0])[0],
                "coded": counted.get(t.id, [0, 0])[1],
            }
        )
    return rows


def _warnings(info: RunInfo) -> list[str]:
    """The run's warnings, then the files it could not read."""
    warnings = [str(w) for w in info.warnings]
    return warnings + [
        (f"{w.path}:{w.line}" if w.line else w.path) + f": not read: {w.reason}"
        for w in info.skipped
    ]


def _audit_table(result: Result) -> tuple[list[str], list[list[str]]]:
    """The audit trail as a table: every key any event has, in order of first appearance."""
    columns: list[str] = []
    decisions = [e.as_dict() for e in result.audit]
    for decision in decisions:
        columns.extend(str(k) for k in decision if k not in columns)
    return columns, [[_value(d.get(k)) for k in columns] for d in decisions]


def _tree_lines(nodes: object) -> list[str]:
    """'N03 = C01 + N01 at 0.41': how codes join, bottom up; themes cut this tree."""
    if not isinstance(nodes, list):
        return []
    return [
        f"{n['id']} = {' + '.join(str(c) for c in n['children'])} at {float(n['distance']):.2f}"
        for n in nodes
        if isinstance(n, dict) and {"id", "children", "distance"} <= set(n)
    ]


# Run info as reports and exports read it: every read of ``Result.info`` outside this module
# goes through these, so a change to the RunInfo record changes one place.


def run_config(result: Result) -> dict[str, Any]:
    """The run's settings as recorded (section -> key -> value); {} when none were."""
    return result.info.config or {}


def run_setting(result: Result, section: str, key: str, default: Any) -> Any:
    """One recorded setting, ``default`` when the run did not record it (older run folders)."""
    sect = run_config(result).get(section)
    return sect.get(key, default) if isinstance(sect, dict) else default


def unstable_codes(result: Result) -> set[str]:
    """Ids of the codes the stability check flagged (below ``cluster.unstable_below``)."""
    listed = (result.info.stability or {}).get("unstable_codes")
    return {str(c) for c in listed} if isinstance(listed, list) else set()


def theme_tree(result: Result) -> list[dict[str, Any]]:
    """The merge tree of code centres: nodes {id, children, distance}, bottom up."""
    return [
        n
        for n in result.info.theme_tree
        if isinstance(n, dict) and {"id", "children", "distance"} <= set(n)
    ]


def run_model(result: Result) -> str:
    """The embedding model's id as the run recorded it ("?" when unknown)."""
    return result.info.model.id or "?"


def run_version(result: Result) -> str:
    """The cppthemes version that made the run ("" when unknown)."""
    return result.info.cppthemes or ""
