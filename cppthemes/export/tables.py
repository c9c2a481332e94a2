"""Tables for spreadsheets: one row per code, one row per passage, as CSV or one workbook."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from cppthemes.provenance import place
from cppthemes.records import Result


def _csv(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    buffer = io.StringIO()
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


def codes_csv(result: Result) -> str:
    header, rows = codes_table(result)
    fixed = [header.index("coherence"), header.index("distinctiveness")]
    for row in rows:
        for i in fixed:
            row[i] = f"{row[i]:.3f}"
    return _csv(header, rows)


def passages_csv(result: Result) -> str:
    return _csv(*passages_table(result))


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
