from __future__ import annotations

from pathlib import Path

import pytest

from cppthemes.config import IngestConfig
from cppthemes.errors import InputError
from cppthemes.ingest import find_files, read_corpus
from cppthemes.ingest.manifest import read_manifest
from cppthemes.ingest.text import read_text_transcript


def _read(tmp_path: Path, text: str | bytes, name: str = "t.txt"):
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return read_text_transcript(path, "t", name)


def test_ingest_turns_keep_lines_and_offsets(tmp_path: Path) -> None:
    t = _read(
        tmp_path,
        "Title line\nFacilitator: Hello all.\nAnna: First part\nstill Anna.\n\nBen: Ok: yes.\n",
    )
    assert [turn.speaker for turn in t.turns] == ["Facilitator", "Anna", "Ben"]
    anna = t.turns[1]
    assert (anna.line_start, anna.line_end) == (3, 4)
    assert anna.text == "First part\nstill Anna."
    for turn in t.turns:
        assert t.plain_text[turn.char_start : turn.char_end] == turn.text


@pytest.mark.parametrize(
    "line, speaker",
    [
        ("Speaker 2: hi there", "Speaker 2"),
        ("P3: hi there", "P3"),
        ("Dr. Lee: hi there", "Dr. Lee"),
    ],
)
def test_ingest_speaker_label_forms(tmp_path: Path, line: str, speaker: str) -> None:
    assert _read(tmp_path, line + "\n").turns[0].speaker == speaker


def test_ingest_sentence_with_colon_continues_turn(tmp_path: Path) -> None:
    t = _read(tmp_path, "Anna: I said one thing\nthe point is: we wait\n")
    assert len(t.turns) == 1 and t.turns[0].line_end == 2


def test_ingest_bom_and_crlf_normalised(tmp_path: Path) -> None:
    t = _read(tmp_path, "\ufeffAnna: one\r\nBen: two\r\n".encode())
    assert t.plain_text == "Anna: one\nBen: two\n"
    assert t.turns[1].text == "two" and t.turns[1].line_start == 2


def test_ingest_binary_file_names_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"b\.txt:2: binary data"):
        _read(tmp_path, b"Anna: hi\n\x00\x01\x02", name="b.txt")


def test_ingest_legacy_single_byte_decoded(tmp_path: Path) -> None:
    text = "Anna: Vi møttes på kaféen i Tromsø.\nBen: Ja, det var ærlig talt fint.\n"
    t = _read(tmp_path, text.encode("cp1252"), name="l.txt")
    assert t.plain_text == text
    assert t.turns[1].text == "Ja, det var ærlig talt fint."


def test_ingest_no_turns_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no speaker turns"):
        _read(tmp_path, "just some notes\nwithout speakers\n")


def test_ingest_corpus_attaches_manifest_metadata(corpus: Path) -> None:
    transcripts = read_corpus([corpus], IngestConfig())
    assert [t.source for t in transcripts] == ["group1.txt", "group2.txt", "group3.txt"]
    assert transcripts[1].metadata == {"wave": "2"}
    assert len(transcripts[0].sha256) == 64


def test_ingest_missing_and_empty_folders(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file or folder"):
        find_files([tmp_path / "nope"], IngestConfig())
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no transcript files"):
        find_files([tmp_path / "empty"], IngestConfig())


def test_ingest_unsupported_file_given_directly(tmp_path: Path) -> None:
    (tmp_path / "x.pdf").write_bytes(b"%PDF")
    with pytest.raises(InputError, match="unsupported format"):
        find_files([tmp_path / "x.pdf"], IngestConfig())


def test_ingest_manifest_errors_name_line(tmp_path: Path) -> None:
    path = tmp_path / "manifest.csv"
    path.write_text("file,wave\na.txt,1\na.txt,2\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"manifest\.csv:3: file 'a\.txt' listed twice"):
        read_manifest(path)
    path.write_text("name,wave\na.txt,1\n", encoding="utf-8")
    with pytest.raises(InputError, match="no file column"):
        read_manifest(path)
    path.write_text("file,wave\na.txt,1,extra\n", encoding="utf-8")
    with pytest.raises(InputError, match=r":2: expected 2 columns"):
        read_manifest(path)
