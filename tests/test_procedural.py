"""The procedural bin and the quote rule (issue 17), on ugly inputs in several languages."""

from __future__ import annotations

import pytest

from cppthemes import procedural
from cppthemes.config import ClusterConfig
from cppthemes.records import Passage, Transcript, Turn, passage_id


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Hi all, can you hear me? Okay.", "greeting"),
        ("I have to run. But thank you", "goodbye"),
        ("xxx, xx", "mask"),
        ("[redacted] and [REDACTED], [redacted].", "mask"),
        ("*** *** ***", "mask"),
        ("Sorry, that's my phone.", "technical"),
        ("I don't know. What do you think?", "content-free"),
        ("Yeah exactly, yeah, that's it really.", "content-free"),
        ("Thanks, Maria. [laughs] Lovely summary.", "thanks"),
        ("You're on mute, I think. Can you hear me now?", "technical"),
        ("Okay, let's get started then, shall we?", "logistics"),
        # Norwegian and German
        ("Hei hei, god morgen alle sammen!", "greeting"),
        ("Tusen takk for i dag, ha det bra!", "goodbye"),
        ("Tusen takk!", "thanks"),
        ("Hører du meg? Mikrofonen min er dårlig.", "technical"),
        ("Guten Morgen zusammen, hallo!", "greeting"),
        ("Tschüss, bis bald!", "goodbye"),
        ("Vielen Dank, danke schön.", "thanks"),
        ("[NAVN] og [navn] sa det, [navn].", "mask"),
        ("[anonymisiert] hat [anonymisiert] gesagt.", "mask"),
        # lower-case and odd spacing
        ("  hello hello   ", "greeting"),
    ],
)
def test_procedural_kinds(text: str, kind: str) -> None:
    assert procedural.kind_of(text) == kind


@pytest.mark.parametrize(
    "text",
    [
        "The waiting list for the parenting course was six months, and nobody told us why.",
        "Hi, so the thing about the home visits is that I felt unprepared every single time.",
        "Thank you for asking: the budget cuts meant the nurses stopped coming to our house.",
        "Ventelisten til foreldrekurset var seks måneder, og ingen fortalte oss hvorfor.",
        "Die Warteliste für den Elternkurs war sechs Monate lang, niemand hat uns informiert.",
        "We had to go back to the clinic three times before the paediatrician listened.",
        "xxx said the social worker never returned the calls about the housing application.",
    ],
)
def test_substantive_passages_stay(text: str) -> None:
    assert procedural.kind_of(text) is None


def test_quote_rule_counts_content_words() -> None:
    assert procedural.content_words("I don't know, you know, it's like, yeah.") == 0
    assert procedural.content_words("The waiting list for parenting courses was months long") >= 6
    assert not procedural.quotable("The waiting list was long.")  # 3 content words
    assert procedural.quotable("The waiting list for the parenting course lasted six months.")
    assert not procedural.quotable("Hi all! Thanks so much for having me, lovely to see you.")
    assert procedural.QUOTE_MIN_WORDS == 6


def _passage(i: int, text: str, speaker: str = "Anna") -> Passage:
    return Passage(
        id=passage_id("t", i * 200, i * 200 + len(text)), transcript_id="t", source="t.txt",
        speaker=speaker, role="participant", text=text, turn_start=i, turn_end=i,
        line_start=i + 1, line_end=i + 1, char_start=i * 200, char_end=i * 200 + len(text),
    )  # fmt: skip


def test_detect_bins_passages_and_reports_them() -> None:
    passages = [
        _passage(0, "Hi everyone, good morning!"),
        _passage(1, "The waiting list for the parenting course lasted six months."),
        _passage(2, "xxx xx xxx"),
    ]
    found = procedural.detect(passages)
    assert found.kinds == {passages[0].id: "greeting", passages[2].id: "mask"}
    assert found.mask(passages).tolist() == [True, False, True]
    info = found.as_info()
    assert info["passages"] == 2 and info["kinds"] == {"greeting": 1, "mask": 1}
    assert procedural.Bin.from_info(info).kinds == found.kinds
    off = procedural.detect(passages, cfg=ClusterConfig(procedural=False))
    assert off.kinds == {}


def test_detect_judges_the_speakers_own_words() -> None:
    # A substantive turn that took in another speaker's "Bye!" is not a goodbye; a greeting
    # that took in another speaker's long answer still is one.
    text = "Anna: The nurses stopped coming after the budget cuts last spring.\nErik: Bye!\n"
    t1 = Turn("t", 0, "Anna", "The nurses stopped coming after the budget cuts last spring.",
              1, 1, 6, 66)  # fmt: skip
    t2 = Turn("t", 1, "Erik", "Bye!", 2, 2, 73, 77)
    tr = Transcript(id="t", source="t.txt", path="t.txt", format="text", plain_text=text,
                    turns=(t1, t2))  # fmt: skip
    p = Passage(id="p1", transcript_id="t", source="t.txt", speaker="Anna", role="participant",
                text=text[6:77], turn_start=0, turn_end=1, line_start=1, line_end=2,
                char_start=6, char_end=77)  # fmt: skip
    assert procedural.detect([p], transcripts=[tr]).kinds == {}
    assert procedural.kind_of(p.text) is None  # content words carry it either way


def test_content_free_joins_the_bin_only_when_asked() -> None:
    passages = [_passage(0, "I don't know. What do you think?"), _passage(1, "Bye bye, see you!")]
    default = procedural.detect(passages, cfg=ClusterConfig())
    assert default.kinds == {passages[1].id: "goodbye"}
    asked = procedural.detect(passages, cfg=ClusterConfig(procedural_content_free=True))
    assert asked.kinds[passages[0].id] == "content-free"
    assert not procedural.quotable(passages[0].text)  # never quoted either way


def test_memo_by_identity_serves_equal_sets_alike() -> None:
    """Two equal blocked-word sets (different objects) share one memo and one set name; a
    store replaced (as tests do) is not confused with the old one."""
    from cppthemes import procedural as proc

    words = ["the", "a", "and", *[f"w{i}" for i in range(300)]]
    one, two = frozenset(words), frozenset(list(reversed(words)))
    assert one == two and one is not two
    text = "Thank you so much for coming in today."
    assert proc.kind_of(text, one) == proc.kind_of(text, two) == proc._kind(text, one)
    assert proc._memo(proc._KINDS, one) is proc._memo(proc._KINDS, two)
    assert proc._set_name(one) == proc._set_name(two)
    fresh: dict[frozenset[str], dict[str, object]] = {}
    assert proc._memo(fresh, one) is fresh[one]
    assert proc._memo(fresh, one) is not proc._memo(proc._KINDS, one)
