"""Every line accounted for: per-transcript counts, warnings, --strict, the end-of-run line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cppthemes.accounting import account, warnings_for
from cppthemes.cli.app import app
from cppthemes.config import IngestConfig, SegmentConfig
from cppthemes.ingest import load_corpus
from tests.conftest import TOPICS, use_fake_model, write_corpus

runner = CliRunner()


@pytest.fixture(autouse=True)
def _fake_model(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fake_model(monkeypatch)


# The moderator's turn swallows every participant line when their labels are not read: here
# they are one-off lower-case words, so the file is one long facilitator turn.
SWALLOWED = "Moderator: Welcome all. What did you make of the new referral form?\n" + "".join(
    f"{name}: it is slower than the old one and nobody reads the second page at all\n"
    for name in ("kari", "ola", "nils", "siri", "tove")
)


def _corpus_with_bad_file(tmp_path: Path) -> Path:
    folder = write_corpus(tmp_path / "corpus")
    (folder / "swallowed.txt").write_text(SWALLOWED, encoding="utf-8")
    return folder


def test_accounting_counts_every_line(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(
        "Interview 4\nDate: 3 May\n\nInterviewer: How was the first week?\n"
        "Anna: Busy. I did not\nstop once.\nInterviewer: And now?\nAnna: Mm.\n",
        encoding="utf-8",
    )
    corpus = load_corpus([tmp_path], IngestConfig())
    (a,) = account(corpus.transcripts, SegmentConfig())
    assert (a.lines, a.lines_in_turns, a.lines_in_no_turn) == (7, 5, 2)
    assert (a.turns, a.facilitator_turns, a.participant_turns, a.backchannels) == (4, 2, 2, 1)
    assert a.passages is None and a.facilitators == ("Interviewer",)


def test_accounting_warns_about_swallowed_labels_and_one_speaker(tmp_path: Path) -> None:
    folder = _corpus_with_bad_file(tmp_path)
    corpus = load_corpus([folder], IngestConfig())
    accounts = account(corpus.transcripts, SegmentConfig(), passages=[])
    warned = warnings_for(corpus.transcripts, accounts)
    reasons = [w.reason for w in warned if "swallowed" in w.path]
    assert any(r.startswith("yields no passage") for r in reasons)
    assert any("5 of 6 lines open with a prefix like 'kari:'" in r for r in reasons)
    assert any(r.startswith("only one speaker (Moderator)") for r in reasons)


def test_accounting_run_warns_at_end_in_run_json_and_report(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(_corpus_with_bad_file(tmp_path)), "--out", str(out)])
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    warned = [i for i, line in enumerate(lines) if line.startswith("warning: ")]
    assert warned and all("swallowed.txt" in lines[i] for i in warned)
    # The warnings end the run, then the summary: what was found, the report, next steps.
    assert warned[-1] == len(lines) - 4
    summary = lines[-3]
    assert lines[-2].startswith("Report: ") and lines[-2].split()[1].endswith("report.html")
    assert lines[-1].startswith("Next: ") and "cppthemes refine" in lines[-1]
    assert "coverage" not in summary and "3 of 4 files gave passages (1 gave no passage" in summary
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert any(w["reason"].startswith("yields no passage") for w in run["warnings"])
    swallowed = next(t for t in run["inputs"]["transcripts"] if t["source"] == "swallowed.txt")
    assert swallowed["passages"] == 0 and swallowed["lines"] == 6
    assert swallowed["roles_from"] == "name" and swallowed["roles_evidence"]
    report = (out / "report.md").read_text(encoding="utf-8")
    assert report.index("## Warnings") < report.index("## Overview")
    assert "swallowed.txt: yields no passage" in report
    assert "but only 3 of 4 files gave passages" in report
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.index('id="warnings"') < html.index('id="overview"')
    # regenerated from the run folder, the report still has them
    runner.invoke(app, ["export", str(out), "--to", "md"])
    assert "swallowed.txt: yields no passage" in (out / "report.md").read_text(encoding="utf-8")


def test_accounting_strict_makes_warnings_errors_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    folder = _corpus_with_bad_file(tmp_path)
    result = runner.invoke(app, ["run", str(folder), "--out", str(out), "--strict"])
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()[-1:]
    assert line.startswith("error: ") and "swallowed.txt" in line and "--strict" in line
    assert not out.exists()
    result = runner.invoke(app, ["ingest", str(folder), "--strict"])
    assert result.exit_code == 1 and "swallowed.txt" in result.stderr


def test_accounting_clean_run_keeps_the_coverage_line(corpus: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", str(corpus), "--out", str(tmp_path / "o")])
    assert result.exit_code == 0
    assert "warning" not in result.stderr
    assert "3 transcripts, " in result.stderr and "coverage " in result.stderr


def test_accounting_missing_facilitator_among_interviews(tmp_path: Path) -> None:
    for n in range(4):
        (tmp_path / f"i{n}.txt").write_text(
            "Interviewer: What is your role?\nAnna: I run the ward.\n"
            "Interviewer: What works?\nAnna: The team works well together.\n",
            encoding="utf-8",
        )
    (tmp_path / "odd.txt").write_text(
        "Kim: I run the ward.\nAnna: The team works well together.\n", encoding="utf-8"
    )
    corpus = load_corpus([tmp_path], IngestConfig())
    warned = warnings_for(corpus.transcripts, account(corpus.transcripts, SegmentConfig()))
    assert [Path(w.path).name for w in warned] == ["odd.txt"]
    assert "no facilitator found, while 4 of the other 4" in warned[0].reason


def test_accounting_vtt_quote_points_to_time_and_line(tmp_path: Path) -> None:
    answers = [s for sentences in TOPICS.values() for s in sentences]
    cues = []
    for i, answer in enumerate(answers):
        for j, (who, text) in enumerate(
            [("interviewer", "What about that, then?"), ("participant", answer)]
        ):
            n = 2 * i + j + 1
            cues.append(f"{n}\n00:{n:02d}:31.000 --> 00:{n:02d}:36.000\n{who}: {text}\n")
    (tmp_path / "zoom.vtt").write_text("WEBVTT\n\n" + "\n".join(cues), encoding="utf-8")
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(tmp_path / "zoom.vtt"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    vtt = (tmp_path / "zoom.vtt").read_text(encoding="utf-8").split("\n")
    records = [json.loads(r) for r in (out / "passages.jsonl").read_text().splitlines()]
    for r in records:
        assert vtt[r["ref_line"] - 1].startswith("participant: ")
        assert vtt[r["ref_line"] - 2].startswith(f"00:{int(r['start_s']) // 60:02d}:31.000")
    # cue 2 (the first answer) starts at 00:02:31, its text on line 9 of the .vtt
    assert vtt[8].startswith("participant: ") and vtt[7].startswith("00:02:31.000")
    csv_text = (out / "passages.csv").read_text(encoding="utf-8")
    assert '"00:02:31, line 9"' in csv_text
    report = (out / "report.md").read_text(encoding="utf-8")
    quoted = [line for line in report.splitlines() if line.startswith("> — participant, ")]
    assert quoted and all(re.search(r"zoom\.vtt \d\d:\d\d:31, line \d+$", q) for q in quoted)


def test_accounting_xlsx_quote_points_to_a_row(tmp_path: Path) -> None:
    from openpyxl import Workbook, load_workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["Interviews, site B"])
    sheet.append(["Who", "Said"])
    for sentences in TOPICS.values():
        sheet.append(["Interviewer", "And what about that?"])
        for s in sentences:
            sheet.append(["P1", s])
    book.save(tmp_path / "sheet.xlsx")
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(tmp_path / "sheet.xlsx"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(load_workbook(tmp_path / "sheet.xlsx").active.iter_rows(values_only=True))
    records = [json.loads(r) for r in (out / "passages.jsonl").read_text().splitlines()]
    assert records and all(rows[r["ref_row"] - 1][1] == r["text"] for r in records)
    report = (out / "report.md").read_text(encoding="utf-8")
    quoted = [line for line in report.splitlines() if line.startswith("> — P1, ")]
    assert quoted and all(re.search(r"sheet\.xlsx row \d+$", q) for q in quoted)
    book_text = (out / "codebook.yaml").read_text(encoding="utf-8")
    assert "where: row " in book_text
    shown = runner.invoke(app, ["show", str(out), "C01"])
    assert re.search(r"sheet\.xlsx row \d+", shown.stdout)
