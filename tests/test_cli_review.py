"""The terminal after a run: the end-of-run summary, `cppthemes codes`, `run --help`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cppthemes.cli.app import app
from cppthemes.cli.review import COLUMNS, code_rows, codes_table
from cppthemes.runfolder import load_run, run_summary
from tests.conftest import use_fake_model

runner = CliRunner()


@pytest.fixture(autouse=True)
def _fake_model(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fake_model(monkeypatch)


@pytest.fixture
def run_dir(corpus: Path, tmp_path: Path) -> tuple[Path, str]:
    out = tmp_path / "my run"
    # Every code weak, so the count cannot pass by luck.
    result = runner.invoke(
        app,
        ["run", str(corpus), "--out", str(out), "--codes", "3",
         "--set", "label.weak_coherence=1.0"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return out, result.stderr


def _mark_unstable(out: Path, codes: list[str]) -> None:
    """As if the stability check had flagged ``codes`` (the fake embedder's are all stable)."""
    run = json.loads((out / "run.json").read_text())
    run["stability"]["unstable_codes"] = codes
    (out / "run.json").write_text(json.dumps(run))


def test_end_of_run_names_report_html_flags_and_next_steps(run_dir: tuple[Path, str]) -> None:
    out, stderr = run_dir
    found, report, steps = stderr.strip().splitlines()[-3:]
    codes = json.loads((out / "run.json").read_text())["counts"]["codes"]
    assert f"{codes} weak and 0 unstable (read their passages" in found
    _mark_unstable(out, ["C01", "C02", "C99"])  # C99 is not a code of this run
    assert "; 3 weak and 2 unstable (" in run_summary(load_run(out), out).splitlines()[0]
    assert report == f"Report: {out / 'report.html'} (open it in a browser; report.md is the text)"
    assert steps.startswith(f"Next: edit {out / 'codebook.yaml'} ")
    assert f"`cppthemes refine '{out}'`" in steps  # quoted: the folder name has a space
    assert f"import {out / 'project.qdpx'} into NVivo" in steps


def test_end_of_run_says_when_no_code_is_flagged(corpus: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["run", str(corpus), "--out", str(tmp_path / "o"), "--codes", "3",
         "--set", "cluster.unstable_below=0", "--set", "label.weak_coherence=-1",
         "--set", "label.weak_distinctiveness=-1"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "no code weak or unstable." in result.stderr.strip().splitlines()[-3]


def test_codes_table_shows_status_theme_numbers_and_flags(run_dir: tuple[Path, str]) -> None:
    out, _ = run_dir
    _mark_unstable(out, ["C02"])
    rows = code_rows(out)
    assert rows and all(r[8] == "weak" for r in rows)
    assert [r[0] for r in rows if r[9] == "unstable"] == ["C02"]
    table = codes_table(out)
    headings = [c.header for c in table.columns]
    assert headings == [h for h, _ in COLUMNS]
    right = {c.header for c in table.columns if c.justify == "right"}
    assert right == {"size", "participants", "transcripts", "stability"}
    result = runner.invoke(app, ["codes", str(out)], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    assert "participants" in result.output and "unstable" in result.output
    assert f"{len(rows)} codes; {len(rows)} weak" in " ".join(result.output.split())
    line = next(x for x in result.output.splitlines() if f" {rows[0][0]} " in x)
    cells = [c for c in line.split("│")[1:-1]]
    size = cells[4]
    assert size.endswith(f"{rows[0][4]} ") and size.startswith("  ")  # right-aligned


def test_codes_help_lists_the_columns_it_shows() -> None:
    result = runner.invoke(app, ["codes", "--help"], env={"COLUMNS": "120"})
    text = " ".join(result.output.split())
    for word in ("status", "theme", "size", "participants", "stability", "weak", "unstable"):
        assert word in text


def test_codes_on_a_missing_folder_is_one_line(tmp_path: Path) -> None:
    result = runner.invoke(app, ["codes", str(tmp_path / "nowhere")])
    assert result.exit_code == 1 and len(result.stderr.strip().splitlines()) == 1
    assert "nowhere" in result.stderr


def test_run_help_groups_options_and_shows_examples() -> None:
    result = runner.invoke(app, ["run", "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0
    panels = [line.split("─ ")[1].split(" ")[0] for line in result.output.splitlines()
              if line.startswith("╭─ ")]  # fmt: skip
    assert [p for p in panels if p not in ("Options",)] == [
        "Input", "Input", "Passages", "Codes", "Output", "Speed", "Settings",
    ]  # fmt: skip
    text = result.output
    assert "Examples" in text and "cppthemes run interviews/ --codes 20" in text
    panel_of = {}
    current = ""
    for line in text.splitlines():
        if line.startswith("╭─ "):
            current = line.split("─ ")[1].split(" ")[0]
        elif line.startswith("│ --"):
            panel_of[line.split()[1]] = current
    assert panel_of["--segment"] == "Passages" and panel_of["--codebook"] == "Codes"
    assert panel_of["--model"] == "Speed" and panel_of["--out"] == "Output"
    assert panel_of["--manifest"] == "Input" and panel_of["--set"] == "Settings"
