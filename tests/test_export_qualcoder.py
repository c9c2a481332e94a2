"""project.qdpx as QualCoder 4.0 imports it: file attributes, speaker cases with their text.

``qualcoder_import`` follows the rules of QualCoder's REFI import (src/qualcoder/refi.py,
ccbogel/QualCoder, read 2026-12-01; ../shared/FACTS.md): variables start as file variables
and become case-only once a named Case uses them; a TextSource's VariableValues are file
attributes; every Coding of a PlainTextSelection becomes a coded segment of the code its
CodeRef names; a case's text is the segments of the code whose GUID equals the case's GUID,
and that code is then removed; a Case's SelectionRef is ignored.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from lxml import etree

from cppthemes import pipeline
from cppthemes.config import load_config
from cppthemes.records import Result
from cppthemes.runfolder import write_run
from tests.conftest import SAMPLE, FakeEmbedder, SampleRuns
from tests.refi_schemas import project_schema

NS = "{urn:QDA-XML:project:1.0}"


@dataclass
class Imported:
    """What QualCoder's tables hold after the import."""

    file_attributes: list[str]  # attribute columns in Manage Files
    case_attributes: list[str]
    files: dict[str, dict[str, str]] = field(default_factory=dict)  # name -> attribute values
    case_text: dict[str, list[tuple[str, str]]] = field(
        default_factory=dict
    )  # case -> (file, text)
    codes: dict[str, list[str]] = field(default_factory=dict)  # code name -> coded texts
    case_values: dict[str, dict[str, str]] = field(default_factory=dict)
    memo: str = ""


def qualcoder_import(qdpx: Path) -> Imported:
    with zipfile.ZipFile(qdpx) as zf:
        root = etree.fromstring(zf.read("project.qde"))
        texts = {n.split("/", 1)[1]: zf.read(n).decode("utf-8") for n in zf.namelist()[1:]}
    variables = {v.get("guid"): v.get("name") for v in root.iter(f"{NS}Variable")}
    case_or_file = dict.fromkeys(variables.values(), "file")
    codes = {
        c.get("guid"): c.get("name")
        for c in root.iter(f"{NS}Code")
        if c.get("isCodable") != "false"
    }
    segments: dict[str, list[tuple[str, str]]] = {g: [] for g in codes}
    files: dict[str, dict[str, str]] = {}
    for source in root.iter(f"{NS}TextSource"):
        name = source.get("name")
        fulltext = texts[source.get("plainTextPath").removeprefix("internal://")]
        files[name] = {}
        for vv in source.findall(f"{NS}VariableValue"):
            ref = vv.find(f"{NS}VariableRef").get("targetGUID")
            files[name][variables[ref]] = vv.find(f"{NS}TextValue").text
        for sel in source.findall(f"{NS}PlainTextSelection"):
            pos0, pos1 = int(sel.get("startPosition")), int(sel.get("endPosition"))
            for coding in sel.findall(f"{NS}Coding"):
                guid = coding.find(f"{NS}CodeRef").get("targetGUID")
                segments[guid].append((name, fulltext[pos0:pos1]))
    case_text: dict[str, list[tuple[str, str]]] = {}
    case_values: dict[str, dict[str, str]] = {}
    for case in root.iter(f"{NS}Case"):
        if case.get("name") is None:
            continue
        values = case_values.setdefault(case.get("name"), {})
        for vv in case.findall(f"{NS}VariableValue"):
            name = variables[vv.find(f"{NS}VariableRef").get("targetGUID")]
            case_or_file[name] = "case"
            values[name] = vv.find(f"{NS}TextValue").text
        case_text[case.get("name")] = segments.pop(case.get("guid"), [])
        codes.pop(case.get("guid"), None)
    description = root.find(f"{NS}Description")
    return Imported(
        file_attributes=sorted(n for n, kind in case_or_file.items() if kind == "file"),
        case_attributes=sorted(n for n, kind in case_or_file.items() if kind == "case"),
        files=files,
        case_text=case_text,
        codes={codes[g]: [t for _, t in segs] for g, segs in segments.items() if g in codes},
        case_values=case_values,
        memo=description.text if description is not None else "",
    )


