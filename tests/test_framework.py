"""Deductive frameworks (--framework, --deductive) and codebooks imported from REFI-QDA .qdc."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ruamel.yaml import YAML
from typer.testing import CliRunner

from cppthemes.cli.app import app
from cppthemes.codebook.framework import FRAMEWORKS_DIR, load_framework
from cppthemes.codebook.qdc import read_qdc
from cppthemes.errors import ConfigError, InputError
from tests.conftest import use_fake_model

runner = CliRunner()


@pytest.fixture(autouse=True)
def _fake_model(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fake_model(monkeypatch)


def invoke(*args: str):
    return runner.invoke(app, list(args))


def test_framework_cfir_has_five_domains_with_described_constructs() -> None:
    fw = load_framework("cfir")
    domains = list(dict.fromkeys(c.domain for c in fw.constructs))
    assert domains == [
        "Innovation", "Outer Setting", "Inner Setting", "Individuals", "Implementation Process",
    ]  # fmt: skip
    assert len(fw.constructs) >= 40
    for c in fw.constructs:
        sentences = [s for s in c.description.replace("?", ".").split(". ") if s.strip()]
        assert 1 <= len(sentences) <= 2, c.name
    leaders = {c.name for c in fw.constructs if "leadership" in c.tags}
    assert {"High-level Leaders", "Mid-level Leaders", "Implementation Leads"} <= leaders


def test_framework_template_loads() -> None:
    fw = load_framework(str(FRAMEWORKS_DIR / "template.yaml"))
    assert [c.name for c in fw.constructs] == [
        "First construct", "Second construct", "Third construct",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: x\n", "no 'domains:' list"),
        ("domains:\n  - name: D\n    constructs:\n      - name: A\n", "needs name and description"),
        ("domains: [\n", "not valid YAML"),
    ],
)
def test_framework_bad_file_names_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "fw.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        load_framework(str(path))


def test_framework_unknown_name_lists_known() -> None:
    with pytest.raises(ConfigError, match="known: cfir"):
        load_framework("nosuch")


def test_framework_maps_codes_and_passages(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = invoke("run", str(corpus), "--out", str(out), "--codes", "3", "--framework", "cfir")
    assert result.exit_code == 0, result.output
    keys = {c.key for c in load_framework("cfir").constructs}
    book = YAML(typ="safe").load((out / "codebook.yaml").read_text())
    for code in book["codes"]:
        sims = [k["similarity"] for k in code["constructs"]]
        assert len(sims) == 3 and sims == sorted(sims, reverse=True)
        assert all(k["construct"] in keys for k in code["constructs"])
    records = [json.loads(x) for x in (out / "passages.jsonl").read_text().splitlines()]
    assert all(r["construct"] in keys and -1 <= r["construct_similarity"] <= 1 for r in records)
    report = (out / "report.md").read_text()
    assert "Closest framework constructs:" in report and "CFIR 2.0" in report
    assert "Closest framework constructs:" in (out / "report.html").read_text()
    shown = invoke("show", str(out), "C01")
    assert "closest constructs:" in shown.output


def test_framework_deductive_seeds_constructs_as_codes(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["run", str(corpus), "--out", str(out), "--framework", "cfir", "--deductive"]
    result = invoke(*args, "--set", "cluster.seed_threshold=0.0")
    assert result.exit_code == 0, result.output
    book = YAML(typ="safe").load((out / "codebook.yaml").read_text())
    deductive = [c for c in book["codes"] if c["status"] == "deductive"]
    names = {c.name for c in load_framework("cfir").constructs}
    assert deductive and {c["label"] for c in deductive} <= names
    assert sum(c["size"] for c in deductive) > 0
    # a refine does not seed the constructs a second time
    again = invoke("refine", str(out), "-q")
    assert again.exit_code == 0, again.output
    book2 = YAML(typ="safe").load((out / "codebook.yaml").read_text())
    labels = [c["label"] for c in book2["codes"] if c["status"] == "deductive"]
    assert len(labels) == len(set(labels)) == len(names)


def test_framework_deductive_without_framework_is_an_error(corpus: Path, tmp_path: Path) -> None:
    result = invoke("run", str(corpus), "--out", str(tmp_path / "o"), "--deductive")
    assert result.exit_code == 1 and "needs a framework" in result.output


QDC = """<?xml version="1.0" encoding="utf-8"?>
<CodeBook xmlns="urn:QDA-XML:codebook:1.0" origin="test">
  <Codes>
    <Code guid="a0000000-0000-4000-8000-000000000001" name="Cooking" isCodable="true">
      <Description>Talk about preparing food.</Description>
      <Code guid="a0000000-0000-4000-8000-000000000002" name="Soup" isCodable="true">
        <Description>Soup, onions and garlic in a pot.</Description>
      </Code>
    </Code>
    <Code guid="a0000000-0000-4000-8000-000000000003" name="Trains" isCodable="true"/>
  </Codes>
</CodeBook>
"""


def test_qdc_import_gives_seeded_codes_and_themes(tmp_path: Path, corpus: Path) -> None:
    path = tmp_path / "book.qdc"
    path.write_text(QDC)
    book = read_qdc(path)
    assert [s["label"] for s in book["seeded"]] == ["Soup", "Trains"]
    assert book["seeded"][0] == {
        "label": "Soup", "description": "Soup, onions and garlic in a pot.", "theme": "Cooking",
    }  # fmt: skip
    out = tmp_path / "out"
    result = invoke("run", str(corpus), "--out", str(out), "--codebook", str(path), "-q")
    assert result.exit_code == 0, result.output
    written = YAML(typ="safe").load((out / "codebook.yaml").read_text())
    seeded = {c["label"]: c for c in written["codes"] if c["status"] == "seeded"}
    assert set(seeded) == {"Soup", "Trains"}
    theme = next(t for t in written["themes"] if t["label"] == "Cooking")
    assert theme["status"] == "kept" and theme["codes"] == [seeded["Soup"]["id"]]
    converted = tmp_path / "converted.yaml"
    assert invoke("import-codebook", str(path), "--out", str(converted)).exit_code == 0
    assert "Soup" in converted.read_text()


def test_qdc_import_of_our_own_export(tmp_path: Path, corpus: Path) -> None:
    out = tmp_path / "out"
    assert invoke("run", str(corpus), "--out", str(out), "--codes", "3", "-q").exit_code == 0
    book = read_qdc(out / "codebook.qdc")
    codes = YAML(typ="safe").load((out / "codebook.yaml").read_text())["codes"]
    labels = {f"{c['id']} {c['label']}" for c in codes}  # our .qdc names codes "C01 label"
    assert {s["label"] for s in book["seeded"]} == labels


def test_qdc_import_does_not_resolve_entities(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    path = tmp_path / "evil.qdc"
    path.write_text(
        f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file://{secret}">]>'
        '<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes>'
        '<Code guid="g" name="A" isCodable="true"><Description>&e;</Description></Code>'
        "</Codes></CodeBook>"
    )
    book = read_qdc(path)
    assert "TOPSECRET" not in json.dumps(book)


def test_qdc_import_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.qdc"
    path.write_text("<CodeBook><Codes>")
    with pytest.raises(InputError, match=r"bad\.qdc"):
        read_qdc(path)
