from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cppthemes.config import SegmentConfig
from cppthemes.errors import ConfigError
from cppthemes.ingest.text import read_text_transcript
from cppthemes.segment import (
    depth_boundaries,
    embedding_chunks,
    embedding_texts,
    is_substantive,
    role_of,
    segment,
)
from tests.conftest import TOPICS, FakeEmbedder


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
    cfg = SegmentConfig(backchannels="drop")
    passages, stats = segment([t], cfg, count_tokens=_words, sentencizer=simple_sentences)
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


def _seg(t, **settings: Any):
    return segment(
        [t],
        SegmentConfig(**settings),
        count_tokens=_words,
        sentencizer=simple_sentences,
        embed=FakeEmbedder().encode,
    )


def test_segment_merge_backchannel_into_previous_passage(tmp_path: Path) -> None:
    t = _transcript(
        tmp_path,
        "Facilitator: How was it?\nAnna: The week was long and hard for all of us.\n"
        "Ben: Mm-hmm.\nCara: We had four cancellations in one week.\n",
    )
    passages, stats = _seg(t)  # merging is the default
    assert [p.speaker for p in passages] == ["Anna", "Cara"]
    assert passages[0].text.endswith("Ben: Mm-hmm.") and passages[0].turn_end == 2
    assert stats.merged_turns == 1 and stats.non_substantive_turns == 0
    dropped, dropped_stats = _seg(t, backchannels="drop")
    assert dropped[0].text.endswith("all of us.") and dropped_stats.non_substantive_turns == 1


def test_segment_merge_backchannel_after_prompt_joins_next_answer(tmp_path: Path) -> None:
    t = _transcript(
        tmp_path,
        "Facilitator: How was it?\nBen: Yeah, yeah.\nAnna: The week was long and hard.\n"
        "Facilitator: Thanks.\nCara: Mm.\nFacilitator: Next question.\n",
    )
    passages, stats = _seg(t, backchannels="merge")
    assert len(passages) == 1 and passages[0].text.startswith("Yeah, yeah.")
    assert passages[0].speaker == "Anna" and passages[0].turn_start == 1
    assert passages[0].context == "How was it?"
    assert stats.merged_turns == 1 and stats.non_substantive_turns == 1  # Cara: no neighbour


def test_segment_window_groups_sentences_without_overlap(tmp_path: Path) -> None:
    sentence = "This sentence has exactly eight words in it. "
    t = _transcript(tmp_path, "Facilitator: Go on.\nAnna: " + sentence * 12 + "\n")
    passages, stats = _seg(t, strategy="window", window_sentences=5)
    assert [p.text.count(".") for p in passages] == [5, 5, 2]
    assert all(p.context == "Go on." for p in passages) and stats.split_turns == 1


def test_segment_window_spans_one_speakers_consecutive_turns(tmp_path: Path) -> None:
    t = _transcript(
        tmp_path,
        "Anna: We moved house in May.\nAnna: The children changed schools then.\n"
        "Ben: Our move was in June last year.\n",
    )
    passages, _ = _seg(t, strategy="window", window_sentences=3)
    assert [(p.speaker, p.turn_start, p.turn_end) for p in passages] == [
        ("Anna", 0, 1),
        ("Ben", 2, 2),
    ]


def test_segment_window_backchannel_sentence_joins_previous_window(tmp_path: Path) -> None:
    t = _transcript(tmp_path, "Anna: We moved house in May. The children changed schools. Yeah.\n")
    passages, _ = _seg(t, strategy="window", window_sentences=2)
    assert len(passages) == 1 and passages[0].text.endswith("Yeah.")


def test_segment_window_respects_model_window(tmp_path: Path) -> None:
    sentence = "This sentence has exactly eight words in it. "
    t = _transcript(tmp_path, "Anna: " + sentence * 6 + "\n")
    passages, _ = _seg(t, strategy="window", window_sentences=6, max_tokens=30)
    assert len(passages) == 2 and all(_words(p.text) <= 30 for p in passages)


def test_segment_topic_needs_embeddings(tmp_path: Path) -> None:
    t = _transcript(tmp_path, "Anna: The week was long and hard for all of us.\n")
    with pytest.raises(ConfigError, match=r"segment\.strategy='topic'"):
        segment([t], SegmentConfig(strategy="topic"), sentencizer=simple_sentences)


def _topic_transcript(tmp_path: Path, prompt: str = "") -> str:
    lines = []
    for n, sentence in enumerate(TOPICS["garden"] * 2 + TOPICS["trains"] * 2):
        if prompt and n == 8:
            lines.append(prompt)
        lines.append(f"{'Anna' if n % 2 else 'Ben'}: {sentence}.")
    return "\n".join(lines) + "\n"


def test_segment_topic_splits_at_topic_shift(tmp_path: Path) -> None:
    t = _transcript(tmp_path, _topic_transcript(tmp_path))
    passages, stats = _seg(t, strategy="topic", topic_block=4, topic_cutoff=0.0)
    assert [(p.turn_start, p.turn_end) for p in passages] == [(0, 7), (8, 15)]
    assert passages[0].speaker == "Ben, Anna" and stats.topic_segments == 2
    assert "garden" in passages[0].text and "garden" not in passages[1].text