def _sample_run(tmp_path: Path, settings: list[str]) -> tuple[Path, dict[str, list[dict]]]:
    cfg = load_config(None, ["cluster.n_codes=8", *settings])
    result = pipeline.run([str(SAMPLE)], cfg, embedder=FakeEmbedder())
    write_run(result, cfg, tmp_path, [str(SAMPLE)])
    return tmp_path / "project.qdpx", _by_speaker(result)


def _by_speaker(result: Result) -> dict[str, list]:
    by_speaker: dict[str, list] = {}
    for p in result.passages:
        by_speaker.setdefault(p.speaker, []).append(p)
    return by_speaker


@pytest.fixture(scope="module")
def per_transcript(sample_runs: SampleRuns) -> tuple[Imported, dict]:
    # The session's shared run with these settings (conftest), read only.
    by_speaker = _by_speaker(sample_runs.result("cluster.n_codes=8"))
    qdpx = sample_runs.folder("cluster.n_codes=8").out / "project.qdpx"
    qde = etree.fromstring(zipfile.ZipFile(qdpx).read("project.qde"))
    assert project_schema().validate(qde)
    return qualcoder_import(qdpx), by_speaker


def test_qualcoder_shows_the_manifest_as_file_attributes(per_transcript) -> None:  # type: ignore[no-untyped-def]
    imported, _ = per_transcript
    assert imported.file_attributes == ["cohort", "site", "wave"]
    assert imported.files["c1-w2-child-welfare.txt"] == {
        "cohort": "1", "site": "child-welfare", "wave": "2",
    }  # fmt: skip
    assert all(len(values) == 3 for values in imported.files.values())
    assert imported.case_attributes == ["cohort (person)", "site (person)", "wave (person)"]


def test_qualcoder_speaker_cases_hold_their_own_passages(per_transcript) -> None:  # type: ignore[no-untyped-def]
    imported, by_speaker = per_transcript
    assert "Hanne (c1-w1-child-welfare)" in imported.case_text
    for case, segments in imported.case_text.items():
        speaker, _, where = case.partition(" (")
        mine = [p for p in by_speaker[speaker] if p.transcript_id == where.rstrip(")")]
        assert segments and sorted(t for _, t in segments) == sorted(p.text for p in mine), case
    # No case code is left among the codes, and every code keeps its codings.
    assert imported.codes and not any(name.startswith("Case: ") for name in imported.codes)
    assert all(imported.codes.values())


def test_qualcoder_project_memo_has_model_and_settings(per_transcript) -> None:  # type: ignore[no-untyped-def]
    memo = per_transcript[0].memo
    assert "Embedding model: fake-hash-64" in memo
    assert "cluster.n_codes = 8" in memo and "embed.model = all-MiniLM-L6-v2" in memo


def test_qualcoder_one_case_per_person_across_waves(tmp_path: Path) -> None:
    qdpx, by_speaker = _sample_run(tmp_path, ['export.people_by=["cohort", "site"]'])
    imported = qualcoder_import(qdpx)
    hanne = imported.case_text["Hanne (cohort 1, site child-welfare)"]
    assert {f for f, _ in hanne} == {"c1-w1-child-welfare.txt", "c1-w2-child-welfare.txt"}
    assert sorted(t for _, t in hanne) == sorted(p.text for p in by_speaker["Hanne"])
    # Wave differs between Hanne's transcripts: a file attribute, not one of hers.
    assert imported.case_values["Hanne (cohort 1, site child-welfare)"] == {
        "cohort (person)": "1", "site (person)": "child-welfare",
    }  # fmt: skip
    assert imported.file_attributes == ["cohort", "site", "wave"]
    assert len(imported.case_text) == len(by_speaker)  # each participant once, across waves
    assert "export.people_by" in imported.memo
