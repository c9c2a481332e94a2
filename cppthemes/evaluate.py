"""Agreement between a run's codes and human labels, line by line.

For every transcript line that carries a human label, the code of the passage covering that
line is the tool's answer; lines in no coded passage (facilitator, back-channel, uncoded) share
one "uncoded" class. Chance-corrected scores (AMI, ARI) are the ones to compare across corpora.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from sklearn import metrics

from cppthemes.errors import InputError

UNCODED = "__uncoded__"


@dataclass(frozen=True)
class Scores:
    labelled_lines: int
    gold_labels: int
    codes: int
    nmi: float
    ami: float
    ari: float
    v_measure: float
    coverage: float
    unmatched_files: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "labelled_lines": self.labelled_lines,
            "gold_labels": self.gold_labels,
            "codes": self.codes,
            "nmi": self.nmi,
            "ami": self.ami,
            "ari": self.ari,
            "v_measure": self.v_measure,
            "coverage": self.coverage,
            "unmatched_files": list(self.unmatched_files),
        }


def read_gold(path: Path) -> list[dict[str, Any]]:
    """``{"file", "line", "label"}`` records, one JSON object per line."""
    if not path.is_file():
        raise InputError(path, "gold file not found")
    records = []
    with path.open(encoding="utf-8") as fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
                int(record["line"])
                str(record["file"])
                record.get("label")
            except (json.JSONDecodeError, TypeError, KeyError, ValueError, AttributeError):
                raise InputError(
                    path, 'expected {"file": ..., "line": N, "label": ...} on each line', number
                ) from None
            records.append(record)
    return records


def score(
    passages: list[dict[str, Any]],
    gold: list[dict[str, Any]],
    *,
    per_file_labels: bool = False,
    gold_name: str = "gold",
) -> Scores:
    """Clustering agreement of passage codes with the gold labels, over labelled lines.

    ``per_file_labels`` treats the same label in two files as two classes, for sets whose
    labels are only meaningful within one transcript (meeting agendas).
    """
    by_line: dict[tuple[str, int], str] = {}
    sources: dict[str, str] = {}
    for p in passages:
        source = str(p["source"])
        sources.setdefault(source, source)
        sources.setdefault(PurePosixPath(source).name, source)
        for line in range(int(p["line_start"]), int(p["line_end"]) + 1):
            by_line[(source, line)] = p["code"] or UNCODED
    truth: list[str] = []
    found: list[str] = []
    unmatched: set[str] = set()
    for g in gold:
        if g.get("label") is None:
            continue
        name = str(g["file"])
        matched = sources.get(name) or sources.get(PurePosixPath(name).name)
        if matched is None:
            unmatched.add(name)
            continue
        truth.append(f"{name}\0{g['label']}" if per_file_labels else str(g["label"]))
        found.append(by_line.get((matched, int(g["line"])), UNCODED))
    if not truth:
        raise InputError(
            gold_name,
            "no labelled gold line falls in a transcript of this run "
            "(do the gold 'file' names match the run's sources?)",
        )
    return Scores(
        labelled_lines=len(truth),
        gold_labels=len(set(truth)),
        codes=len({f for f in found if f != UNCODED}),
        nmi=round(float(metrics.normalized_mutual_info_score(truth, found)), 4),
        ami=round(float(metrics.adjusted_mutual_info_score(truth, found)), 4),
        ari=round(float(metrics.adjusted_rand_score(truth, found)), 4),
        v_measure=round(float(metrics.v_measure_score(truth, found)), 4),
        coverage=round(sum(f != UNCODED for f in found) / len(found), 4),
        unmatched_files=tuple(sorted(unmatched)),
    )
