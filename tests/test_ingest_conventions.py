"""Speaker labels inferred from the file itself, and roles decided from each speaker's talk.

Every fixture is written here, in the conventions real transcribers use: lower-case roles,
code-like ids, Norwegian names, WhisperX's SPEAKER_00, wrapped lines, names with particles and
brackets, and the ugly mixtures between them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cppthemes.config import IngestConfig, SegmentConfig
from cppthemes.ingest import load_corpus
from cppthemes.ingest.roles import asks, assign_roles, detect_asker
from cppthemes.ingest.text import infer_labels, read_turns
from cppthemes.records import Transcript, Turn

LOWER = """therapist: How have things been since we last met?
client: Honestly it has been a hard couple of weeks, work has been piling up and I barely sleep.
therapist: What does a bad night look like for you?
client: I lie awake going over every email I did not answer, and then I get up at four.
therapist: And how do you feel in the morning?
client: Flat. Like I am running on nothing, and I snap at the kids before school.
client: and the thing is: I cannot put it down even on weekends.
"""

CODES = """F: Welcome everyone. Let us start with how the new rota has worked for you?
nR1-01: It has been chaotic at first, we did not know who was on call on weekends.
nR1-02: For me it was fine after a month, once the list was on the wall in the staff room.
F: What changed after that month?
nR1-01: People started swapping shifts properly and telling the coordinator first.
nR1-03: I still think nights are unfair, the same three people always end up covering them.
F: Can you say more about the nights?
nR1-02: Nobody volunteers, so the coordinator just picks whoever has older children.
nR1-07: I agree with that completely, it was the same at my old ward for years.
"""

WRAPPED = """Interview 3, 12 March
resp_03: I started in the job in 2019, and at the time
nobody had heard of the programme, so we were making it up as we went.
INT: What did making it up look like?
resp_03: Lots of meetings. Lots of spreadsheets. In the end: one
shared folder that everybody could see.
so the thing is: nobody owned it.
INT: Did that help?
resp_03: It did, though it took a year before people trusted it enough.
"""

NORSK = """Åse: Hvordan har det vært på jobb etter omorganiseringen?
Per Øyvind: Det har vært tungt, vi mistet to stillinger og ingen sa noe om hvorfor.
Åse: Hva gjorde dere da?
Per Øyvind: Vi snakket med tillitsvalgt, men det tok månedsvis før vi fikk et svar.
Åse: Hvordan påvirket det teamet?
Per Øyvind: Folk ble slitne, og noen begynte å søke andre jobber allerede før jul.
"""

NAMES = """Interviewer (Dan): Can you tell me how the pilot was organised in your unit?
Dr. van der Berg: We started with two wards and a weekly meeting where nurses brought cases.
Interviewer (Dan): What did the nurses think of it?
Dr. van der Berg: Mixed at first, but after three months most of them wanted it to continue.
"""

MIXED_CASE = """P01a: I work nights mostly, so the day meetings never fit my shifts.
Speaker 1: What would fit better?
P01a: An evening slot once a month, or notes we can read afterwards.
Speaker 1: Do you read the notes now?
p01b: Sometimes, when they come out the same week, which is rare.
p01b: Mostly they arrive after the next meeting has already happened.
"""


def _turns(text: str) -> list[tuple[str, int, str]]:
    return [(t.speaker, t.line_start, t.text) for t in read_turns(text, "t").turns]


@pytest.mark.parametrize(
    "text, speakers",
    [
        (LOWER, ["therapist", "client"]),
        (CODES, ["F", "nR1-01", "nR1-02", "nR1-03", "nR1-07"]),
        (WRAPPED, ["resp_03", "INT"]),
        (NORSK, ["Åse", "Per Øyvind"]),
        (NAMES, ["Interviewer (Dan)", "Dr. van der Berg"]),
        (MIXED_CASE, ["P01a", "Speaker 1", "p01b"]),
        ("SPEAKER_00: what happened then?\nSPEAKER_01: we moved house.\n", None),
        ("INT: so where were we?\nRESP: at the start.\n", None),
    ],
)
def test_ingest_conventions_speakers_read_from_the_file(
    text: str, speakers: list[str] | None
) -> None:
    found = list(dict.fromkeys(s for s, _, _ in _turns(text)))
    expected = speakers or list(dict.fromkeys(line.split(":")[0] for line in text.splitlines()))
    assert found == expected


def test_ingest_conventions_lower_case_turns_lines_and_colon_sentences() -> None:
    turns = _turns(LOWER)
    assert len(turns) == 7
    assert turns[-1] == ("client", 7, "and the thing is: I cannot put it down even on weekends.")


def test_ingest_conventions_wrapped_lines_and_one_off_sentence_with_colon() -> None:
    read = read_turns(WRAPPED, "t")
    turns = [(t.speaker, t.line_start, t.line_end) for t in read.turns]
    # the title is in no turn; "so the thing is:" continues resp_03's turn
    assert turns == [("resp_03", 2, 3), ("INT", 4, 4), ("resp_03", 5, 7), ("INT", 8, 8),
                     ("resp_03", 9, 9)]  # fmt: skip
    assert "so the thing is: nobody owned it." in read.turns[2].text


def test_ingest_conventions_one_off_code_joins_its_family() -> None:
    turns = _turns(CODES)
    assert turns[-1][:2] == ("nR1-07", 9)
    assert sum(1 for s, _, _ in turns if s == "F") == 3


@pytest.mark.parametrize(
    "counts, labels",
    [
        ({"client": 5, "therapist": 5, "so the thing is": 1}, {"client", "therapist"}),
        ({"and then she said": 3, "he said": 2}, set()),  # sentence openings, however often
        ({"Anna": 1, "Ben": 1}, {"Anna", "Ben"}),  # name-shaped labels count once
        ({"resp_03": 4, "resp_7": 1, "note": 1}, {"resp_03", "resp_7"}),
        ({"i": 3, "r": 3}, {"i", "r"}),
        ({"det er": 4, "men": 3}, set()),  # Norwegian sentence openings
    ],
)
def test_ingest_conventions_infer_labels(counts: dict[str, int], labels: set[str]) -> None:
    from collections import Counter

    assert set(infer_labels(Counter(counts))) == labels


def test_ingest_conventions_many_unlabelled_lines_are_a_note(tmp_path: Path) -> None:
    lines = ["Facilitator: How did it go?"]
    for i in range(6):
        lines += [f"nurse{'abcdef'[i]}: it went well on the ward for me", "more words here"]
    path = tmp_path / "t.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    from cppthemes.ingest.text import read_text_transcript

    t = read_text_transcript(path, "t", "t.txt")
    assert len(t.turns) == 1 and t.notes and "6 of 13 lines" in t.notes[0]


def test_ingest_conventions_vtt_lower_case_prefixes_and_provenance(tmp_path: Path) -> None:
    (tmp_path / "call.vtt").write_text(
        "WEBVTT\n\n1\n00:00:01.000 --> 00:00:04.000\ninterviewer: How did the training go?\n\n"
        "2\n00:00:04.500 --> 00:00:09.000\nparticipant: It was good, the trainer knew wards.\n\n"
        "3\n00:12:31.000 --> 00:12:36.000\ninterviewer: What would you change about it?\n\n"
        "4\n00:12:36.500 --> 00:12:45.000\nparticipant: More time for practice, one afternoon "
        "was not enough.\n",
        encoding="utf-8",
    )
    (t,) = load_corpus([tmp_path], IngestConfig()).transcripts
    assert [turn.speaker for turn in t.turns] == ["interviewer", "participant"] * 2
    assert [(turn.ref_line, turn.start_s) for turn in t.turns] == [
        (5, 1.0), (9, 4.5), (13, 751.0), (17, 756.5),
    ]  # fmt: skip
    lines = (tmp_path / "call.vtt").read_text(encoding="utf-8").split("\n")
    assert lines[13 - 1].startswith("interviewer: What would you change")
    assert t.roles["interviewer"] == "facilitator"


def test_ingest_conventions_whisperx_speaker_who_asks_is_facilitator(tmp_path: Path) -> None:
    segments = [
        ("SPEAKER_00", "So what brought you to the clinic in the first place?"),
        ("SPEAKER_01", "My doctor sent me after the second fall, she thought my balance was "
                       "getting worse and I live alone."),
        ("SPEAKER_00", "How did you feel about that?"),
        ("SPEAKER_01", "Annoyed at first, I did not want anyone telling me I was old."),
        ("SPEAKER_00", "And what happens at home now?"),
        ("SPEAKER_01", "My daughter comes on Tuesdays and we do the exercises together."),
    ]  # fmt: skip
    data = {
        "segments": [
            {"start": 10.0 * i, "end": 10.0 * i + 5, "speaker": s, "text": text}
            for i, (s, text) in enumerate(segments)
        ]
    }
    (tmp_path / "a.json").write_text(json.dumps(data), encoding="utf-8")
    (t,) = load_corpus([tmp_path], IngestConfig()).transcripts
    assert t.roles == {"SPEAKER_00": "facilitator", "SPEAKER_01": "participant"}
    assert t.roles_from == "questions" and "SPEAKER_00 asks in 3 of 3" in t.roles_evidence
    assert [turn.start_s for turn in t.turns] == [0.0, 10.0, 20.0, 30.0, 40.0, 50.0]


def test_ingest_conventions_xlsx_turns_carry_their_sheet_row(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["Focus group 2, site B"])
    sheet.append([])
    sheet.append(["Speaker", "Utterance"])
    sheet.append(["Moderator", "What is the hardest part of the week?"])
    sheet.append(["P1", "Mondays, when the weekend referrals all land at once."])
    sheet.append([None, "And nobody has read them yet."])
    sheet.append(["P2", "For me Fridays, because the courts close early."])
    book.save(tmp_path / "fg.xlsx")
    (t,) = load_corpus([tmp_path], IngestConfig()).transcripts
    assert [(turn.speaker, turn.ref_row) for turn in t.turns] == [
        ("Moderator", 4), ("P1", 5), ("P2", 7),
    ]  # fmt: skip


def test_ingest_conventions_docx_paragraph_numbers(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    for text in [
        "Interview with a ward manager",
        "int: How is the new rota working?",
        "mgr: Better than the old one, people can swap shifts now.",
        "int: What still goes wrong?",
        "mgr: Nights. Nobody wants them and the same three end up covering.",
    ]:
        document.add_paragraph(text)
    document.save(str(tmp_path / "i.docx"))
    (t,) = load_corpus([tmp_path], IngestConfig()).transcripts
    assert [(turn.speaker, turn.ref_line) for turn in t.turns] == [
        ("int", 2), ("mgr", 3), ("int", 4), ("mgr", 5),
    ]  # fmt: skip
    assert t.roles["int"] == "facilitator" and t.roles_from == "name"


def _transcript(tid: str, turns: list[tuple[str, str]]) -> Transcript:
    plain = "".join(f"{s}: {text}\n" for s, text in turns)
    out, offset = [], 0
    for i, (s, text) in enumerate(turns):
        start = offset + len(s) + 2
        out.append(Turn(tid, i, s, text, i + 1, i + 1, start, start + len(text)))
        offset += len(s) + 2 + len(text) + 1
    return Transcript(tid, f"{tid}.txt", f"{tid}.txt", "text", plain, tuple(out))


ANSWERS = [
    "Well, I have worked on the unit for about six years now, mostly on the day shift.",
    "It changed a lot when the new manager came, we got more say in how the rota works.",
    "Honestly the paperwork, there is so much of it and none of it helps the patients.",
    "My colleagues, without them I would have left years ago, we look after each other.",
    "Training was mostly online, which is fine, but you cannot practise a hoist online.",
]


def _interview(tid: str, interviewer: str, person: str, curious: bool = False) -> Transcript:
    questions = [
        "Could you tell me about your role?",
        "What changed over the years?",
        "What is the hardest part?",
        "What keeps you going?",
        "How was the training?",
    ]
    turns: list[tuple[str, str]] = []
    for q, a in zip(questions, ANSWERS, strict=True):
        turns.append((interviewer, q))
        turns.append((person, a + (" Do you know what I mean? Is that normal?" if curious else "")))
    return _transcript(tid, turns)


def test_ingest_conventions_interviewer_with_a_first_name_in_every_file() -> None:
    people = ["Maria", "Ole", "Sanna", "Tom", "Ingrid", "Ali", "Kate"]
    corpus = [
        _interview(f"i{n}", "Dan", person, curious=n in (2, 5)) for n, person in enumerate(people)
    ]
    roles = assign_roles(corpus, known=IngestConfig().facilitator_labels)
    assert [t.roles["Dan"] for t in roles] == ["facilitator"] * 7
    assert all(t.roles[p] == "participant" for t, p in zip(roles, people, strict=True))


def test_ingest_conventions_counsellor_found_in_every_session() -> None:
    sessions = [
        _interview("s1", "counsellor", "client"),
        _interview("s2", "Counsellor", "Client"),
        _interview("s3", "Jenny", "client", curious=True),  # a name: the other one is 'client'
        _interview("s4", "T", "C"),  # C for client: T is the other one
        _interview("s5", "X", "Y"),  # letters only: detection from the questions
    ]
    roles = assign_roles(sessions, known=IngestConfig().facilitator_labels)
    facilitators = [[s for s, r in t.roles.items() if r == "facilitator"] for t in roles]
    assert facilitators == [["counsellor"], ["Counsellor"], ["Jenny"], ["T"], ["X"]]
    assert [t.roles_from for t in roles] == ["name"] * 4 + ["questions"]


def test_ingest_conventions_conversation_between_equals_has_no_facilitator() -> None:
    turns = [
        ("A", "I think the new park is great, we go there every weekend with the kids."),
        ("B", "We do too, though the parking is a nightmare on Saturdays, isn't it?"),
        ("A", "Oh it is, we started cycling there instead, which the kids love."),
        ("B", "Cycling is a good idea, I should try that with my two sometime soon."),
    ] * 3
    (t,) = assign_roles([_transcript("c", turns)], known=IngestConfig().facilitator_labels)
    assert set(t.roles.values()) == {"participant"} and t.roles_from == "none"


def test_ingest_conventions_thin_evidence_is_flagged_uncertain() -> None:
    turns = []
    for i in range(6):
        turns.append(("Kim", f"What about the {i} shift?" if i % 2 == 0 else "Right, go on then."))
        turns.append(("Lee", ANSWERS[i % 5] + (" Why?" if i in (1, 4) else "")))
    found = detect_asker(_transcript("u", turns))
    assert found.speaker == "Kim" and found.uncertain


@pytest.mark.parametrize(
    "text, expected",
    [
        ("And how did that feel?", True),
        ("tell me more about the night shifts", True),
        ("Hvordan opplevde du det", True),
        ("I went home. Then I slept.", False),
        ("you know? I just left it there.", False),
        ("[laughs] What happened next? [inaudible]", True),
    ],
)
def test_ingest_conventions_asks(text: str, expected: bool) -> None:
    assert asks(text) is expected


def test_ingest_conventions_cp1252_beats_rarer_code_pages(tmp_path: Path) -> None:
    text = (
        "Interviewer: Chloé Dubois said the plan was naïve.\n"
        "Chloé: Yes, I was naïve about the café, and the crème brûlée.\n"
    )
    (tmp_path / "legacy.txt").write_bytes(text.encode("cp1252"))
    corpus = load_corpus([tmp_path], IngestConfig())
    (t,) = corpus.transcripts
    assert t.plain_text == text and t.notes == ()


def test_ingest_conventions_mixed_encodings_read_line_by_line_with_a_warning(
    tmp_path: Path,
) -> None:
    from cppthemes.accounting import account, warnings_for

    raw = (
        "Intervjuer: Hvordan var det å flytte til Tromsø?\n".encode()
        + "Åse: Det var tøft, men kaféen på hjørnet reddet meg.\n".encode("cp1252")
        + "Intervjuer: Og nå, etter ett år?\n".encode()
        + "Åse: Nå er det hjemme, ærlig talt.\n".encode()
    )
    (tmp_path / "mixed.txt").write_bytes(raw)
    (t,) = load_corpus([tmp_path], IngestConfig()).transcripts
    assert "Det var tøft, men kaféen på hjørnet reddet meg." in t.plain_text
    assert "Hvordan var det å flytte til Tromsø?" in t.plain_text
    assert t.roles["Intervjuer"] == "facilitator"
    (warning,) = warnings_for([t], account([t], SegmentConfig()))
    assert "mixes encodings" in warning.reason and "line 2" in warning.reason


def test_ingest_conventions_srt_cue_line_and_time(tmp_path: Path) -> None:
    (tmp_path / "s.srt").write_text(
        "1\n00:00:02,000 --> 00:00:05,000\nMOD: What made you join the study?\n\n"
        "2\n00:00:05,500 --> 00:00:09,000\nP1: My sister did it first and liked it.\n\n"
        "3\n00:00:09,500 --> 00:00:12,000\nshe said it helped her sleep.\n",
        encoding="utf-8",
    )
    (t,) = load_corpus([tmp_path], IngestConfig()).transcripts
    assert [(x.speaker, x.ref_line, x.start_s) for x in t.turns] == [
        ("MOD", 3, 2.0), ("P1", 7, 5.5),
    ]  # fmt: skip
    assert t.roles["MOD"] == "facilitator"


def test_ingest_conventions_focus_group_moderator_by_first_name() -> None:
    turns: list[tuple[str, str]] = []
    people = ["Kari", "Ola", "Nils", "Siri"]
    for q in range(5):
        turns.append(("Hege", f"Question {q}: what do you think about the referral form?"))
        for n, person in enumerate(people):
            turns.append((person, ANSWERS[(q + n) % 5]))
        turns.append(("Kari", "Mm, yes, right."))
    (t,) = assign_roles([_transcript("fg", turns)], known=IngestConfig().facilitator_labels)
    assert [s for s, r in t.roles.items() if r == "facilitator"] == ["Hege"]
    assert t.roles_from == "questions" and not t.roles_uncertain


def test_ingest_conventions_sentences_read_as_labels_are_a_warning() -> None:
    from cppthemes.accounting import account, warnings_for

    openers = (  # noqa: SIM905 - a word list reads better as text
        "However Also Then Finally Basically Honestly Firstly Secondly Thirdly Anyway Actually "
        "Overall Generally Frankly Clearly Obviously Naturally Similarly Meanwhile Otherwise "
        "Besides Still Instead Likewise Nevertheless Nonetheless Therefore Thus Hence Indeed"
    ).split()
    turns = [(w, "and then we carried on with the rest of the day") for w in openers]
    t = _transcript("many", turns)
    reasons = [w.reason for w in warnings_for([t], account([t], SegmentConfig()))]
    assert any("30 speakers, 30 of them one word with a single turn" in r for r in reasons)
    # a committee's many one-off speakers have full names: no warning
    names = [
        (f"Ms. {w} Smith (Riding {i}, NDP)", "Thank you, Chair.") for i, w in enumerate(openers)
    ]
    c = _transcript("committee", names)
    assert not warnings_for([c], account([c], SegmentConfig()))


def test_ingest_conventions_counsellor_who_reflects_more_than_asks() -> None:
    client = [
        "I have been drinking more since the layoff, most nights, and my wife has noticed it.",
        "Not really, I think it helps me sleep, but then I wake up at three and cannot settle.",
        "My kids, mostly. My son asked why I was always tired at his football on Saturdays.",
        "Maybe cutting down on weeknights, but I do not know if I can manage it alone.",
        "Yes, I suppose my brother would help, he stopped drinking two years ago himself.",
    ]
    counsellor = [
        "What brings you in today?",
        "It sounds like the drinking is doing something for you at night.",
        "So you are paying for the sleep the next morning.",
        "It sounds like your son noticed before you did.",
        "You feel you would need someone beside you for that.",
    ]
    turns = [x for pair in zip(counsellor, client, strict=True) for x in pair]
    (t,) = assign_roles(
        [_transcript("mi", [("T" if i % 2 == 0 else "C", x) for i, x in enumerate(turns)])],
        known=IngestConfig().facilitator_labels,
    )
    assert t.roles == {"T": "facilitator", "C": "participant"}
    (u,) = assign_roles(
        [_transcript("mi2", [("Sam" if i % 2 == 0 else "Alex", x) for i, x in enumerate(turns)])],
        known=IngestConfig().facilitator_labels,
    )
    assert u.roles["Sam"] == "facilitator" and u.roles_from == "questions"


def test_ingest_conventions_sample_groups_with_a_first_name_moderator(tmp_path: Path) -> None:
    """The bundled focus groups with 'Facilitator:' renamed to a first name: found in all."""
    from tests.conftest import SAMPLE

    for path in sorted(SAMPLE.glob("*.txt")):
        text = path.read_text(encoding="utf-8").replace("Facilitator:", "Hege:")
        (tmp_path / path.name).write_text(text, encoding="utf-8")
    transcripts = load_corpus([tmp_path], IngestConfig()).transcripts
    assert len(transcripts) == 8
    for t in transcripts:
        assert [s for s, r in t.roles.items() if r == "facilitator"] == ["Hege"], t.source
        assert t.roles_from in ("questions", "corpus") and not t.roles_uncertain
