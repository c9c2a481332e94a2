"""Agreement between a run's codes and human labels, line by line.

For every transcript line that carries a human label, the code of the passage covering that
line is the tool's answer; lines in no coded passage (facilitator, back-channel, uncoded, a
transcript that gave no passage or was not read at all) share one "uncoded" class. Every
labelled line counts, so the scores never describe only the part of the corpus that went well.
Chance-corrected scores (AMI, ARI) are the ones to compare across corpora.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from sklearn import metrics

from cppthemes.errors import InputError

UNCODED = "__uncoded__"


def _as_dict(scores: Any) -> dict[str, Any]:
    """Fields in declaration order, tuples as lists: the shape of ``--json``."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(scores).items()}


@dataclass(frozen=True)
class Scores:
    """Agreement over every labelled gold line; the file lists say which lines had no chance.

    ``labelled_lines`` counts all of them. Lines of files read without a passage
    (``files_without_passages``), of files that could not be read (``files_not_read``) and of
    files that are not among the run's inputs (``unmatched_files``) are scored as uncoded:
    leaving them out would report agreement and coverage over the easy part only.
    """

    labelled_lines: int
    gold_labels: int
    codes: int
    nmi: float
    ami: float
    ari: float
    v_measure: float
    coverage: float
    unmatched_files: tuple[str, ...] = ()
    files_without_passages: tuple[str, ...] = ()
    files_not_read: tuple[str, ...] = ()
    lines_in_files_with_passages: int = 0

    def as_dict(self) -> dict[str, Any]:
        return _as_dict(self)


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


def _names(sources: Iterable[str]) -> dict[str, str]:
    """Full source and base name -> source, so gold files match with or without folders."""
    out: dict[str, str] = {}
    for source in sources:
        out.setdefault(source, source)
        out.setdefault(PurePosixPath(source).name, source)
    return out


def _find(names: dict[str, str], name: str) -> str | None:
    return names.get(name) or names.get(PurePosixPath(name).name)


def score(
    passages: list[dict[str, Any]],
    gold: list[dict[str, Any]],
    *,
    per_file_labels: bool = False,
    gold_name: str = "gold",
    read: Sequence[str] = (),
    not_read: Sequence[str] = (),
) -> Scores:
    """Clustering agreement of passage codes with the gold labels, over every labelled line.

    ``read`` are the sources of the run's transcripts (run.json ``inputs``), ``not_read`` the
    paths it skipped; without them, a transcript counts as read when it has a passage. A gold
    line no passage covers is uncoded, whatever the reason (see `Scores`).
    ``per_file_labels`` treats the same label in two files as two classes, for sets whose
    labels are only meaningful within one transcript (meeting agendas).
    """
    by_line: dict[tuple[str, int], str] = {}
    for p in passages:
        source = str(p["source"])
        for line in range(int(p["line_start"]), int(p["line_end"]) + 1):
            by_line[(source, line)] = p["code"] or UNCODED
    with_passages = _names(str(p["source"]) for p in passages)
    transcripts = _names([*read, *(str(p["source"]) for p in passages)])
    skipped = _names(PurePosixPath(Path(n).as_posix()).as_posix() for n in not_read)
    truth: list[str] = []
    found: list[str] = []
    unmatched: set[str] = set()
    empty: set[str] = set()
    unread: set[str] = set()
    in_run = 0
    for g in gold:
        if g.get("label") is None:
            continue
        name = str(g["file"])
        truth.append(f"{name}\0{g['label']}" if per_file_labels else str(g["label"]))
        matched = _find(with_passages, name)
        if matched is not None:
            in_run += 1
            found.append(by_line.get((matched, int(g["line"])), UNCODED))
            continue
        found.append(UNCODED)
        if _find(transcripts, name) is not None:
            empty.add(name)
        elif _find(skipped, name) is not None or any(n.endswith("/" + name) for n in skipped):
            unread.add(name)
        else:
            unmatched.add(name)
    if not in_run:
        raise InputError(
            gold_name,
            "no labelled gold line falls in a transcript of this run that has passages "
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
        files_without_passages=tuple(sorted(empty)),
        files_not_read=tuple(sorted(unread)),
        lines_in_files_with_passages=in_run,
    )


