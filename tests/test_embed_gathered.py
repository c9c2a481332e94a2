"""Texts gathered into one embedding call (cppthemes/embed/gathered.py) and the label stage's
central sentences, which use it: the same vectors and choices as one call per code."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cppthemes.embed.gathered import Gathered
from cppthemes.quotes import central_candidates, central_sentence, closest_candidate
from cppthemes.records import Quote
from tests.conftest import FakeEmbedder


class Recording:
    """The fake embedder's ``encode`` behind an embed function, with every call recorded."""

    def __init__(self) -> None:
        self.model = FakeEmbedder(dim=32)
        self.calls: list[list[str]] = []

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return self.model.encode(texts)


def test_gathered_embeds_each_text_once_and_returns_rows_in_the_order_asked() -> None:
    embed = Recording()
    texts = ["the garden hose leaks", "trains were late", "the garden hose leaks", "rota"]
    gathered = Gathered(embed, texts)
    assert embed.calls == [["the garden hose leaks", "trains were late", "rota"]]
    asked = ["rota", "the garden hose leaks", "rota"]
    np.testing.assert_array_equal(gathered(asked), embed.model.encode(asked))
    assert len(embed.calls) == 1  # answered from what was gathered


def test_gathered_embeds_a_text_not_announced_on_demand() -> None:
    embed = Recording()
    gathered = Gathered(embed, ["known text here"])
    out = gathered(["unknown words arrive", "known text here", "unknown words arrive"])
    assert embed.calls[1:] == [["unknown words arrive"]]  # once, not twice
    np.testing.assert_array_equal(
        out, embed.model.encode(["unknown words arrive", "known text here"] * 1)[[0, 1, 0]]
    )
    np.testing.assert_array_equal(gathered(["unknown words arrive"]), out[:1])
    assert len(embed.calls) == 2


def test_gathered_with_nothing_announced_makes_no_call() -> None:
    embed = Recording()
    gathered = Gathered(embed, [])
    assert embed.calls == []
    assert gathered(["one text of words"]).shape == (1, 32)


def _quote(passage: str, text: str, similarity: float) -> Quote:
    return Quote(
        passage_id=passage,
        transcript_id="t1",
        speaker="P1",
        text=text,
        source="t1.txt",
        line=3,
        char_start=0,
        char_end=len(text),
        similarity=similarity,
    )


def test_central_sentences_gathered_match_one_call_per_code() -> None:
    codes = [
        [
            _quote(
                "p1",
                "My grandmother grows tomatoes, beans, courgettes and potatoes behind the "
                "allotment shed. The neighbours complain when the garden hose floods their "
                "driveway and pavement.",
                0.9,
            ),
            _quote("p2", "Honestly the garden keeps the whole street talking together.", 0.5),
        ],
        [
            _quote(
                "p3",
                "The train into the city was late again because the signals failed "
                "near the station. I missed the whole meeting that morning.",
                0.8,
            ),
        ],
        [_quote("p4", "Mm.", 0.7)],  # no candidate: no central sentence either way
    ]
    centres = [np.ones(32) / np.sqrt(32), np.eye(32)[3], np.eye(32)[5]]
    per_code = Recording()
    expected = [central_sentence(q, c, per_code) for q, c in zip(codes, centres, strict=True)]
    assert len(per_code.calls) == 2  # one call per code with candidates

    once = Recording()
    candidates = [central_candidates(q) for q in codes]
    gathered = Gathered(once, (q.text for found in candidates for q in found))
    got = [closest_candidate(f, c, gathered) for f, c in zip(candidates, centres, strict=True)]
    assert len(once.calls) == 1
    assert got == expected
    assert len(candidates[0]) == 2  # a real choice between two sentences
    assert expected[0] is not None and expected[1] is not None and expected[2] is None


def test_label_embeds_every_codes_central_candidates_in_one_call() -> None:
    from cppthemes.cluster.codes import centroids
    from cppthemes.config import LabelConfig
    from cppthemes.label import label
    from cppthemes.records import Assignment
    from tests.test_label import P

    topics = [
        "My grandmother grows tomatoes, beans, courgettes and potatoes behind the allotment "
        "shed. The neighbours complain when the garden hose floods their driveway and pavement.",
        "The morning train into the city centre was cancelled because signalling equipment "
        "failed near the station. Commuters waited outside the ticket office for hours.",
    ]
    passages = [P(i, topics[i % 2] + f" Week {i} notes.", speaker=f"S{i % 3}") for i in range(8)]
    embed = Recording()
    vectors = embed.model.encode([p.text for p in passages])
    labels = np.array([i % 2 for i in range(8)])
    assignment = Assignment(labels=tuple(int(c) for c in labels), n_clusters=2, method="ward")
    codes = label(passages, assignment, vectors, LabelConfig(), embed_texts=embed)
    sentence_calls = [c for c in embed.calls if any(len(t.split()) > 6 for t in c)]
    assert len(sentence_calls) == 1  # both codes' candidates together
    cents = centroids(vectors, labels, 2)
    for c, code in enumerate(codes):
        assert code.central is not None
        assert code.central == central_sentence(code.quotes, cents[c], embed.model.encode)
