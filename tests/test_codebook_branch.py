"""The codebook branch labels like a plain run; each decision rule, and id matching, alone."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from cppthemes.codebook.anchors import (
    Book,
    IdAllocator,
    apply_discards,
    apply_keeps,
    apply_merges,
    apply_seeds,
    apply_splits,
)
from cppthemes.codebook.decisions import BookCode, Discarded, Plan, Previous, SeedSpec
from cppthemes.codebook.refine import Candidate, match_ids
from cppthemes.config import load_config
from cppthemes.pipeline import run
from cppthemes.records import AuditEvent, CodeStatus, Passage
from tests.conftest import SAMPLE, FakeEmbedder


def test_a_refine_with_no_decisions_labels_themes_like_the_plain_run() -> None:
    """The bug: a run with a codebook grouped themes with default label settings and plain
    c-TF-IDF. With nothing decided, its codes and themes must equal a plain run's."""
    cfg = load_config(None, ["cluster.stability_resamples=0", "label.rerank_weight=0.9"])
    plain = run([SAMPLE], cfg, embedder=FakeEmbedder())
    refined = run([SAMPLE], cfg, embedder=FakeEmbedder(), plan=Plan(source="codebook.yaml"))
    assert [(c.id, c.label, c.passage_ids) for c in refined.codes] == [
        (c.id, c.label, c.passage_ids) for c in plain.codes
    ]
    assert len(plain.themes) > 1
    assert [(t.id, t.label, t.code_ids) for t in refined.themes] == [
        (t.id, t.label, t.code_ids) for t in plain.themes
    ]


def _passages(n: int) -> list[Passage]:
    return [
        Passage(
            id=f"p{i}",
            transcript_id="t",
            source="t.txt",
            speaker="P",
            role="participant",
            text=f"passage {i}",
            turn_start=i,
            turn_end=i,
            line_start=i + 1,
            line_end=i + 1,
            char_start=i * 10,
            char_end=i * 10 + 9,
        )
        for i in range(n)
    ]


def _vectors() -> np.ndarray:
    """Three tight groups of four passages each, on three axes."""
    rows = []
    for axis in range(3):
        for k in range(4):
            v = np.full(4, 0.01 * k)
            v[axis] = 1.0
            rows.append(v / np.linalg.norm(v))
    return np.asarray(rows, dtype=np.float32)


def _encode(texts: list[str]) -> np.ndarray:
    out = np.zeros((len(texts), 4))
    out[:, 3] = 1.0  # every example phrase lies on the fourth axis
    return out


def _code(cid: str, status: str = "candidate", **kw: object) -> BookCode:
    return BookCode(id=cid, label=f"label {cid}", description="", status=status, theme=None, **kw)  # type: ignore[arg-type]


PREVIOUS = Previous(
    members={
        "C01": ("p0", "p1", "p2", "p3"),
        "C02": ("p4", "p5", "p6", "p7"),
        "C03": ("p8", "p9", "p10", "p11"),
    },
    audit=(AuditEvent("run", "", "first", run=1),),
    snapshot={},
)


def _book(plan: Plan) -> Book:
    return Book(_passages(12), _vectors(), plan, PREVIOUS, _encode)


def test_discard_anchors_the_code_and_records_it() -> None:
    plan = Plan(source="", codes=[_code("C01"), _code("C02")], discards=["C01", "C09"])
    plan.discarded.append(Discarded("C00", "old", ("p4",)))
    book = _book(plan)
    apply_discards(book)
    assert [(a.id, a.discard, sorted(a.old_rows)) for a in book.anchors] == [
        ("C01", True, [0, 1, 2, 3]),
        ("C00", True, [4]),
    ]
    assert [d["id"] for d in book.discarded] == ["C01", "C00"]
    assert [(e.rule, e.code) for e in book.events] == [("discard", "C01"), ("not applied", "C09")]


