"""Exports: REFI-QDA files checked against the official schema and read back by an independent
parser, the workbook, report.html's safety, and `cppthemes export` regenerating each output."""

from __future__ import annotations

import json
import re
import uuid
import zipfile
from pathlib import Path

import pytest
from lxml import etree
from openpyxl import load_workbook
from ruamel.yaml import YAML
from typer.testing import CliRunner

from cppthemes import pipeline
from cppthemes.cli.app import app
from cppthemes.config import load_config
from cppthemes.runfolder import EXPORTS, load_run, write_run
from tests.conftest import FakeEmbedder, write_corpus
from tests.refi_schemas import CODEBOOK_NS, codebook_schema, project_schema

runner = CliRunner()
# A transcript with what breaks naive exporters: markup, a formula-like turn, non-ASCII text,
# a byte-order mark and CRLF line ends in the input (offsets must refer to the LF text).
TRICKY = (
    "\ufeffFacilitator: What about the garden?\r\n"
    "Anna: <script>alert('x')</script> I water the tomatoes & beans in the garden — every day.\r\n"
    "Ben: =SUM(1,2) the garden soil needs compost so tomatoes and beans grow, says Åse.\r\n"
    "Cara: Weeding the garden beds and planting beans takes all my weekend, ærlig talt.\r\n"
)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    corpus = write_corpus(tmp_path_factory.mktemp("corpus") / "in")
    (corpus / "group4.txt").write_bytes(TRICKY.encode("utf-8"))
    with (corpus / "manifest.csv").open("a", encoding="utf-8") as fh:
        fh.write("group4.txt,2\n")
    cfg = load_config(None, ["cluster.n_codes=3"])
    result = pipeline.run([corpus], cfg, embedder=FakeEmbedder())
    out = tmp_path_factory.mktemp("run")
    write_run(result, cfg, out, [str(corpus)])
    return out


def _passages(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "passages.jsonl").read_text().splitlines()]


def test_export_qde_valid_against_official_project_xsd(run_dir: Path) -> None:
    with zipfile.ZipFile(run_dir / "project.qdpx") as zf:
        qde = etree.fromstring(zf.read("project.qde"))
    schema = project_schema()
    assert schema.validate(qde), schema.error_log


def test_export_qdc_valid_against_codebook_schema(run_dir: Path) -> None:
    qdc = etree.parse(str(run_dir / "codebook.qdc"))
    schema = codebook_schema()
    assert schema.validate(qdc), schema.error_log
    # The derived schema is not vacuous: a code without isCodable is rejected.
    broken = etree.parse(str(run_dir / "codebook.qdc"))
    del broken.find(f".//{{{CODEBOOK_NS}}}Code").attrib["isCodable"]
    assert not schema.validate(broken)


def test_export_qdpx_read_back_by_pyrefiqda(run_dir: Path, tmp_path: Path) -> None:
    from pyrefiqda import RefiCodebook, RefiProject

    project = RefiProject.load(run_dir / "project.qdpx", extract_dir=str(tmp_path / "x"))
    by_span = {(p["source"], p["char_start"], p["char_end"]): p for p in _passages(run_dir)}
    coded = {k: p for k, p in by_span.items() if p["code"]}
    codes = {}

    def walk(items, parent=None):
        for c in items:
            codes[c.guid] = (c, parent)
            walk(c.code, c)

    walk(project.code_book.codes.code)
    seen = set()
    users = {u.guid for u in project.users.user}
    for source in project.sources.text_source:
        path = RefiProject.resolve_source_path(source.plain_text_path, tmp_path / "x")
        raw = path.read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf") and b"\r" not in raw
        text = raw.decode("utf-8")
        for sel in source.plain_text_selection:
            p = by_span[(source.name, sel.start_position, sel.end_position)]
            assert text[sel.start_position : sel.end_position] == p["text"]
            assert sel.creating_user in users
            # Every passage codes its person's case (export/cases.py); coded ones their code too.
            *coding, case = [codes[c.code_ref.target_guid] for c in sel.coding]
            assert case[0].name.startswith("Case: ") and case[1] is None
            if not p["code"]:
                assert coding == []
                continue
            [(code, theme)] = coding
            assert code.is_codable and code.name.startswith(p["code"] + " ")
            assert theme is not None and not theme.is_codable
            assert theme.name.startswith(p["theme"] + " ")
            seen.add((source.name, sel.start_position, sel.end_position))
    assert seen == set(coded)
    names = [c.name for c, _ in codes.values()]
    assert len(names) == len(set(names))
    assert project.origin.startswith("cppthemes")
    speakers = {(p["transcript"], p["speaker"]) for p in by_span.values()}
    assert {c.name for c in project.cases.case} == {f"{s} ({t})" for t, s in speakers}
    assert [v.name for v in project.variables.variable] == ["wave", "wave (person)"]
    book = RefiCodebook.load(run_dir / "codebook.qdc")
    assert sorted(c.name for c in book.codes.code) == sorted(
        c.name for c, parent in codes.values() if parent is None and not c.name.startswith("Case")
    )


