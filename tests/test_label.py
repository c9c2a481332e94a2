from __future__ import annotations

import numpy as np

from cppthemes.config import LabelConfig
from cppthemes.label import class_keyphrases, passage_terms, pick_quotes, prevalence, short_label
from cppthemes.records import Passage, passage_id


def P(i: int, text: str, speaker: str = "Anna", transcript: str = "t1", wave: str = "1") -> Passage:
    return Passage(
        id=passage_id(transcript, i * 100, i * 100 + len(text)), transcript_id=transcript,
        source=f"{transcript}.txt", speaker=speaker, role="participant", text=text,
        turn_start=i, turn_end=i, line_start=i + 1, line_end=i + 1,
        char_start=i * 100, char_end=i * 100 + len(text), metadata={"wave": wave},
    )  # fmt: skip


def test_label_terms_drop_stop_words_fillers_and_names() -> None:
    terms = passage_terms(
        [P(0, "Yeah, you know, Anna and I think the reflective supervision helps.")],
        LabelConfig(),
        names=["Anna"],
    )[0]
    assert "reflective supervision" in terms and "supervision" in terms
    for bad in ("yeah", "know", "anna", "the", "think", "and reflective"):
        assert bad not in terms


def test_label_ngrams_never_bridge_removed_words() -> None:
    terms = passage_terms([P(0, "waiting list and the budget")], LabelConfig())[0]
    assert "waiting list" in terms or "wait list" in terms
    assert not any("budget" in t and " " in t for t in terms)


def test_label_ctfidf_prefers_distinctive_phrases() -> None:
    terms = [
        ["budget", "meeting"],
        ["budget", "manager", "meeting"],
        ["forms", "meeting"],
        ["forms", "paperwork", "meeting"],
    ]
    top = class_keyphrases(terms, [[0, 1], [2, 3]], 1)
    assert top == [["budget"], ["forms"]]


def test_label_short_label_is_unique() -> None:
    taken: set[str] = set()
    assert short_label(["budget", "manager"], taken, "C01") == "budget, manager"
    assert short_label(["budget", "manager", "time"], taken, "C02") == "budget, manager, time"
    assert short_label(["budget", "manager"], taken, "C03") == "budget, manager (C03)"
    assert short_label([], taken, "C04") == "C04"


def test_label_quotes_verbatim_spread_over_speakers() -> None:
    passages = [P(i, f"text number {i}", speaker="Anna" if i < 3 else "Ben") for i in range(5)]
    vectors = np.array([[1, 0], [0.99, 0.14], [0.98, 0.2], [0.9, 0.44], [0.8, 0.6]], dtype=float)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    quotes = pick_quotes(range(5), passages, vectors, np.array([1.0, 0.0]), 2)
    assert [q.speaker for q in quotes] == ["Anna", "Ben"]
    assert all(
        q.text == passages[[p.id for p in passages].index(q.passage_id)].text for q in quotes
    )


def test_label_prevalence_counts_groups() -> None:
    passages = [
        P(0, "a", "Anna", "t1", "1"),
        P(1, "b", "Ben", "t1", "1"),
        P(2, "c", "Anna", "t2", "2"),
        P(3, "d", "Cara", "t2", "2"),
    ]
    prev = prevalence([0, 1, 2], passages, 2)
    assert (prev.passages, prev.speakers, prev.transcripts) == (3, 3, 2)
    assert prev.by_metadata == {"wave": {"1": 2, "2": 1}}