def test_merge_keeps_the_first_id_and_retires_the_rest() -> None:
    plan = Plan(source="", codes=[_code("C01"), _code("C02")], merges=[(("C01", "C02"), "both")])
    book = _book(plan)
    apply_merges(book)
    (anchor,) = book.anchors
    assert anchor.id == "C01" and anchor.label == "both" and len(anchor.old_rows) == 8
    assert book.retired == ["C02"] and book.successors == {"C02": ["C01"]}
    assert book.consumed == {"C01", "C02"}


def test_merge_with_one_code_left_is_not_applied() -> None:
    plan = Plan(source="", codes=[_code("C01")], merges=[(("C01", "C07"), None)])
    book = _book(plan)
    apply_merges(book)
    assert not book.anchors
    assert book.events == [
        AuditEvent("not applied", "C01+C07", "merge: C07 no longer in the codebook")
    ]


def test_split_makes_new_ids_after_every_used_one() -> None:
    plan = Plan(source="", codes=[_code("C01"), _code("C03")], splits=[("C01", 2), ("C03", 9)])
    book = _book(plan)
    apply_splits(book)
    assert [a.id for a in book.anchors] == ["C04", "C05"]  # C01..C03 were used
    assert sum(len(a.old_rows) for a in book.anchors) == 4
    assert book.successors == {"C01": ["C04", "C05"]}
    assert book.events[-1].rule == "not applied" and "fewer than 9" in book.events[-1].what


def test_keeps_anchor_decided_codes_and_leave_the_rest_candidates() -> None:
    plan = Plan(
        source="",
        codes=[_code("C01", "final"), _code("C02"), _code("C03", "seeded")],
        renames={"C02": "new name"},
        keeps=["C09"],
    )
    book = _book(plan)
    candidates = apply_keeps(book)
    assert [(a.id, a.label, a.status) for a in book.anchors] == [
        ("C01", "label C01", CodeStatus.KEPT),
        ("C02", "new name", CodeStatus.KEPT),
        ("C03", "label C03", CodeStatus.SEEDED),
    ]
    assert candidates == []
    assert [(e.rule, e.code) for e in book.events] == [("not applied", "C09"), ("rename", "C02")]
    free = _book(Plan(source="", codes=[_code("C02")]))
    (cand,) = apply_keeps(free)
    assert cand.id == "C02" and cand.rows == frozenset({4, 5, 6, 7})


def test_seeds_take_their_id_or_a_new_one_and_centre_on_their_examples() -> None:
    seeds = [
        SeedSpec(label="a", examples=("x",)),
        SeedSpec(label="b", passages=("p0", "nope"), id="C10", theme="T01"),
    ]
    book = _book(Plan(source=""))
    apply_seeds(book, seeds)
    assert [a.id for a in book.anchors] == ["C04", "C10"]
    assert np.allclose(book.anchors[0].centre, [0, 0, 0, 1])
    assert "1 passage ids not in this corpus" in book.events[1].what
    assert book.successors == {"theme:T01": ["C10"]}


def test_match_ids_prefers_shared_passages_then_close_centroids() -> None:
    labels = np.array([0, 0, 1, 1, 2, 2])
    cents = np.eye(3)
    candidates = [
        Candidate("C07", np.array([0.0, 0.0, 1.0]), frozenset()),  # by centroid: cluster 2
        Candidate("C05", np.array([1.0, 0.0, 0.0]), frozenset({2, 3})),  # by passages: 1
    ]
    assert match_ids(labels, cents, [0, 1, 2], candidates, 0.7) == {1: "C05", 2: "C07"}
    far = [replace(candidates[0], centre=np.array([0.0, 1.0, 0.0]) * -1)]
    assert match_ids(labels, cents, [0, 1, 2], far, 0.7) == {}


@pytest.mark.parametrize(
    ("used", "wanted", "expected"),
    [
        ((), None, "C01"),
        (("C09",), None, "C10"),
        (("C099",), None, "C100"),
        (("C01",), "C01", "C02"),
    ],
)
def test_id_allocator_never_reuses_an_id(
    used: tuple[str, ...], wanted: str | None, expected: str
) -> None:
    assert IdAllocator(used).take(wanted) == expected
