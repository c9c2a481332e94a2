"""Every format and speaker convention the ingest stage reads, on small synthetic fixtures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cppthemes.config import IngestConfig
from cppthemes.errors import InputError
from cppthemes.ingest import READERS, load_corpus, read_corpus
from cppthemes.records import Transcript

FIXTURES = Path(__file__).parent / "fixtures" / "ingest"


def read(name: str, fmt: str, columns: dict[str, str] | None = None) -> list[Transcript]:
    path = FIXTURES / name
    transcripts = READERS[fmt](path, Path(name).stem, name, columns or {})
    for t in transcripts:
        check_offsets(t)
    return transcripts


def check_offsets(t: Transcript) -> None:
    """The invariants every reader keeps: text at its span, lines of that span, LF text."""
    assert "\r" not in t.plain_text
    for i, turn in enumerate(t.turns):
        assert turn.index == i
        assert t.plain_text[turn.char_start : turn.char_end] == turn.text
        assert turn.text and turn.text == turn.text.strip()
        assert turn.line_start == t.plain_text.count("\n", 0, turn.char_start) + 1
        assert turn.line_end == t.plain_text.count("\n", 0, turn.char_end - 1) + 1


def pairs(t: Transcript) -> list[tuple[str, str]]:
    return [(turn.speaker, turn.text) for turn in t.turns]


def test_ingest_text_colon_multiline_and_blank_lines() -> None:
    (t,) = read("colon.txt", "text")
    assert [turn.speaker for turn in t.turns] == ["Moderator", "Lena", "Moderator", "Tom"]
    tom = t.turns[3]
    assert tom.text.startswith("Curiosity.") and tom.text.endswith("It also fitted my shifts.")
    assert (tom.line_start, tom.line_end) == (6, 9)


def test_ingest_text_capitals_and_label_alone_on_its_line() -> None:
    (t,) = read("capitals.txt", "text")
    assert pairs(t)[2] == ("INTERVIEWER", "And before that?")
    assert t.turns[2].line_start == 4
    assert [turn.speaker for turn in t.turns].count("RESPONDENT") == 2


def test_ingest_text_interview_codes() -> None:
    (t,) = read("codes.txt", "text")
    assert [turn.speaker for turn in t.turns] == ["I", "R", "I", "P3"]


def test_ingest_markdown_bracket_speakers_keep_nonspeech_in_text() -> None:
    (t,) = read("bracket.md", "text")
    assert [turn.speaker for turn in t.turns] == ["Interviewer", "Mira", "Interviewer", "Mira"]
    assert t.turns[1].text == "More patience. [laughs] Less talking, more listening."


def test_ingest_text_rev_style_keeps_times() -> None:
    (t,) = read("rev.txt", "text")
    assert [turn.speaker for turn in t.turns] == ["Speaker 1", "Speaker 2"] * 2
    assert [turn.start_s for turn in t.turns] == [3.0, 5.0, 62.0, 69.0]
    assert t.turns[3].text.startswith("It was chaos")


def test_ingest_text_otter_headers() -> None:
    (t,) = read("otter.txt", "text")
    assert pairs(t) == [
        ("Jana Novak", "Thanks for joining. How was the drive?"),
        ("Pete Olsen", "Long. The roadworks again.\nWe sat there for forty minutes."),
        ("Jana Novak", "Shall we start with the questionnaire?"),
    ]
    assert [turn.start_s for turn in t.turns] == [3.0, 8.0, 75.0]
    assert t.turns[1].line_start == 5


def test_ingest_text_timestamps_before_and_after_speaker() -> None:
    (t,) = read("timestamps.txt", "text")
    assert pairs(t) == [
        ("Facilitator", "Let's begin with names."),
        ("Ruth", "I'm Ruth, I run the day centre."),
        ("Omar", "Omar, from the youth team."),
        ("Facilitator", "Thank you both."),
        ("Ruth", "Happy to be here."),
    ]
    assert [turn.start_s for turn in t.turns] == [1.0, 4.0, 9.0, 15.0, 20.0]


@pytest.mark.parametrize(
    "encoding, bom",
    [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("utf-16", b""), ("utf-16-le", b""),
     ("utf-16-be", b""), ("cp1252", b"")],
)  # fmt: skip
def test_ingest_text_encodings_normalised(tmp_path: Path, encoding: str, bom: bytes) -> None:
    text = "Moderator: Hvordan gikk møtet på kafé?\r\nÅse: Det gikk fint, takk.\rBo: Ja.\r\n"
    path = tmp_path / "enc.txt"
    path.write_bytes(bom + text.encode(encoding))
    (t,) = READERS["text"](path, "enc", "enc.txt", {})
    assert (
        t.plain_text
        == "Moderator: Hvordan gikk møtet på kafé?\nÅse: Det gikk fint, takk.\nBo: Ja.\n"
    )
    assert [turn.speaker for turn in t.turns] == ["Moderator", "Åse", "Bo"]
    check_offsets(t)


def test_ingest_vtt_zoom_joins_cues_of_one_speaker() -> None:
    (t,) = read("zoom.vtt", "vtt")
    assert pairs(t) == [
        ("Ann Lee", "Good morning, can everyone see the slides? We will start with the first "
         "question."),
        ("Bo Chen", "Yes, I can see them fine. and the sound is good too."),
    ]  # fmt: skip
    assert (t.turns[0].start_s, t.turns[0].end_s) == (1.0, 7.0)
    assert (t.turns[1].start_s, t.turns[1].end_s) == (7.2, 12.0)
    assert t.plain_text.startswith("Ann Lee: Good morning")
    assert t.format == "vtt"


def test_ingest_vtt_teams_voice_tags() -> None:
    (t,) = read("teams.vtt", "vtt")
    assert pairs(t) == [
        ("Ann Lee", "Shall we begin?"),
        ("Bo Chen", "Yes. I was just getting my coffee & notes."),
    ]
    assert (t.turns[1].start_s, t.turns[1].end_s) == (2.1, 7.25)


def test_ingest_srt_with_speaker_prefixes() -> None:
    (t,) = read("named.srt", "srt")
    assert pairs(t) == [
        ("Interviewer", "What does a good day look like?"),
        ("Kai", "A quiet one."),
        ("Interviewer", "Quiet how?"),
        ("Kai", "Nobody calls in sick."),
    ]


def test_ingest_srt_without_speakers_is_one_speaker() -> None:
    (t,) = read("plain.srt", "srt")
    assert pairs(t) == [("Speaker", "Welcome to the recorded talk about community gardens.")]
    assert (t.turns[0].start_s, t.turns[0].end_s) == (1.0, 6.5)


def test_ingest_whisper_json_segments() -> None:
    (t,) = read("whisper.json", "json")
    assert pairs(t) == [("Speaker", "We planted beans. Then the rain came.")]
    assert (t.turns[0].start_s, t.turns[0].end_s) == (0.0, 4.0)


def test_ingest_whisperx_json_joins_segments_of_one_speaker() -> None:
    (t,) = read("whisperx.json", "json")
    assert pairs(t) == [
        ("SPEAKER_00", "How did it go?"),
        ("SPEAKER_01", "Better than I feared. The team was ready."),
        ("SPEAKER_00", "Good to hear."),
    ]
    assert (t.turns[1].start_s, t.turns[1].end_s) == (2.2, 6.0)


def test_ingest_csv_headers_time_and_continuation_rows() -> None:
    (t,) = read("headers.csv", "csv")
    assert pairs(t) == [
        ("Ann", "What changed?"),
        ("Bo", "The rota, mostly.\nAnd the breaks."),
        ("Ann", "Thanks."),
    ]
    assert [turn.start_s for turn in t.turns] == [1.0, 4.0, 9.0]


def test_ingest_tsv_file_column_gives_many_transcripts() -> None:
    found = read("many.tsv", "tsv", {"text": "said"})
    assert [t.source for t in found] == ["many.tsv#int01", "many.tsv#int02"]
    assert [t.id for t in found] == ["many#int01", "many#int02"]
    assert pairs(found[1]) == [("Q", "And you?"), ("Sam", "The clinic on Main Street.")]


def test_ingest_csv_headerless_two_columns_semicolon() -> None:
    (t,) = read("semicolon.csv", "csv")
    assert pairs(t) == [("Interviewer", "Sa du det?"), ("Sigrid", "Ja, helt klart.")]


def test_ingest_csv_columns_by_number(tmp_path: Path) -> None:
    path = tmp_path / "n.csv"
    path.write_text("x,y,z\n1,Ann,Hello there\n2,Bo,Hi\n", encoding="utf-8")
    (t,) = READERS["csv"](path, "n", "n.csv", {"speaker": "2", "text": "3"})
    assert pairs(t) == [("Ann", "Hello there"), ("Bo", "Hi")]


def test_ingest_csv_without_known_columns_names_the_option(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("a,b,c,d\n1,2,3,4\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad\.csv:1: no speaker and text columns.*--columns"):
        READERS["csv"](path, "bad", "bad.csv", {})


def test_ingest_xlsx_headers_below_a_title_and_time_cells(tmp_path: Path) -> None:
    import datetime as dt

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["Focus group 2 (synthetic)"])
    sheet.append(["Time", "Speaker", "Utterance"])
    sheet.append([dt.time(0, 0, 5), "Moderator", "What matters most?"])
    sheet.append([dt.time(0, 0, 9), "Ida", "Time with the children."])
    sheet.append([None, None, None])
    sheet.append([75, "Moderator", "Thank you."])
    path = tmp_path / "fg.xlsx"
    book.save(path)
    (t,) = READERS["xlsx"](path, "fg", "fg.xlsx", {})
    check_offsets(t)
    assert pairs(t) == [
        ("Moderator", "What matters most?"),
        ("Ida", "Time with the children."),
        ("Moderator", "Thank you."),
    ]
    assert [turn.start_s for turn in t.turns] == [5.0, 9.0, 75.0]


def _docx(path: Path, paragraphs: list[str], tables: list[list[list[str]]]) -> Path:
    import docx

    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    for rows in tables:
        table = document.add_table(rows=len(rows), cols=len(rows[0]))
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                table.cell(r, c).text = value
    document.save(str(path))
    return path


def test_ingest_docx_paragraph_conventions(tmp_path: Path) -> None:
    path = _docx(
        tmp_path / "p.docx",
        ["Interview 4 (synthetic)", "", "I: How was the winter?", "R: Cold.", "Very cold."],
        [],
    )
    (t,) = READERS["docx"](path, "p", "p.docx", {})
    check_offsets(t)
    assert pairs(t) == [("I", "How was the winter?"), ("R", "Cold.\nVery cold.")]
    assert t.turns[0].line_start == 3 and t.format == "docx"


@pytest.mark.parametrize(
    "rows, times",
    [
        ([["Ann", "Where do we start?"], ["Bo", "At the top."]], [None, None]),
        ([["00:01", "Ann", "Where do we start?"], ["00:04", "Bo", "At the top."]], [1.0, 4.0]),
        ([["Speaker", "Text"], ["Ann", "Where do we start?"], ["Bo", "At the top."]], [None, None]),
    ],
    ids=["speaker-text", "time-speaker-text", "with-header"],
)
def test_ingest_docx_tables(tmp_path: Path, rows: list[list[str]], times: list) -> None:
    path = _docx(tmp_path / "t.docx", ["Session 1"], [rows])
    (t,) = READERS["docx"](path, "t", "t.docx", {})
    check_offsets(t)
    assert pairs(t) == [("Ann", "Where do we start?"), ("Bo", "At the top.")]
    assert [turn.start_s for turn in t.turns] == times


def test_ingest_folder_mixing_formats(tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    for name in ("colon.txt", "zoom.vtt", "whisperx.json", "headers.csv", "named.srt"):
        (folder / name).write_bytes((FIXTURES / name).read_bytes())
    _docx(folder / "d.docx", ["Moderator: Hello?", "Ann: Hi."], [])
    (folder / "manifest.yaml").write_text(
        "colon.txt: {site: B, wave: 1}\nzoom.vtt: {site: A}\n", encoding="utf-8"
    )
    corpus = load_corpus([folder], IngestConfig())
    assert corpus.skipped == ()
    formats = {t.source: t.format for t in corpus.transcripts}
    assert formats == {
        "colon.txt": "text", "d.docx": "docx", "headers.csv": "csv", "named.srt": "srt",
        "whisperx.json": "json", "zoom.vtt": "vtt",
    }  # fmt: skip
    by_source = {t.source: t for t in corpus.transcripts}
    assert by_source["colon.txt"].metadata == {"site": "B", "wave": "1"}
    assert by_source["zoom.vtt"].metadata == {"site": "A"}


def test_ingest_meta_from_name_and_manifest_override(tmp_path: Path) -> None:
    folder = tmp_path / "c"
    folder.mkdir()
    for name in ("north_w1_g2.txt", "south_w2_g1.txt", "odd.txt"):
        (folder / name).write_text("Moderator: Why?\nAnn: Because it works.\n", encoding="utf-8")
    (folder / "manifest.csv").write_text("file,wave\nsouth_w2_g1.txt,3\n", encoding="utf-8")
    corpus = load_corpus([folder], IngestConfig(meta_from_name="{site}_{wave}_{group}"))
    meta = {t.source: t.metadata for t in corpus.transcripts}
    assert meta["north_w1_g2.txt"] == {"site": "north", "wave": "w1", "group": "g2"}
    assert meta["south_w2_g1.txt"] == {"site": "south", "wave": "3", "group": "g1"}
    assert meta["odd.txt"] == {}
    assert [w.reason for w in corpus.warnings] == [
        "name 'odd' does not fit --meta-from-name '{site}_{wave}_{group}'"
    ]


def test_ingest_manifest_path_yaml_list_and_facilitator_column(tmp_path: Path) -> None:
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "a.txt").write_text("Kim: Tell me more?\nLu: Sure, it was fine.\n", encoding="utf-8")
    given = tmp_path / "meta.yaml"
    given.write_text("- file: a.txt\n  wave: 2\n  facilitator: Kim\n", encoding="utf-8")
    (t,) = read_corpus([folder], IngestConfig(manifest_path=str(given)))
    assert t.metadata == {"wave": "2"}
    assert t.roles == {"Kim": "facilitator", "Lu": "participant"} and t.roles_from == "manifest"


def test_ingest_table_with_file_column_matches_manifest_by_value(tmp_path: Path) -> None:
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "all.tsv").write_bytes((FIXTURES / "many.tsv").read_bytes())
    (folder / "manifest.csv").write_text("file,site\nint02,clinic\n", encoding="utf-8")
    corpus = load_corpus([folder], IngestConfig(columns={"text": "Said"}))
    assert {t.source: t.metadata for t in corpus.transcripts} == {
        "all.tsv#int01": {},
        "all.tsv#int02": {"site": "clinic"},
    }
    assert all(t.roles["Q"] == "facilitator" for t in corpus.transcripts)


def test_ingest_format_option_overrides_suffix(tmp_path: Path) -> None:
    path = tmp_path / "captions.txt"
    path.write_bytes((FIXTURES / "teams.vtt").read_bytes())
    (t,) = read_corpus([path], IngestConfig(format="vtt"))
    assert t.format == "vtt" and t.turns[0].speaker == "Ann Lee"


def test_ingest_jsonl_output_has_roles_and_times(tmp_path: Path) -> None:
    from cppthemes.ingest import turns_jsonl

    (t,) = read_corpus([FIXTURES / "rev.txt"], IngestConfig())
    rows = [json.loads(line) for line in turns_jsonl([t]).splitlines()]
    assert rows[0]["start_s"] == 3.0 and rows[0]["role"] in {"facilitator", "participant"}


def test_ingest_markdown_bold_labels_headings_and_time_lines(tmp_path: Path) -> None:
    path = tmp_path / "b.md"
    path.write_text(
        "# Session 2\n\n**Moderator:** Ready?\n\n[00:05:10]\n**Eva**: Yes.\n\n## Part two\n"
        "a note that belongs to no turn\n",
        encoding="utf-8",
    )
    (t,) = READERS["text"](path, "b", "b.md", {})
    check_offsets(t)
    assert pairs(t) == [("Moderator", "Ready?"), ("Eva", "Yes.")]
    assert [turn.start_s for turn in t.turns] == [None, 310.0]


def test_ingest_text_affiliation_in_brackets_after_name() -> None:
    (t,) = read("hansard.txt", "text")
    assert [turn.speaker for turn in t.turns] == [
        "The Chair (Hon. Anthony Example (Northtown, Lib.))",
        "Ms. Jane Sample (Vancouver East, NDP)",
        "Speaker 1",
    ]
    assert t.turns[1].line_end == 3 and t.turns[2].start_s == 62.0
