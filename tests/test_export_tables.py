"""Spreadsheets: the themes and prevalence sheets of tables.xlsx, CSVs with a byte-order mark."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from cppthemes import pipeline
from cppthemes.cli.app import app
from cppthemes.config import load_config
from cppthemes.runfolder import load_run, write_run
from tests.conftest import FakeEmbedder, write_corpus

runner = CliRunner()


def _run(tmp_path: Path, settings: list[str]) -> Path:
    corpus = write_corpus(tmp_path / "corpus")
    (corpus / "group1.txt").write_text(
        (corpus / "group1.txt").read_text(encoding="utf-8")
        + "Åse: Søren og Zoë dyrker tomater i hagen, og bønner, hver sommer på hytta.\n",
        encoding="utf-8",
    )
    cfg = load_config(None, ["cluster.n_codes=3", *settings])
    result = pipeline.run([corpus], cfg, embedder=FakeEmbedder())
    write_run(result, cfg, tmp_path / "run", [str(corpus)])
    return tmp_path / "run"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _run(tmp_path_factory.mktemp("tables"), [])


def _sheet(path: Path, name: str) -> list[dict]:
    ws = load_workbook(path)[name]
    header, *rows = list(ws.iter_rows(values_only=True))
    return [dict(zip(header, row, strict=True)) for row in rows]


def test_themes_sheet_names_every_theme_with_its_codes(run_dir: Path) -> None:
    result = load_run(run_dir)
    rows = _sheet(run_dir / "tables.xlsx", "themes")
    assert [r["id"] for r in rows] == [t.id for t in result.themes]
    labels = {c.id: c.label for c in result.codes}
    for row, theme in zip(rows, result.themes, strict=True):
        assert row["label"] == theme.label and row["codes"] == "; ".join(theme.code_ids)
        assert row["code_labels"] == "; ".join(labels[c] for c in theme.code_ids)
        assert row["size"] == sum(c.size for c in result.codes if c.id in theme.code_ids)
        assert row["prevalence"].startswith(f"{row['size']} passages from ")


def test_prevalence_sheet_counts_and_shares_of_each_group(run_dir: Path) -> None:
    result = load_run(run_dir)
    rows = _sheet(run_dir / "tables.xlsx", "prevalence")
    everyone, *rest = rows
    waves = {}
    for p in result.passages:
        waves[p.metadata["wave"]] = waves.get(p.metadata["wave"], 0) + 1
    assert everyone["passages"] == len(result.passages)
    assert everyone["wave=1 n"] == waves["1"] and everyone["wave=1 %"] == 1.0
    codes = {r["id"]: r for r in rest if r["kind"] == "code"}
    for code in result.codes:
        row = codes[code.id]
        mine = [p for p in result.passages if result.passage_codes.get(p.id) == code.id]
        for wave, total in waves.items():
            n = sum(1 for p in mine if p.metadata["wave"] == wave)
            assert row[f"wave={wave} n"] == n
            assert row[f"wave={wave} %"] == pytest.approx(n / total, abs=1e-4)
    themes = [r for r in rest if r["kind"] == "theme"]
    assert sum(r["wave=1 n"] for r in themes) == sum(r["wave=1 n"] for r in codes.values())
    ws = load_workbook(run_dir / "tables.xlsx")["prevalence"]
    header = [c.value for c in ws[1]]
    assert ws.cell(row=2, column=header.index("wave=1 %") + 1).number_format == "0.0%"


def test_csvs_start_with_a_bom_and_read_back_in_excel_encoding(run_dir: Path) -> None:
    for name in ("codes.csv", "passages.csv"):
        raw = (run_dir / name).read_bytes()
        assert raw.startswith(b"\xef\xbb\xbfid,"), name
    rows = list(csv.DictReader(io.StringIO((run_dir / "passages.csv").read_text("utf-8-sig"))))
    assert any("Søren og Zoë" in r["text"] and r["speaker"] == "Åse" for r in rows)


def test_csv_bom_can_be_turned_off(tmp_path: Path) -> None:
    run_dir = _run(tmp_path, ["export.csv_bom=false"])
    assert (run_dir / "codes.csv").read_bytes().startswith(b"id,")
    # `export` keeps the run's choice.
    assert runner.invoke(app, ["export", str(run_dir), "--to", "csv"]).exit_code == 0
    assert (run_dir / "passages.csv").read_bytes().startswith(b"id,")


def test_csv_bom_rejects_a_value_that_is_not_a_boolean(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["run", str(write_corpus(tmp_path / "c")), "--set", "export.csv_bom=maybe"]
    )
    assert result.exit_code != 0
    assert "export.csv_bom" in result.stderr and len(result.stderr.strip().splitlines()) == 1