def test_export_qde_literal_booleans_and_uuid5_guids(run_dir: Path) -> None:
    with zipfile.ZipFile(run_dir / "project.qdpx") as zf:
        names = zf.namelist()
        qde = zf.read("project.qde").decode("utf-8")
    assert names[0] == "project.qde" and all(
        re.fullmatch(r"sources/[0-9a-f-]{36}\.txt", n) for n in names[1:]
    )
    assert set(re.findall(r'isCodable="([^"]*)"', qde)) == {"true", "false"}
    guids = re.findall(r'guid="([^"]*)"', qde)
    assert guids and all(uuid.UUID(g).version == 5 for g in guids)
    # Unique, but for each case and the code holding its text (one GUID: export/cases.py).
    cases = re.findall(r'<Case guid="([^"]*)"', qde)
    assert len(guids) == len(set(guids)) + len(cases) and cases
    assert "PlainTextContent" not in qde and 'origin="cppthemes' in qde


@pytest.mark.parametrize("to", sorted(EXPORTS))
def test_export_cli_regenerates_each_format(run_dir: Path, tmp_path: Path, to: str) -> None:
    out = tmp_path / "again"
    result = runner.invoke(app, ["export", str(run_dir), "--to", to, "--out", str(out)])
    assert result.exit_code == 0, result.output
    written = [Path(line) for line in result.stdout.splitlines()]
    assert written and all(p.parent == out and p.is_file() for p in written)
    for path in written:
        if path.suffix == ".xlsx":  # zip entry dates differ; compare the cells
            assert _cells(path) == _cells(run_dir / path.name)
        else:
            assert path.read_bytes() == (run_dir / path.name).read_bytes(), path.name


def _cells(path: Path) -> dict[str, list[tuple]]:
    wb = load_workbook(path)
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in wb.worksheets}


def test_export_xlsx_sheets_match_csv_and_keep_text(run_dir: Path) -> None:
    cells = _cells(run_dir / "tables.xlsx")
    assert list(cells) == ["codes", "themes", "prevalence", "passages"]
    header, *rows = cells["passages"]
    assert len(rows) == len(_passages(run_dir))
    texts = [row[header.index("text")] for row in rows]
    assert any(t.startswith("=SUM(1,2)") for t in texts)  # text, not a formula
    wb = load_workbook(run_dir / "tables.xlsx")
    cell = next(c for row in wb["passages"].iter_rows() for c in row if c.value and
                str(c.value).startswith("=SUM"))  # fmt: skip
    assert cell.data_type == "s"
    assert [r[0] for r in cells["codes"][1:]] == [c["id"] for c in _codebook(run_dir)["codes"]]


def _codebook(run_dir: Path) -> dict:
    return YAML().load((run_dir / "codebook.yaml").read_text(encoding="utf-8"))


def test_report_html_self_contained_and_escaped(run_dir: Path) -> None:
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    # One script, ours (search, filters, sorting); a participant's <script> is escaped text.
    assert html.lower().count("<script") == 1 and "<script>\n// report.html's only" in html
    assert "&lt;script&gt;alert(" in html  # the participant's words, escaped
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "<link" not in html and "@import" not in html and "fetch(" not in html
    images = re.findall(r'<img src="([^"]*)"', html)
    assert len(images) == 1 and all(i.startswith("data:image/svg+xml;base64,") for i in images)
    assert html.count("<svg") == 1  # the passage map, inline for its tooltips
    for code in _codebook(run_dir)["codes"]:
        assert f'id="{code["id"]}"' in html