def test_segment_topic_cuts_at_facilitator_turns(tmp_path: Path) -> None:
    t = _transcript(tmp_path, _topic_transcript(tmp_path, prompt="Facilitator: And trains?"))
    passages, _ = _seg(t, strategy="topic", topic_block=4, topic_cutoff=0.0)
    assert [p.context for p in passages] == [None, "And trains?"]
    assert all("Facilitator" not in p.text for p in passages)


def test_segment_depth_boundaries_find_the_shift() -> None:
    a, b = np.eye(4)[0], np.eye(4)[1]
    vectors = np.vstack([a] * 6 + [b] * 5)
    assert depth_boundaries(vectors, block=2, cutoff=0.0) == [6]
    assert depth_boundaries(vectors[:1], block=2, cutoff=0.0) == []
    noisy = np.vstack([a, a + 0.2 * b, a, b, b + 0.1 * a, b, a, a])
    found = depth_boundaries(noisy, block=1, cutoff=-1.0)
    assert 3 in found and 6 in found
    assert all(abs(x - y) >= 1 for x, y in itertools.pairwise(found))


def test_segment_embedding_chunks_split_long_passages(tmp_path: Path) -> None:
    sentence = "This sentence has exactly eight words in it. "
    t = _transcript(
        tmp_path,
        "Facilitator: Go on.\nAnna: " + sentence * 10 + "\nBen: A short answer from me here.\n",
    )
    passages, _ = _seg(t, max_tokens=1000)
    cfg = SegmentConfig(max_tokens=30)
    chunks = embedding_chunks(passages, cfg, count_tokens=_words, sentencizer=simple_sentences)
    assert len(chunks[0]) == 4 and chunks[0][0].startswith("Go on.\nThis sentence")
    assert "".join(chunks[0]).replace("Go on.\n", "").split() == passages[0].text.split()
    assert chunks[1] == [embedding_texts(passages, cfg)[1]]


words = st.lists(
    st.sampled_from(["we", "talk", "about", "the", "family", "yeah", "mm", "child", "week."]),
    min_size=1,
    max_size=60,
)
turns = st.lists(
    st.tuples(st.sampled_from(["Facilitator", "Anna", "Ben"]), words), min_size=1, max_size=12
)
STRATEGIES = [
    {"strategy": "turn", "backchannels": "drop"},
    {"strategy": "turn", "backchannels": "merge"},
    {"strategy": "window", "window_sentences": 2, "backchannels": "drop"},
    {"strategy": "window", "window_sentences": 3, "backchannels": "merge"},
    {"strategy": "topic", "topic_block": 2, "topic_cutoff": -1.0},
]


@pytest.mark.parametrize("settings_", STRATEGIES, ids=lambda s: "-".join(map(str, s.values())))
@settings(max_examples=40, deadline=None)
@given(turns=turns, max_tokens=st.integers(min_value=16, max_value=40))
def test_segment_invariants(tmp_path_factory, settings_, turns, max_tokens) -> None:
    text = "".join(f"{speaker}: {' '.join(ws)}\n" for speaker, ws in turns)
    t = _transcript(tmp_path_factory.mktemp("seg"), text)
    cfg = SegmentConfig(max_tokens=max_tokens, **settings_)
    passages, stats = segment(
        [t], cfg, count_tokens=_words, sentencizer=simple_sentences, embed=FakeEmbedder().encode
    )
    spans = sorted((p.char_start, p.char_end) for p in passages)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))  # never overlap
    for p in passages:
        assert t.plain_text[p.char_start : p.char_end] == p.text
        assert p.role == "participant"
        assert p.line_start == t.plain_text.count("\n", 0, p.char_start) + 1

    def times_covered(start: int, end: int) -> int:
        return sum(1 for p in passages if p.char_start <= start and end <= p.char_end)

    dropped = 0
    for turn in t.turns:
        words_ = [
            (turn.char_start + m.start(), turn.char_start + m.end())
            for m in re.finditer(r"\S+", turn.text)
        ]
        counts = [times_covered(a, b) for a, b in words_]
        if turn.speaker == "Facilitator":
            assert counts == [0] * len(counts)  # facilitator words are never coded
        elif counts == [0] * len(counts):
            # a participant turn outside every passage must be a counted back-channel
            assert not is_substantive(turn.text, cfg.min_words)
            dropped += 1
        else:
            assert counts == [1] * len(counts)  # every word in exactly one passage
    assert stats.non_substantive_turns == dropped
    assert stats.passages == len(passages)


@pytest.mark.parametrize("strategy", ["turn", "window"])
def test_segment_overlong_sentence_cut_between_words(tmp_path: Path, strategy: str) -> None:
    words_ = " ".join(f"word{i}" for i in range(70))  # no full stop: one 70-word sentence
    t = _transcript(tmp_path, f"Anna: {words_}\n")
    passages, _ = _seg(t, strategy=strategy, max_tokens=30)
    assert len(passages) == 3 and all(_words(p.text) <= 30 for p in passages)
    assert " ".join(p.text for p in passages).split() == words_.split()
