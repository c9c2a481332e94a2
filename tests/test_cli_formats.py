"""`cppthemes run` and `cppthemes ingest` on a folder that mixes every format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cppthemes.cli.app import app
from cppthemes.config import IngestConfig
from cppthemes.ingest import load_corpus
from tests.conftest import TOPICS, use_fake_model

runner = CliRunner()
SPEAKERS = ["Anna", "Ben", "Cara"]


@pytest.fixture(autouse=True)
def _fake_model(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fake_model(monkeypatch)


def _turns(f: int, facilitator: str = "Moderator") -> list[tuple[str, str]]:
    turns = [(facilitator, "Thanks for coming. Tell me about your week?")]
    for t, (topic, sentences) in enumerate(TOPICS.items()):
        turns.append((facilitator, f"What about {topic}?"))
        for s, sentence in enumerate(sentences):
            turns.append((SPEAKERS[(f + t + s) % 3], f"{sentence}, file {f}. [laughs]"))
    return turns


def write_mixed(folder: Path) -> Path:
    """The same kind of group talk as text, WebVTT, SubRip, Whisper JSON, CSV, XLSX and DOCX."""
    import docx
    from openpyxl import Workbook

    folder.mkdir(parents=True)
    lines = [f"{s}: {t}" for s, t in _turns(0)]
    (folder / "north_w1_g1.txt").write_text("\n".join(lines) + "\n", encoding="utf-16")
    cues = [
        f"{i + 1}\n00:00:{i:02d}.000 --> 00:00:{i:02d}.900\n{s}: {t}\n"
        for i, (s, t) in enumerate(_turns(1))
    ]
    (folder / "north_w2_g2.vtt").write_text("WEBVTT\n\n" + "\n".join(cues), encoding="utf-8")
    cues = [
        f"{i + 1}\n00:00:{i:02d},000 --> 00:00:{i:02d},900\n{s}: {t}\n"
        for i, (s, t) in enumerate(_turns(2))
    ]
    (folder / "south_w1_g3.srt").write_text("\n".join(cues), encoding="utf-8")
    segments = [
        {"start": float(i), "end": i + 0.9, "text": f" {t}", "speaker": s}
        for i, (s, t) in enumerate(_turns(3))
    ]
    (folder / "south_w2_g4.json").write_text(json.dumps({"segments": segments}), encoding="utf-8")
    rows = ["Speaker,Utterance"] + [f'{s},"{t}"' for s, t in _turns(4)]
    (folder / "east_w1_g5.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    book = Workbook()
    book.active.append(["Time", "Name", "Text"])
    for i, (s, t) in enumerate(_turns(5)):
        book.active.append([f"00:00:{i:02d}", s, t])
    book.save(folder / "east_w2_g6.xlsx")
    document = docx.Document()
    document.add_paragraph("Focus group 7 (synthetic)")
    table = document.add_table(rows=0, cols=2)
    for s, t in _turns(6, facilitator="Jo"):
        cells = table.add_row().cells
        cells[0].text, cells[1].text = s, t
    document.save(str(folder / "west_w1_g7.docx"))
    (folder / "manifest.csv").write_text("file,cohort\neast_w1_g5.csv,2\n", encoding="utf-8")
    return folder


def test_cli_run_mixed_formats_folder(tmp_path: Path) -> None:
    folder = write_mixed(tmp_path / "mixed")
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        ["run", str(folder), "--out", str(out), "--codes", "3",
         "--meta-from-name", "{site}_{wave}_{group}", "--facilitator", "Jo"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "skipped" not in result.stderr and "warning" not in result.stderr
    manifest = json.loads((out / "run.json").read_text())
    inputs = {t["source"]: t for t in manifest["inputs"]["transcripts"]}
    assert {s: t["format"] for s, t in inputs.items()} == {
        "north_w1_g1.txt": "text", "north_w2_g2.vtt": "vtt", "south_w1_g3.srt": "srt",
        "south_w2_g4.json": "json", "east_w1_g5.csv": "csv", "east_w2_g6.xlsx": "xlsx",
        "west_w1_g7.docx": "docx",
    }  # fmt: skip
    assert inputs["west_w1_g7.docx"]["roles"]["Jo"] == "facilitator"
    assert inputs["west_w1_g7.docx"]["roles_from"] == "given"
    assert inputs["north_w1_g1.txt"]["roles"]["Moderator"] == "facilitator"
    assert inputs["east_w1_g5.csv"]["metadata"] == {
        "site": "east", "wave": "w1", "group": "g5", "cohort": "2",
    }  # fmt: skip
    assert manifest["skipped"] == []
    records = [json.loads(line) for line in (out / "passages.jsonl").read_text().splitlines()]
    assert {r["source"] for r in records} == set(inputs)
    assert all(r["speaker"] in SPEAKERS for r in records)
    plain = {t.source: t.plain_text for t in load_corpus([folder], IngestConfig()).transcripts}
    for r in records:
        assert plain[r["source"]][r["char_start"] : r["char_end"]] == r["text"]
        assert "[laughs]" in r["text"]
    by_topic: dict[str, set] = {}
    for r in records:
        topic = next(t for t, sents in TOPICS.items() if any(s in r["text"] for s in sents))
        by_topic.setdefault(topic, set()).add(r["code"])
    assert all(len(codes) == 1 for codes in by_topic.values())


def test_cli_ingest_options_table_and_jsonl(tmp_path: Path) -> None:
    folder = write_mixed(tmp_path / "mixed")
    out = tmp_path / "turns.jsonl"
    result = runner.invoke(app, ["ingest", str(folder), "--out", str(out), "--facilitator", "Jo"])
    assert result.exit_code == 0, result.output
    for word in ("facilitator", "given", "Moderator", "(name)", "north_w1_g…", "docx", "words"):
        assert word in result.stderr  # the table (cells wrap at the test console's width)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    roles = {(r["speaker"], r["role"]) for r in rows}
    assert roles == {("Moderator", "facilitator"), ("Jo", "facilitator")} | {
        (s, "participant") for s in SPEAKERS
    }
    assert {r["format"] for r in rows} == {"text", "vtt", "srt", "json", "csv", "xlsx", "docx"}
    vtt = [r for r in rows if r["format"] == "vtt"]
    # the first two cues are both the moderator's: joined into one turn, times kept
    assert (vtt[0]["start_s"], vtt[0]["end_s"], vtt[1]["start_s"]) == (0.0, 1.9, 2.0)


def test_cli_ingest_format_and_columns_options(tmp_path: Path) -> None:
    path = tmp_path / "export.txt"
    path.write_text("Wer;Was\nAnn;Hello there\nBo;Hi\n", encoding="utf-8")
    out = tmp_path / "t.jsonl"
    args = ["ingest", str(path), "--format", "csv", "--columns", "speaker=Wer,text=Was"]
    result = runner.invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["speaker"] for line in out.read_text().splitlines()] == ["Ann", "Bo"]
    bad = runner.invoke(app, ["ingest", str(path), "--format", "csv", "--columns", "speaker"])
    assert bad.exit_code == 1 and "error: --columns speaker: expected role=column" in bad.stderr
    wrong = runner.invoke(app, ["ingest", str(path), "--format", "pdf"])
    assert wrong.exit_code == 1 and "ingest.format='pdf'" in wrong.stderr


def test_cli_ingest_strict_stops_at_first_bad_file(tmp_path: Path) -> None:
    folder = write_mixed(tmp_path / "mixed")
    (folder / "broken.docx").write_bytes(b"PK\x03\x04")
    loose = runner.invoke(app, ["ingest", str(folder)])
    assert loose.exit_code == 0
    assert f"skipped: {folder / 'broken.docx'}: not a readable .docx document" in loose.stderr
    strict = runner.invoke(app, ["ingest", str(folder), "--strict"])
    assert strict.exit_code == 1
    assert strict.stderr.strip().splitlines() == [
        f"error: {folder / 'broken.docx'}: not a readable .docx document (PackageNotFoundError); "
        "damaged or truncated?"
    ]