def test_report_md_and_html_share_content(run_dir: Path) -> None:
    md = (run_dir / "report.md").read_text(encoding="utf-8")
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    for code in _codebook(run_dir)["codes"]:
        for q in code["quotes"]:
            # A quote over several lines cites them all (issue 17).
            lines = (
                f"lines {q['line']}-{q['line_end']}" if q.get("line_end") else f"line {q['line']}"
            )
            where = f"{q['speaker']}, {q['source']} {lines}"
            assert where in md and where in html
    for section in ("Overview", "Prevalence by group", "Audit trail"):
        assert section in md and section in html


def test_export_passages_carry_map_coordinates(run_dir: Path) -> None:
    records = _passages(run_dir)
    xy = {(r["x"], r["y"]) for r in records}
    assert len(xy) > 1 and all(isinstance(v, float) for r in records for v in (r["x"], r["y"]))


def test_export_shows_stability_and_audit_when_present(run_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "run"
    copy.mkdir()
    for f in run_dir.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    yaml = YAML()
    book = yaml.load((copy / "codebook.yaml").read_text(encoding="utf-8"))
    book["codes"][0]["stability"] = 0.87
    book["codes"][0]["label"] = "renamed by analyst"
    with (copy / "codebook.yaml").open("w", encoding="utf-8") as fh:
        yaml.dump(book, fh)
    (copy / "audit.jsonl").write_text(
        json.dumps({"action": "rename", "code": "C01", "to": "renamed by analyst"}) + "\n"
    )
    for to in ("md", "html", "csv"):
        assert runner.invoke(app, ["export", str(copy), "--to", to]).exit_code == 0
    md = (copy / "report.md").read_text(encoding="utf-8")
    html = (copy / "report.html").read_text(encoding="utf-8")
    for text in (md, html):
        assert "renamed by analyst" in text and "0.87" in text and "rename" in text
    assert "stability" in (copy / "codes.csv").read_text().splitlines()[0]
    assert "No codebook decisions" in (run_dir / "report.md").read_text()


def test_export_rejects_selection_outside_source(run_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "run"
    copy.mkdir()
    for f in run_dir.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    records = _passages(copy)
    victim = next(r for r in records if r["code"])
    victim["char_end"] += 10**6
    (copy / "passages.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    result = runner.invoke(app, ["export", str(copy), "--to", "qdpx"])
    assert result.exit_code == 1
    assert "outside the source text" in result.stderr and victim["id"] in result.stderr
    assert (copy / "project.qdpx").read_bytes() == (run_dir / "project.qdpx").read_bytes()


def test_export_rejects_changed_transcripts(run_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "run"
    copy.mkdir()
    for f in run_dir.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    run = json.loads((copy / "run.json").read_text())
    run["inputs"]["transcripts"][0]["sha256"] = "0" * 64
    (copy / "run.json").write_text(json.dumps(run))
    result = runner.invoke(app, ["export", str(copy), "--to", "qdpx"])
    assert result.exit_code == 1 and "does not match the input recorded" in result.stderr


@pytest.mark.parametrize(
    "args, message",
    [(["--to", "pdf"], "unknown format"), (["--to", "md"], "no such run folder")],
)
def test_export_cli_errors_are_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    folder = tmp_path / "missing"
    result = runner.invoke(app, ["export", str(folder), *args])
    assert result.exit_code == 1 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_export_load_run_round_trips_result(run_dir: Path) -> None:
    result = load_run(run_dir)
    assert [c.id for c in result.codes] == [c["id"] for c in _codebook(run_dir)["codes"]]
    for t in result.transcripts:
        for p in (p for p in result.passages if p.transcript_id == t.id):
            assert t.plain_text[p.char_start : p.char_end] == p.text


def test_export_old_run_folder_without_transcripts(run_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "run"
    copy.mkdir()
    for f in run_dir.iterdir():
        if f.name != "transcripts.jsonl":
            (copy / f.name).write_bytes(f.read_bytes())
    assert runner.invoke(app, ["export", str(copy), "--to", "md"]).exit_code == 0
    result = runner.invoke(app, ["export", str(copy), "--to", "qdpx"])
    assert result.exit_code == 1 and "transcripts.jsonl missing" in result.stderr