def run_inputs(run: dict[str, Any]) -> tuple[list[str], list[str]]:
    """From a run.json: the sources of the transcripts read, and the paths of files skipped."""
    inputs = run.get("inputs") if isinstance(run.get("inputs"), dict) else {}
    read = [str(t.get("source")) for t in (inputs or {}).get("transcripts") or [] if t]
    skipped = [str(s.get("path")) for s in run.get("skipped") or [] if isinstance(s, dict)]
    return read, skipped


def score_run(run_dir: Path, gold_path: Path, *, per_file_labels: bool = False) -> Scores:
    """`score` for a run folder: its passages, and from run.json what it read and skipped."""
    from cppthemes.codec import read_passages, read_run_json

    passages = read_passages(run_dir)
    read, not_read = run_inputs(read_run_json(run_dir))
    return score(
        passages,
        read_gold(gold_path),
        per_file_labels=per_file_labels,
        gold_name=str(gold_path),
        read=read,
        not_read=not_read,
    )


def file_notes(scores: Scores) -> list[str]:
    """One sentence per kind of gold file whose lines no passage could cover."""
    notes = []
    for files, what in (
        (scores.files_without_passages, "were read but gave no passage"),
        (scores.files_not_read, "could not be read (skipped by the run)"),
        (scores.unmatched_files, "are not among the run's inputs"),
    ):
        if files:
            shown = ", ".join(files[:5]) + (", ..." if len(files) > 5 else "")
            notes.append(
                f"{len(files)} gold files {what}; their labelled lines count as uncoded: {shown}"
            )
    return notes


# --- Topic segmentation: Pk and WindowDiff over transcript lines ---------------------------


def boundaries_of(segment_ids: list[object]) -> list[int]:
    """0/1 per gap between consecutive units: 1 where the segment changes."""
    return [int(a != b) for a, b in itertools.pairwise(segment_ids)]


def window_k(reference: list[int]) -> int:
    """Half the mean reference segment length, rounded half up, at least 1 (Beeferman 1999)."""
    units = len(reference) + 1
    segments = sum(reference) + 1
    return max(1, math.floor(units / segments / 2 + 0.5))


def _probes(reference: list[int], hypothesis: list[int], k: int) -> list[tuple[int, int]]:
    """Boundaries inside each probe of width ``k`` (units ``i`` and ``i + k``), per segmentation.

    ``reference`` and ``hypothesis`` hold one boundary indicator per gap between ``n`` units;
    there are ``n - k`` probes, ``k`` capped at ``n - 1`` (none for a single unit).
    """
    if len(hypothesis) != len(reference):
        raise ValueError("reference and hypothesis cover different numbers of units")
    n = len(reference) + 1
    k = min(k, n - 1)
    if k < 1:
        return []
    return [(sum(reference[i : i + k]), sum(hypothesis[i : i + k])) for i in range(n - k)]


def pk(reference: list[int], hypothesis: list[int], k: int) -> float:
    """Pk (Beeferman, Berger & Lafferty 1999) from per-gap boundary indicators.

    A probe of width ``k`` slides over the units; an error is a probe whose two ends are in the
    same segment in one segmentation and in different segments in the other. With ``n`` units
    there are ``n - k`` probes (units ``i`` and ``i + k``).
    """
    probes = _probes(reference, hypothesis, k)
    if not probes:
        return 0.0
    return sum((r == 0) != (h == 0) for r, h in probes) / len(probes)


def windowdiff(reference: list[int], hypothesis: list[int], k: int) -> float:
    """WindowDiff (Pevzner & Hearst 2002): probes whose boundary counts differ, over ``n - k``."""
    probes = _probes(reference, hypothesis, k)
    if not probes:
        return 0.0
    return sum(r != h for r, h in probes) / len(probes)


def _fixed(units: int, segments: int) -> list[int]:
    """Boundaries of ``segments`` equal-length windows over ``units`` units."""
    cuts = {math.floor(j * units / segments + 0.5) for j in range(1, segments)}
    return [int(i + 1 in cuts) for i in range(units - 1)]


@dataclass(frozen=True)
class SegmentationScores:
    files: int
    lines: int
    k_mean: float
    reference_segments: int
    hypothesis_segments: int
    pk: float
    windowdiff: float
    baselines: dict[str, dict[str, float]]
    per_file: tuple[dict[str, Any], ...] = ()
    unmatched_files: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return _as_dict(self)


