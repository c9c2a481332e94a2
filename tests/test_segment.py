from __future__ import annotations

import itertools
import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from cppthemes.config import SegmentConfig
from cppthemes.ingest.text import read_text_transcript
from cppthemes.segment import embedding_texts, is_substantive, role_of, segment


def simple_sentences(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(r"[^.!?]+[.!?]*", text)]


def _transcript(tmp_path: Path, text: str):
    path = tmp_path / "t.txt"
    path.write_text(text, encoding="utf-8")
    return read_text_transcript(path, "t", "t.txt")


def _words(text: str) -> int:
    return len(text.split()) + 2


def test_segment_facilitator_is_context_not_passage(tmp_path: Path) -> None:
    t = _transcript(
        tmp_path,
        "Facilitator: How was the week?\nAnna: The week was long and hard for all of us.\n",
    )
    passages, stats = segment(
        [t], SegmentConfig(), count_tokens=_words, sentencizer=simple_sentences
    )
    assert len(passages) == 1 and passages[0].speaker == "Anna"
    assert passages[0].context == "How was the week?"
    assert stats.facilitator_turns == 1
    assert embedding_texts(passages, SegmentConfig(embed_context=True))[0].startswith("How was")
    assert embedding_texts(passages, SegmentConfig(embed_context=False))[0].startswith("The week")


def test_segment_backchannels_dropped_and_counted(tmp_path: Path) -> None:
    t = _transcript(
        tmp_path,
        "Anna: Mm-hmm.\nBen: Yeah, yeah, exactly.\nCara: We had four cancellations in one week.\n",
    )
    passages, stats = segment(
        [t], SegmentConfig(), count_tokens=_words, sentencizer=simple_sentences
    )
    assert [p.speaker for p in passages] == ["Cara"]
    assert stats.non_substantive_turns == 2


def test_segment_substantive_threshold() -> None:
    assert not is_substantive("Right, right, that's true.", 4)
    assert is_substantive("Same for us, we had that too.", 4)


def test_segment_role_matches_any_case() -> None:
    assert role_of("MODERATOR", SegmentConfig()) == "facilitator"
    assert role_of("Maria", SegmentConfig()) == "participant"


def test_segment_long_turn_split_at_sentences(tmp_path: Path) -> None:
    sentence = "This sentence has exactly eight words in it. "
    t = _transcript(tmp_path, "Anna: " + sentence * 10 + "\n")
    cfg = SegmentConfig(max_tokens=30)
    passages, stats = segment([t], cfg, count_tokens=_words, sentencizer=simple_sentences)
    assert stats.split_turns == 1 and len(passages) == 4
    assert all(_words(p.text) <= 30 for p in passages)
    assert all(p.text.endswith(".") for p in passages)  # never cut mid-sentence


def test_segment_passage_ids_are_stable(tmp_path: Path) -> None:
    t = _transcript(tmp_path, "Anna: The week was long and hard for all of us.\n")
    a, _ = segment([t], SegmentConfig(), count_tokens=_words, sentencizer=simple_sentences)
    b, _ = segment([t], SegmentConfig(), count_tokens=_words, sentencizer=simple_sentences)
    assert a[0].id == b[0].id


words = st.lists(
    st.sampled_from(["we", "talk", "about", "the", "family", "yeah", "mm", "child", "week."]),
    min_size=1,
    max_size=60,
)
turns = st.lists(
    st.tuples(st.sampled_from(["Facilitator", "Anna", "Ben"]), words), min_size=1, max_size=12
)


@settings(max_examples=60, deadline=None)
@given(turns=turns, max_tokens=st.integers(min_value=16, max_value=40))
def test_segment_invariants(tmp_path_factory, turns, max_tokens) -> None:
    text = "".join(f"{speaker}: {' '.join(ws)}\n" for speaker, ws in turns)
    t = _transcript(tmp_path_factory.mktemp("seg"), text)
    cfg = SegmentConfig(max_tokens=max_tokens)
    passages, stats = segment([t], cfg, count_tokens=_words, sentencizer=simple_sentences)
    spans = sorted((p.char_start, p.char_end) for p in passages)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))  # never overlap
    for p in passages:
        assert t.plain_text[p.char_start : p.char_end] == p.text
        assert p.role == "participant"
    # every word of a substantive participant turn lies in exactly one passage
    for turn in t.turns:
        if turn.speaker == "Facilitator" or not is_substantive(turn.text, cfg.min_words):
            continue
        inside = [p for p in passages if turn.char_start <= p.char_start < turn.char_end]
        covered = " ".join(p.text for p in inside).split()
        assert covered == turn.text.split()
    assert stats.passages == len(passages)
