from __future__ import annotations

import json
from pathlib import Path

import pytest

from cppthemes.errors import InputError
from cppthemes.evaluate import read_gold, score


def passages(codes: list[str | None]) -> list[dict]:
    return [
        {"source": "a.txt", "line_start": i + 1, "line_end": i + 1, "code": c}
        for i, c in enumerate(codes)
    ]


def gold(labels: list[str | None], file: str = "a.txt") -> list[dict]:
    return [{"file": file, "line": i + 1, "label": lab} for i, lab in enumerate(labels)]


def test_evaluate_perfect_agreement() -> None:
    s = score(passages(["C1", "C1", "C2", "C2"]), gold(["x", "x", "y", "y"]))
    assert s.ami == pytest.approx(1.0) and s.coverage == 1.0 and s.codes == 2


def test_evaluate_uncoded_lines_share_one_class_and_lower_coverage() -> None:
    s = score(passages(["C1", None, "C2", None]), gold(["x", "x", "y", None]))
    assert s.labelled_lines == 3 and s.coverage == pytest.approx(2 / 3, abs=1e-3)
    assert s.ami < 1.0


def test_evaluate_lines_outside_passages_are_uncoded() -> None:
    s = score(passages(["C1"]), gold(["x", "y"]))
    assert s.coverage == 0.5


def test_evaluate_matches_by_base_name_and_reports_unmatched() -> None:
    ps = [{"source": "sub/a.txt", "line_start": 1, "line_end": 2, "code": "C1"}]
    s = score(ps, gold(["x", "x"]) + gold(["y"], file="b.txt"))
    assert s.labelled_lines == 2 and s.unmatched_files == ("b.txt",)


def test_evaluate_no_overlap_is_an_error() -> None:
    with pytest.raises(InputError, match="no labelled gold line"):
        score(passages(["C1"]), gold(["x"], file="zzz.txt"))


def test_evaluate_bad_gold_line_named(tmp_path: Path) -> None:
    path = tmp_path / "gold.jsonl"
    path.write_text(
        json.dumps({"file": "a", "line": 1, "label": "x"}) + "\n{oops\n", encoding="utf-8"
    )
    with pytest.raises(InputError, match=r"gold\.jsonl:2: expected"):
        read_gold(path)
