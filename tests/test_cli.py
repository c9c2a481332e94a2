from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from ruamel.yaml import YAML
from typer.testing import CliRunner

from cppthemes.cli.app import app
from tests.conftest import TOPICS, use_fake_model

runner = CliRunner()
PASSAGE_KEYS = {
    "id", "source", "transcript", "speaker", "role", "line_start", "line_end",
    "char_start", "char_end", "text", "code", "theme",
}  # fmt: skip


@pytest.fixture(autouse=True)
def _fake_model(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fake_model(monkeypatch)


def invoke(*args: str):
    return runner.invoke(app, list(args))


def test_cli_run_writes_run_folder(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = invoke("run", str(corpus), "--out", str(out), "--codes", "3")
    assert result.exit_code == 0, result.output
    for name in ("passages.jsonl", "codebook.yaml", "codes.csv", "report.md", "run.json"):
        assert (out / name).is_file()
    for name in ("report.html", "tables.xlsx", "project.qdpx", "codebook.qdc"):
        assert (out / name).stat().st_size > 0
    records = [json.loads(line) for line in (out / "passages.jsonl").read_text().splitlines()]
    assert records and all(set(r) >= PASSAGE_KEYS for r in records)
    plain = {p.name: p.read_text() for p in corpus.glob("*.txt")}
    for r in records:
        assert plain[r["source"]][r["char_start"] : r["char_end"]] == r["text"]
        lines = plain[r["source"]].split("\n")[r["line_start"] - 1 : r["line_end"]]
        assert r["text"].split("\n")[0] in lines[0]
    book = YAML().load((out / "codebook.yaml").read_text())
    assert len(book["codes"]) == 3 and book["themes"]
    for code in book["codes"]:
        assert {"id", "label", "keyphrases", "size", "quotes", "prevalence"} <= set(code)
        assert len(code["quotes"]) >= 3
        assert {"coherence", "distinctiveness", "nearest_code", "weak"} <= set(code)
        for q in code["quotes"]:
            assert plain[q["source"]][q["char_start"] : q["char_end"]] == q["text"]
            assert q["text"].split("\n")[0] in plain[q["source"]].split("\n")[q["line"] - 1]
            assert q["transcript"] == q["source"].removesuffix(".txt") and "wave" in q["metadata"]
    report = (out / "report.md").read_text()
    assert "- Fit: coherence " in report and " participants in " in report
    assert "wave 1: " in report and " passages, wave 2: " in report
    theme_codes = [c for t in book["themes"] for c in t["codes"]]
    assert sorted(theme_codes) == sorted(c["id"] for c in book["codes"])
    rows = list(csv.DictReader((out / "codes.csv").open(encoding="utf-8-sig")))
    assert [r["id"] for r in rows] == [c["id"] for c in book["codes"]]
    assert {"distinctiveness", "nearest_code", "weak"} <= set(rows[0])
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["model"]["id"] == "fake-hash-64" and manifest["seeds"] == {"cluster": 0}
    assert len(manifest["inputs"]["transcripts"]) == 3


@pytest.mark.parametrize("strategy", ["turn", "window", "topic"])
def test_cli_run_is_reproducible(corpus: Path, tmp_path: Path, strategy: str) -> None:
    for name in ("a", "b"):
        out = str(tmp_path / name)
        result = invoke("run", str(corpus), "--out", out, "-q", "--segment", strategy)
        assert result.exit_code == 0, result.output
    for f in (
        "passages.jsonl", "transcripts.jsonl", "codebook.yaml", "codes.csv", "report.md",
        "report.html", "project.qdpx", "codebook.qdc",
    ):  # fmt: skip
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f


def test_cli_run_recovers_planted_topics(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert invoke("run", str(corpus), "--out", str(out), "--codes", "3", "-q").exit_code == 0
    records = [json.loads(line) for line in (out / "passages.jsonl").read_text().splitlines()]
    by_topic: dict[str, set] = {}
    for r in records:
        topic = next(t for t, sents in TOPICS.items() if any(s in r["text"] for s in sents))
        by_topic.setdefault(topic, set()).add(r["code"])
    assert all(len(codes) == 1 for codes in by_topic.values())


@pytest.mark.parametrize(
    "setup, message",
    [
        (lambda d: None, "no such file or folder"),
        (lambda d: d.mkdir(), "no transcript files"),
        (
            lambda d: (d.mkdir(), (d / "x.txt").write_bytes(b"Anna: hi\n\x00\xff")),
            "x.txt:2: binary data",
        ),
        (
            lambda d: (d.mkdir(), (d / "x.txt").write_text("no speakers here\n")),
            "x.txt:1: no speaker turns",
        ),
        (
            lambda d: (
                d.mkdir(),
                (d / "x.txt").write_text("Facilitator: hello there everyone\nAnna: yeah\n"),
            ),
            "no participant passages",
        ),
    ],
    ids=["missing", "empty", "binary", "no-turns", "no-passages"],
)
def test_cli_run_bad_input_one_line_error(tmp_path: Path, setup, message: str) -> None:
    target = tmp_path / "in"
    setup(target)
    out = tmp_path / "out"
    result = invoke("run", str(target), "--out", str(out))
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()  # progress lines may come before the error
    errors = [line for line in lines if line.startswith("error: ")]
    assert errors == [lines[-1]] and message in lines[-1] and str(target) in lines[-1]
    assert not out.exists()


def test_cli_failed_run_leaves_earlier_outputs_untouched(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert invoke("run", str(corpus), "--out", str(out), "-q").exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    (corpus / "broken.txt").write_bytes(b"\x00\x00")
    assert invoke("run", str(corpus), "--out", str(out), "-q", "--strict").exit_code == 1
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_cli_run_skips_bad_file_and_lists_it(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    (corpus / "broken.txt").write_bytes(b"Anna: hi\n\x00\x00")
    result = invoke("run", str(corpus), "--out", str(out))
    assert result.exit_code == 0, result.output
    skipped = [line for line in result.stderr.splitlines() if line.startswith("skipped: ")]
    assert skipped == [f"skipped: {corpus / 'broken.txt'}:2: binary data, not a text transcript"]
    assert "3 of 4 files gave passages (1 could not be read" in result.stderr
    manifest = json.loads((out / "run.json").read_text())
    reason = "binary data, not a text transcript"
    broken = str(corpus / "broken.txt")
    assert manifest["skipped"] == [{"path": broken, "line": 2, "reason": reason}]
    assert len(manifest["inputs"]["transcripts"]) == 3


def test_cli_run_every_file_bad_exits_1(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_bytes(b"\x00\x01")
    (folder / "b.vtt").write_text("not a caption file\n")
    result = invoke("run", str(folder), "--out", str(tmp_path / "out"))
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert [line for line in lines if line.startswith("skipped: ")] == [
        f"skipped: {folder / 'a.txt'}:1: binary data, not a text transcript",
        f"skipped: {folder / 'b.vtt'}:1: not a WebVTT file (the first line must be WEBVTT)",
    ]
    assert lines[-1] == f"error: {folder}: none of the 2 files could be read (see above)"
    assert not (tmp_path / "out").exists()


def test_cli_bad_setting_is_one_line(corpus: Path, tmp_path: Path) -> None:
    result = invoke("run", str(corpus), "--out", str(tmp_path / "o"), "--set", "cluster.min_sise=2")
    assert result.exit_code == 1 and "unknown setting 'cluster.min_sise'" in result.stderr
    assert not (tmp_path / "o").exists()


def test_cli_evaluate_table_and_json(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    invoke("run", str(corpus), "--out", str(out), "--codes", "3", "-q")
    gold = tmp_path / "gold.jsonl"
    rows = []
    for f in sorted(corpus.glob("*.txt")):
        for n, line in enumerate(f.read_text().splitlines(), 1):
            label = next(
                (
                    t
                    for t, s in (
                        ("garden", "tomato"),
                        ("garden", "bean"),
                        ("trains", "train"),
                        ("cooking", "soup"),
                        ("cooking", "onion"),
                    )
                    if s in line.lower() and not line.startswith("Facilitator")
                ),
                None,
            )
            rows.append(json.dumps({"file": f.name, "line": n, "label": label}))
    gold.write_text("\n".join(rows) + "\n")
    result = invoke("evaluate", str(out), "--gold", str(gold), "--json")
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout)
    assert set(scores) >= {"nmi", "ami", "ari", "v_measure", "coverage"}
    assert scores["coverage"] == 1.0 and scores["ami"] > 0.9
    table = invoke("evaluate", str(out), "--gold", str(gold))
    assert table.exit_code == 0 and "ami" in table.stdout


def test_cli_evaluate_missing_run_folder(tmp_path: Path) -> None:
    gold = tmp_path / "g.jsonl"
    gold.write_text("")
    result = invoke("evaluate", str(tmp_path / "nope"), "--gold", str(gold))
    assert result.exit_code == 1 and "no such run folder" in result.stderr


def test_cli_ingest_summary_and_jsonl(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "turns.jsonl"
    result = invoke("ingest", str(corpus), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "group1.txt" in result.stderr
    first = json.loads(out.read_text().splitlines()[0])
    assert first["speaker"] == "Facilitator" and first["line_start"] == 1


def test_cli_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0 and result.stdout.startswith("cppthemes ")


def test_cli_run_granularity_option(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = invoke("run", str(corpus), "--out", str(out), "--granularity", "fine", "-q")
    assert result.exit_code == 0, result.output
    assert json.loads((out / "run.json").read_text())["config"]["cluster"]["granularity"] == "fine"
    bad = invoke("run", str(corpus), "--out", str(out), "--granularity", "tiny")
    assert bad.exit_code == 1 and "cluster.granularity='tiny'" in bad.stderr


def _meeting(folder: Path) -> tuple[Path, Path]:
    """A facilitator-free meeting: garden talk, then train talk; gold labels the two topics."""
    folder.mkdir(parents=True, exist_ok=True)
    lines, rows = [], []
    for n, (topic, sentence) in enumerate(
        [("garden", s) for s in TOPICS["garden"] * 3]
        + [("trains", s) for s in TOPICS["trains"] * 3]
    ):
        lines.append(f"{'Anna' if n % 2 else 'Ben'}: {sentence}, part {n}.")
        rows.append(json.dumps({"file": "m.txt", "line": n + 1, "label": topic}))
    (folder / "m.txt").write_text("\n".join(lines) + "\n")
    gold = folder.parent / "gold.jsonl"
    gold.write_text("\n".join(rows) + "\n")
    return folder, gold


@pytest.mark.parametrize("strategy", ["turn", "window", "topic"])
def test_cli_run_each_segment_strategy(tmp_path: Path, strategy: str) -> None:
    folder, _ = _meeting(tmp_path / "m")
    out = tmp_path / "out"
    args = ["run", str(folder), "--out", str(out), "--codes", "2", "-q", "--segment", strategy]
    result = invoke(*args, "--set", "segment.topic_block=4", "--set", "cluster.min_size=1")
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["config"]["segment"]["strategy"] == strategy
    records = [json.loads(line) for line in (out / "passages.jsonl").read_text().splitlines()]
    assert len(records) == (2 if strategy == "topic" else 24)


def test_cli_run_unknown_segment_strategy_is_one_line(corpus: Path, tmp_path: Path) -> None:
    result = invoke("run", str(corpus), "--out", str(tmp_path / "o"), "--segment", "chapters")
    assert result.exit_code == 1 and "segment.strategy='chapters'" in result.stderr


def test_cli_evaluate_segmentation_json_and_table(tmp_path: Path) -> None:
    folder, gold = _meeting(tmp_path / "m")
    out = tmp_path / "out"
    invoke("run", str(folder), "--out", str(out), "-q", "--segment", "topic", "--codes", "2",
           "--set", "segment.topic_block=4", "--set", "cluster.min_size=1")  # fmt: skip
    result = invoke("evaluate", str(out), "--gold", str(gold), "--segmentation", "--json")
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout)
    assert {"pk", "windowdiff", "baselines"} <= set(scores)
    assert scores["pk"] == 0.0 and scores["windowdiff"] == 0.0
    assert scores["baselines"]["every_turn"]["windowdiff"] == 1.0
    table = invoke("evaluate", str(out), "--gold", str(gold), "--segmentation")
    assert table.exit_code == 0 and "baseline: every turn" in table.stdout
