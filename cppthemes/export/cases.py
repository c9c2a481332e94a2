"""People as REFI-QDA cases, in the form QDA software reads, and the project's description.

QualCoder 4.0 (its REFI import code, read 2026-12-01; ../shared/FACTS.md) fills a case's text
only from codings whose code GUID equals the case's GUID (NVivo's "cases as codes"), then
removes that code; a case's ``SelectionRef`` is ignored, and a variable any named case uses
becomes case-only, so files lose it. Hence:

- each person is a ``Case`` whose GUID is also the GUID of a codable code ``Case: <name>``
  coding every one of their passages; the case also lists its ``CodeRef`` and
  ``SelectionRef`` (the standard's own links, for importers that read those);
- transcript metadata stays on the sources (file variables) and cases get their own variables,
  ``<attribute> (person)``, only for values that hold for every transcript of the person;
- a person is a speaker label within a transcript, or, with ``export.people_by``, within all
  transcripts that share those attributes (the same group met in several waves).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cppthemes.records import Result
from cppthemes.report.context import SETTINGS, run_model, run_setting, run_version

CASE_CODE_COLOUR = "#7f7f7f"


@dataclass(frozen=True)
class Person:
    """One case: a speaker, the transcripts they speak in, their passages in file order."""

    key: tuple[str, ...]
    name: str
    speaker: str
    transcripts: tuple[str, ...]
    passage_ids: tuple[str, ...]
    attributes: tuple[tuple[str, str], ...]  # (attribute, value) true of all their transcripts


def people_by(result: Result) -> list[str]:
    """The attributes that link transcripts holding the same people (``export.people_by``)."""
    raw = run_setting(result, "export", "people_by", [])
    return [str(a) for a in raw] if isinstance(raw, list) else []


def _key(passage_meta: dict[str, str], tid: str, speaker: str,
         linked_by: Sequence[str]) -> tuple[tuple[str, ...], str]:  # fmt: skip
    """The person a speaker label is: (key, case name)."""
    if linked_by and all(passage_meta.get(a) for a in linked_by):
        values = tuple(passage_meta[a] for a in linked_by)
        where = ", ".join(f"{a} {v}" for a, v in zip(linked_by, values, strict=True))
        return ("by", *values, speaker), f"{speaker} ({where})"
    return ("in", tid, speaker), f"{speaker} ({tid})"


def people(result: Result, linked_by: Sequence[str] = ()) -> list[Person]:
    """The participants of the corpus as cases (facilitators give no passages, so no case)."""
    transcripts = {t.id: t for t in result.transcripts}
    names: dict[tuple[str, ...], tuple[str, str]] = {}
    tids: dict[tuple[str, ...], list[str]] = {}
    pids: dict[tuple[str, ...], list[str]] = {}
    for p in sorted(result.passages, key=lambda p: (p.source, p.char_start)):
        if p.role != "participant":
            continue
        t = transcripts.get(p.transcript_id)
        key, name = _key(t.metadata if t else p.metadata, p.transcript_id, p.speaker,
                         linked_by)  # fmt: skip
        names.setdefault(key, (name, p.speaker))
        seen = tids.setdefault(key, [])
        if p.transcript_id not in seen:
            seen.append(p.transcript_id)
        pids.setdefault(key, []).append(p.id)
    out = []
    for key in sorted(names):
        shared = [set(transcripts[t].metadata.items()) for t in tids[key] if t in transcripts]
        common = set.intersection(*shared) if shared else set()
        out.append(
            Person(
                key=key,
                name=names[key][0],
                speaker=names[key][1],
                transcripts=tuple(tids[key]),
                passage_ids=tuple(pids[key]),
                attributes=tuple(sorted(common)),
            )
        )
    return out


def person_attribute(name: str) -> str:
    """A case variable's name: distinct from the file variable of the same attribute."""
    return f"{name} (person)"


def project_description(result: Result, linked_by: Sequence[str]) -> str:
    """What travels with project.qdpx: who proposed these codes, with what model and settings."""
    coded = sum(1 for p in result.passages if result.passage_codes.get(p.id) is not None)
    lines = [
        f"Candidate codes proposed by cppthemes {run_version(result)}: every code is a "
        "suggestion for the analyst to review.",
        f"Embedding model: {run_model(result)}.",
        f"Corpus: {len(result.transcripts)} transcripts, {len(result.passages)} passages, "
        f"{coded} coded, in {len(result.codes)} candidate codes and {len(result.themes)} "
        "candidate themes (non-codable parents).",
        "Settings: "
        + "; ".join(
            f"{section}.{key} = {run_setting(result, section, key, '?')}"
            for section, key, _ in SETTINGS
        )
        + ".",
        "Cases: one per participant "
        + (
            f"across the transcripts that share {', '.join(linked_by)} (export.people_by)"
            if linked_by
            else "per transcript (set export.people_by to link the same people across waves)"
        )
        + "; each case's text is the person's passages, coded with the code 'Case: <name>', "
        "which QualCoder and NVivo turn into the case.",
        "File variables: the transcripts' metadata; case variables end in '(person)'.",
    ]
    return "\n".join(lines)
