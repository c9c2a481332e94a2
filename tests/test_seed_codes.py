"""`cppthemes run --seed-codes FILE`: phrases per code as seeded codes (issue 17)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ruamel.yaml import YAML
from typer.testing import CliRunner

from cppthemes.cli.app import app
from cppthemes.errors import InputError
from cppthemes.seed_codes import load_seed_codes
from tests.conftest import SAMPLE, use_fake_model

runner = CliRunner()


@pytest.fixture(autouse=True)
def _fake_model(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fake_model(monkeypatch)


def test_seed_file_formats(tmp_path: Path) -> None:
    yaml_file = tmp_path / "seeds.yaml"
    yaml_file.write_text(
        "codes:\n  - name: Barriers\n    phrases: [no time for it, no money]\n"
        "  - name: Opplæring\n    phrases: ingen viste oss hvordan\n",
        encoding="utf-8",
    )
    fw = load_seed_codes(yaml_file)
    assert [c.name for c in fw.constructs] == ["Barriers", "Opplæring"]
    assert fw.constructs[0].description == "no time for it"
    assert fw.constructs[0].examples == ("no money",)
    text_file = tmp_path / "seeds.txt"
    text_file.write_text(
        "# my codes\nBarrieren: keine Zeit; kein Geld\n\nTraining: nobody showed us\n"
    )
    assert [c.name for c in load_seed_codes(text_file).constructs] == ["Barrieren", "Training"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("s.txt", "Barriers no colon here\n", "s.txt:1: expected"),
        ("s.txt", "Barriers:\n", "no phrases"),
        ("s.txt", "A: x\na: y\n", "appears twice"),
        ("s.yaml", "codes: [\n", "not valid YAML"),
        ("s.yaml", "- just a list\n", "expected 'codes:'"),
        ("s.txt", "", "no seeded codes"),
    ],
)
def test_bad_seed_files_name_file_and_line(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=message) as err:
        load_seed_codes(path)
    assert name in str(err.value)


def test_run_with_seed_codes_reports_confidence(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds.txt"
    seeds.write_text(
        "Waiting lists: the waiting list was long; we waited months\n"
        "Money worries: we could not afford it; the budget was cut\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    args = ["run", str(SAMPLE), "--out", str(out), "--seed-codes", str(seeds), "-q"]
    result = runner.invoke(app, [*args, "--set", "cluster.seed_threshold=0.0"])
    assert result.exit_code == 0, result.output
    book = YAML(typ="safe").load((out / "codebook.yaml").read_text())
    seeded = [c for c in book["codes"] if c["status"] == "deductive"]
    assert {c["label"] for c in seeded} == {"Waiting lists", "Money worries"}
    run_json = json.loads((out / "run.json").read_text())
    info = run_json["seeded_codes"]
    assert set(info) == {c["id"] for c in seeded}
    for entry in info.values():
        assert entry["passages"] >= 0 and "least_confident" in entry
    report = (out / "report.md").read_text()
    assert "## Seeded codes" in report and "Waiting lists" in report


def test_missing_seed_file_is_a_one_line_error(tmp_path: Path) -> None:
    out = tmp_path / "out"
    missing = tmp_path / "nope.txt"
    result = runner.invoke(
        app, ["run", str(SAMPLE), "--out", str(out), "--seed-codes", str(missing)]
    )
    assert result.exit_code != 0
    assert "nope.txt" in result.output and "not found" in result.output
    assert not out.exists()