def _hypothesis_ids(passages: list[dict[str, Any]], lines: int) -> list[int]:
    """Segment id per line: the passage covering it; a line in none joins the segment before."""
    owner: dict[int, int] = {}
    for n, p in enumerate(sorted(passages, key=lambda p: int(p["line_start"]))):
        for line in range(int(p["line_start"]), int(p["line_end"]) + 1):
            owner[line] = n
    ids: list[int] = []
    current = -1
    for line in range(1, lines + 1):
        current = owner.get(line, current)
        ids.append(current)
    return ids


def _file_scores(name: str, lines: int, ref: list[int], hyp: list[int]) -> dict[str, Any]:
    """One file's Pk and WindowDiff, and its three baselines', at the file's own ``k``."""
    k = window_k(ref)
    fixed = _fixed(lines, sum(hyp) + 1)
    every = [1] * (lines - 1)
    none = [0] * (lines - 1)
    return {
        "file": name,
        "lines": lines,
        "k": k,
        "reference_segments": sum(ref) + 1,
        "hypothesis_segments": sum(hyp) + 1,
        "pk": round(pk(ref, hyp, k), 4),
        "windowdiff": round(windowdiff(ref, hyp, k), 4),
        "fixed_pk": round(pk(ref, fixed, k), 4),
        "fixed_windowdiff": round(windowdiff(ref, fixed, k), 4),
        "every_turn_pk": round(pk(ref, every, k), 4),
        "every_turn_windowdiff": round(windowdiff(ref, every, k), 4),
        "no_boundary_pk": round(pk(ref, none, k), 4),
        "no_boundary_windowdiff": round(windowdiff(ref, none, k), 4),
    }


def score_segmentation(
    passages: list[dict[str, Any]], gold: list[dict[str, Any]], *, gold_name: str = "gold"
) -> SegmentationScores:
    """Pk and WindowDiff of the run's passage boundaries against the gold topic boundaries.

    Units are transcript lines (one turn a line in the evaluation sets). The reference segments
    are the runs of equal gold labels in a file (unlabelled stretches included); the
    hypothesis segments are the run's passages, a line in no passage belonging to the segment
    before it. Scores are averaged over files, each with its own ``k``. Baselines: ``fixed``,
    equally many evenly spaced boundaries as the run has in that file (same mean segment
    length), ``every_turn``, a boundary between every two lines, and ``no_boundary``, one
    segment per file (Pk is known to flatter it when reference segments vary in length).
    """
    by_source: dict[str, list[dict[str, Any]]] = {}
    for p in passages:
        by_source.setdefault(str(p["source"]), []).append(p)
        by_source.setdefault(PurePosixPath(str(p["source"])).name, by_source[str(p["source"])])
    labels: dict[str, dict[int, object]] = {}
    for g in gold:
        labels.setdefault(str(g["file"]), {})[int(g["line"])] = g.get("label")
    rows: list[dict[str, Any]] = []
    unmatched: list[str] = []
    for name in sorted(labels):
        found = by_source.get(name) or by_source.get(PurePosixPath(name).name)
        if found is None:
            unmatched.append(name)
            continue
        lines = max(labels[name])
        if lines < 2:
            continue
        ref = boundaries_of([labels[name].get(i) for i in range(1, lines + 1)])
        hyp = boundaries_of(list(_hypothesis_ids(found, lines)))
        rows.append(_file_scores(name, lines, ref, hyp))
    if not rows:
        raise InputError(
            gold_name,
            "no gold file with two or more lines matches a transcript of this run "
            "(do the gold 'file' names match the run's sources?)",
        )

    def mean(key: str) -> float:
        return round(sum(float(r[key]) for r in rows) / len(rows), 4)

    return SegmentationScores(
        files=len(rows),
        lines=sum(int(r["lines"]) for r in rows),
        k_mean=mean("k"),
        reference_segments=sum(int(r["reference_segments"]) for r in rows),
        hypothesis_segments=sum(int(r["hypothesis_segments"]) for r in rows),
        pk=mean("pk"),
        windowdiff=mean("windowdiff"),
        baselines={
            "fixed": {"pk": mean("fixed_pk"), "windowdiff": mean("fixed_windowdiff")},
            "every_turn": {
                "pk": mean("every_turn_pk"),
                "windowdiff": mean("every_turn_windowdiff"),
            },
            "no_boundary": {
                "pk": mean("no_boundary_pk"),
                "windowdiff": mean("no_boundary_windowdiff"),
            },
        },
        per_file=tuple(rows),
        unmatched_files=tuple(unmatched),
    )
