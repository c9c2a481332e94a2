"""Invariants of the readers on any input: offsets round-trip, and only our errors escape."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cppthemes.config import IngestConfig, SegmentConfig
from cppthemes.errors import CppthemesError, InputError
from cppthemes.ingest import READERS, SUFFIX_FORMATS, load_corpus
from cppthemes.ingest.nonspeech import nonspeech_spans, strip_nonspeech
from cppthemes.ingest.roles import assign_roles
from cppthemes.ingest.text import parse_turns
from cppthemes.records import Transcript, Turn
from cppthemes.segment import is_substantive, segment
from tests.conftest import examples
from tests.test_ingest_formats import FIXTURES, check_offsets

SUFFIX_OF = {fmt: suffix for suffix, fmt in reversed(list(SUFFIX_FORMATS.items()))}

_free_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r\x00"),
    max_size=40,
)
_name = st.from_regex(r"[A-Z][a-z]{0,8}( [A-Z][a-z]{0,8})?", fullmatch=True)
_line = st.one_of(
    st.builds(lambda n, t: f"{n}: {t}", _name, _free_text),
    st.builds(lambda n, t: f"[{n}] {t}", _name, _free_text),
    st.builds(lambda n, t: f"{n} (00:01:02): {t}", _name, _free_text),
    st.builds(lambda n: f"{n}  0:03", _name),
    st.builds(lambda n: f"{n}:", _name),
    _free_text,
    st.just(""),
    st.just("# Heading"),
    st.just("[00:12:03]"),
)


@given(st.lists(_line, max_size=30), st.sampled_from(["\n", "\r\n", "\r"]))
@settings(max_examples=examples(300), deadline=None)
def test_ingest_text_turns_round_trip_through_the_file(lines: list[str], newline: str) -> None:
    raw = newline.join(lines).encode("utf-8")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "t.txt"
        path.write_bytes(raw)
        try:
            (t,) = READERS["text"](path, "t", "t.txt", {})
        except InputError:
            return
    check_offsets(t)
    assert t.plain_text == raw.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")


@given(st.text(max_size=300))
@settings(max_examples=examples(300), deadline=None)
def test_ingest_parse_turns_any_text_keeps_offsets(text: str) -> None:
    plain = text.replace("\r\n", "\n").replace("\r", "\n")
    turns = parse_turns(plain, "t")
    check_offsets(
        Transcript(
            id="t", source="t", path="t", format="text", plain_text=plain, turns=tuple(turns)
        )
    )


def _fixture_bytes() -> dict[str, list[bytes]]:
    """Valid files of every format, to truncate and damage."""
    import docx
    from openpyxl import Workbook

    out: dict[str, list[bytes]] = {fmt: [] for fmt in READERS}
    for path in sorted(FIXTURES.iterdir()):
        out[SUFFIX_FORMATS[path.suffix]].append(path.read_bytes())
    document = docx.Document()
    document.add_paragraph("Moderator: Hello there?")
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Ann", "Hi."
    buffer = io.BytesIO()
    document.save(buffer)
    out["docx"].append(buffer.getvalue())
    book = Workbook()
    book.active.append(["Speaker", "Text"])
    book.active.append(["Ann", "Hi."])
    buffer = io.BytesIO()
    book.save(buffer)
    out["xlsx"].append(buffer.getvalue())
    return out


VALID = _fixture_bytes()


def _read_any(fmt: str, raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"f{SUFFIX_OF[fmt]}"
        path.write_bytes(raw)
        try:
            transcripts = READERS[fmt](path, "f", path.name, {})
        except CppthemesError:
            return
    for t in transcripts:
        check_offsets(t)


@pytest.mark.parametrize("fmt", sorted(READERS))
@given(raw=st.binary(max_size=600))
@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_ingest_fuzz_random_bytes_raise_only_our_errors(fmt: str, raw: bytes) -> None:
    _read_any(fmt, raw)


@pytest.mark.parametrize("fmt", sorted(READERS))
@given(data=st.data())
@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_ingest_fuzz_truncated_and_damaged_files(fmt: str, data: st.DataObject) -> None:
    raw = data.draw(st.sampled_from(VALID[fmt]))
    cut = data.draw(st.integers(0, len(raw)))
    damaged = bytearray(raw[:cut])
    for _ in range(data.draw(st.integers(0, 3))):
        if damaged:
            at = data.draw(st.integers(0, len(damaged) - 1))
            damaged[at] = data.draw(st.integers(0, 255))
    _read_any(fmt, bytes(damaged))


@pytest.mark.parametrize(
    "name, raw, message",
    [
        ("e.txt", b"", "empty file"),
        ("w.txt", b" \n\n  \n", "empty file"),
        ("b.txt", b"Ann: hi\n\x00\x01\x02", "b.txt:2: binary data"),
        ("n.txt", b"notes without any speaker\n", "n.txt:1: no speaker turns"),
        ("t.json", b'{"segments": [{"text": "hi"', "t.json:1: not valid JSON"),
        ("x.json", b'{"results": []}', "no 'segments' list"),
        ("v.vtt", b"WEBVTT\n\n00:01 --> nonsense\nhi\n", "v.vtt:3: bad cue timing"),
        ("s.srt", b"1\nhello\n", "s.srt:1: expected a subtitle timing line"),
        ("d.docx", b"PK\x03\x04truncated", "not a readable .docx document"),
        ("x.xlsx", b"PK\x03\x04truncated", "not a readable .xlsx workbook"),
    ],
)
def test_ingest_bad_files_name_file_line_and_reason(
    tmp_path: Path, name: str, raw: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(raw)
    fmt = SUFFIX_FORMATS[path.suffix]
    with pytest.raises(InputError, match=message.replace(".", r"\.").replace("(", r"\(")):
        READERS[fmt](path, "f", name, {})


def test_ingest_bad_file_is_skipped_and_the_rest_read(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text("Ann: Hello there, all fine.\n", encoding="utf-8")
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    seen = []
    corpus = load_corpus([tmp_path], IngestConfig(), on_skip=seen.append)
    assert [t.source for t in corpus.transcripts] == ["good.txt"]
    assert [str(s) for s in corpus.skipped] == [
        f"{tmp_path / 'bad.json'}:1: not valid JSON (Expecting property name enclosed in double "
        "quotes)"
    ]
    assert seen == list(corpus.skipped)
    with pytest.raises(InputError, match=r"bad\.json:1: not valid JSON"):
        load_corpus([tmp_path], IngestConfig(strict=True))


def test_ingest_same_transcript_id_twice_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Ann: Hello there.\n", encoding="utf-8")
    (tmp_path / "a.md").write_text("Ann: Hello again.\n", encoding="utf-8")
    corpus = load_corpus([tmp_path], IngestConfig())
    assert [t.source for t in corpus.transcripts] == ["a.md"]
    assert "same transcript id as" in corpus.skipped[0].reason


def _transcript(tid: str, turns: list[tuple[str, str]]) -> Transcript:
    lines, built, offset = [], [], 0
    for i, (speaker, text) in enumerate(turns):
        line = f"{speaker}: {text}"
        start = offset + len(speaker) + 2
        built.append(Turn(tid, i, speaker, text, i + 1, i + 1, start, start + len(text)))
        lines.append(line)
        offset += len(line) + 1
    return Transcript(
        tid, f"{tid}.txt", f"{tid}.txt", "text", "\n".join(lines) + "\n", tuple(built)
    )


GROUP = [
    ("Jo", "Welcome. How did the first week go?"),
    ("Ann", "It went well, I think the team settled."),
    ("Jo", "What surprised you?"),
    ("Bea", "The amount of paperwork, honestly."),
    ("Jo", "Did that change later?"),
    ("Ann", "A little. We got a new form."),
    ("Jo", "Anything else?"),
    ("Bea", "No, that was the main thing."),
]
KNOWN = IngestConfig().facilitator_labels


def test_ingest_roles_known_names_any_case_and_number() -> None:
    t = _transcript("a", [("INTERVIEWER 2", "So?"), ("Ann", "Yes."), ("Q", "Why?")])
    (out,) = assign_roles([t], known=KNOWN)
    assert out.roles == {"INTERVIEWER 2": "facilitator", "Ann": "participant", "Q": "facilitator"}
    assert out.roles_from == "name"


def test_ingest_roles_questioner_present_in_every_transcript() -> None:
    a = _transcript("a", GROUP)
    b = _transcript("b", [(s.replace("Ann", "Cy"), t) for s, t in GROUP])
    out = assign_roles([a, b], known=KNOWN)
    assert [t.roles["Jo"] for t in out] == ["facilitator", "facilitator"]
    assert {t.roles_from for t in out} == {"questions"}
    assert out[0].roles["Ann"] == "participant"


def test_ingest_roles_conversation_between_equals_has_no_facilitator() -> None:
    talk = [("A", "Do you garden?"), ("B", "Yes. Do you?"), ("A", "Not really. Why?"),
            ("B", "It calms me. And you, trains?"), ("A", "Trains, yes.")]  # fmt: skip
    (out,) = assign_roles([_transcript("c", talk)], known=KNOWN)
    assert set(out.roles.values()) == {"participant"} and out.roles_from == "none"
    (off,) = assign_roles([_transcript("g", GROUP)], known=KNOWN, detect=False)
    assert set(off.roles.values()) == {"participant"}


def test_ingest_roles_given_names_override_detection() -> None:
    t = _transcript("a", [("Facilitator", "Hello?"), ("Ann", "Hi."), ("Bea", "Hey.")])
    (out,) = assign_roles([t], known=KNOWN, given=["bea"])
    assert out.roles == {"Facilitator": "participant", "Ann": "participant", "Bea": "facilitator"}
    assert out.roles_from == "given"


def test_segment_uses_roles_detected_at_ingest() -> None:
    (t,) = assign_roles([_transcript("g", GROUP)], known=KNOWN)
    passages, stats = segment([t], SegmentConfig(), sentencizer=lambda s: [(0, len(s))])
    assert stats.facilitator_turns == 4
    assert {p.speaker for p in passages} == {"Ann", "Bea"}
    assert [p.context for p in passages[:2]] == [GROUP[0][1], GROUP[2][1]]


def test_ingest_nonspeech_markers_kept_but_not_words() -> None:
    text = "[laughter] We tried (crosstalk) it [inaudible 00:12:03] at [the clinic] (I mean)."
    assert strip_nonspeech(text).split() == [
        "We",
        "tried",
        "it",
        "at",
        "[the",
        "clinic]",
        "(I",
        "mean).",
    ]
    assert [text[s:e] for s, e in nonspeech_spans(text)] == [
        "[laughter]", "(crosstalk)", "[inaudible 00:12:03]",
    ]  # fmt: skip
    assert not is_substantive("[long pause] [background noise] yeah", 1)
    assert is_substantive("[long pause] we waited", 2)
