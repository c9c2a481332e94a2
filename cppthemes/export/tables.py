"""Tables for spreadsheets: codes, themes, prevalence by group, passages; CSV or one workbook.

CSV files are UTF-8 with a byte-order mark by default (``export.csv_bom``): without it Excel
on Windows reads them in the machine's code page and garbles "ø" and "é".
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from cppthemes.provenance import place
from cppthemes.records import Result
from cppthemes.report.context import heatmap, prevalence_line, run_setting

BOM = "\ufeff"


def _csv(header: Sequence[str], rows: Sequence[Sequence[Any]], bom: bool = True) -> str:
    buffer = io.StringIO()
    if bom:
        buffer.write(BOM)
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _metadata_keys(result: Result) -> list[str]:
    return sorted({k for t in result.transcripts for k in t.metadata})


def _metadata_columns(result: Result) -> list[tuple[str, str]]:
    """(attribute, value) pairs seen in the corpus, e.g. ("wave", "1"), ("wave", "2")."""
    return sorted({(k, v) for t in result.transcripts for k, v in t.metadata.items()})


Table = tuple[list[str], list[list[Any]]]


def codes_table(result: Result) -> Table:
    """Header and rows of codes.csv; a ``stability`` column appears once stability exists."""
    theme_of = result.theme_of()
    columns = _metadata_columns(result)
    with_stability = any(c.stability is not None for c in result.codes)
    header = [
        "id", "label", "theme", "size", "speakers", "transcripts", "coherence",
        "distinctiveness", "nearest_code", "weak", "keyphrases",
        *(["stability"] if with_stability else []),
        *(f"{k}={v}" for k, v in columns),
    ]  # fmt: skip
    rows = []
    for c in result.codes:
        by = c.prevalence.by_metadata
        stability = [] if not with_stability else [
            "" if c.stability is None else round(c.stability, 3)
        ]  # fmt: skip
        rows.append(
            [
                c.id,
                c.label,
                theme_of.get(c.id, ""),
                c.size,
                c.prevalence.speakers,
                c.prevalence.transcripts,
                round(c.coherence, 3),
                round(c.distinctiveness, 3),
                c.nearest_code or "",
                "yes" if c.weak else "",
                "; ".join(c.keyphrases),
                *stability,
            ]
            + [by.get(k, {}).get(v, 0) for k, v in columns]
        )
    return header, rows


def csv_bom(result: Result) -> bool:
    """Whether CSVs start with a byte-order mark (``export.csv_bom``, on unless set false)."""
    return bool(run_setting(result, "export", "csv_bom", True))


def codes_csv(result: Result) -> str:
    header, rows = codes_table(result)
    fixed = [header.index("coherence"), header.index("distinctiveness")]
    for row in rows:
        for i in fixed:
            row[i] = f"{row[i]:.3f}"
    return _csv(header, rows, csv_bom(result))


def passages_csv(result: Result) -> str:
    return _csv(*passages_table(result), bom=csv_bom(result))


def themes_table(result: Result) -> Table:
    """One row per theme: its label and description (which appear nowhere else), its codes
    with their labels, its size and the prevalence sentence an analyst writes up."""
    labels = {c.id: c.label for c in result.codes}
    sizes = {c.id: c.size for c in result.codes}
    header = [
        "id", "label", "description", "codes", "code_labels", "size", "speakers", "transcripts",
        "prevalence",
    ]  # fmt: skip
    rows = [
        [
            t.id,
            t.label,
            t.description,
            "; ".join(t.code_ids),
            "; ".join(labels.get(c, "") for c in t.code_ids),
            sum(sizes.get(c, 0) for c in t.code_ids),
            t.prevalence.speakers,
            t.prevalence.transcripts,
            prevalence_line(t.prevalence),
        ]
        for t in result.themes
    ]
    return header, rows


def prevalence_table(result: Result) -> Table:
    """Passages of each code and theme per group, as counts and as shares of the group.

    Groups are the metadata values (``wave=1``...) or, without metadata, the transcripts, as
    in the report's heatmap; a share divides by all of the group's passages (first row), so
    groups of different sizes compare fairly. Shares are fractions (0.25 = 25%).
    """
    hm = heatmap(result)
    header = ["kind", "id", "label", "passages"]
    for column in hm.columns:
        header += [f"{column} n", f"{column} %"]
    totals: list[Any] = ["all", "", "all passages", len(result.passages)]
    for n in hm.group_totals:
        totals += [n, 1.0 if n else 0.0]
    rows = [totals]
    index = {c.id: i for i, c in enumerate(result.codes)}

    def row(kind: str, ident: str, label: str, members: Sequence[str]) -> list[Any]:
        picked = [index[m] for m in members if m in index]
        counts = hm.counts[picked].sum(axis=0) if picked else [0] * len(hm.columns)
        out: list[Any] = [kind, ident, label, int(sum(result.codes[i].size for i in picked))]
        for n, total in zip(counts, hm.group_totals, strict=True):
            out += [int(n), round(int(n) / total, 4) if total else 0.0]
        return out

    rows += [row("theme", t.id, t.label, t.code_ids) for t in result.themes]
    rows += [row("code", c.id, c.label, [c.id]) for c in result.codes]
    return header, rows


def passages_table(result: Result) -> Table:
    """Header and rows of passages.csv."""
    theme_of = result.theme_of()
    keys = _metadata_keys(result)
    header = [
        "id", "source", "speaker", "line_start", "line_end", "where", "code", "theme", "text",
        *keys,
    ]  # fmt: skip
    rows = []
    for p in result.passages:
        code = result.passage_codes.get(p.id)
        rows.append(
            [
                p.id,
                p.source,
                p.speaker,
                p.line_start,
                p.line_end,
                place(p),
                code or "",
                theme_of.get(code, "") if code else "",
                p.text,
            ]
            + [p.metadata.get(k, "") for k in keys]
        )
    return header, rows
