from __future__ import annotations

import json
from pathlib import Path

import pytest

from cppthemes.errors import InputError
from cppthemes.evaluate import pk, read_gold, score, score_segmentation, window_k, windowdiff


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
    # b.txt's line is not dropped: it counts, uncoded
    assert s.labelled_lines == 3 and s.unmatched_files == ("b.txt",)
    assert s.lines_in_files_with_passages == 2 and s.coverage == pytest.approx(2 / 3, abs=1e-3)


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


# Hand-computed example: 10 units, reference segments [0-2][3-6][7-9], k = round(10/3/2) = 2,
# so 8 probes (units i, i+2 for i = 0..7).
REF = [0, 0, 1, 0, 0, 0, 1, 0, 0]


def test_evaluate_window_k_is_half_mean_segment_length() -> None:
    assert window_k(REF) == 2
    assert window_k([0] * 9) == 5  # one segment of 10 units
    assert window_k([1] * 9) == 1  # never below 1


def test_evaluate_pk_and_windowdiff_hand_computed() -> None:
    shifted = [0, 0, 0, 1, 0, 0, 1, 0, 0]  # first boundary one unit late
    # probes 1 (ref splits, hyp not) and 3 (hyp splits, ref not) disagree: 2 of 8
    assert pk(REF, shifted, 2) == pytest.approx(2 / 8)
    assert windowdiff(REF, shifted, 2) == pytest.approx(2 / 8)
    extra = [0, 0, 1, 1, 0, 0, 1, 0, 0]  # an extra boundary next to a true one
    # Pk misses the doubled boundary in probe 2; WindowDiff counts it (probes 2 and 3)
    assert pk(REF, extra, 2) == pytest.approx(1 / 8)
    assert windowdiff(REF, extra, 2) == pytest.approx(2 / 8)
    assert pk(REF, REF, 2) == 0.0 and windowdiff(REF, REF, 2) == 0.0
    every = [1] * 9
    assert pk(REF, every, 2) == pytest.approx(4 / 8)
    assert windowdiff(REF, every, 2) == pytest.approx(1.0)


def test_evaluate_segmentation_against_label_changes() -> None:
    labels = ["x", "x", "x", "y", "y", "y", "y", None, None, None]
    gold_ = gold(labels)
    ps = [
        {"source": "a.txt", "line_start": a, "line_end": b, "code": "C1"}
        for a, b in [(1, 2), (4, 7), (8, 10)]  # line 3 in no passage: joins the one before
    ]
    s = score_segmentation(ps, gold_)
    assert s.pk == 0.0 and s.windowdiff == 0.0 and s.reference_segments == 3
    assert s.baselines["fixed"] == {"pk": 0.0, "windowdiff": 0.0}  # 3 even windows fit
    assert s.baselines["every_turn"] == {"pk": 0.5, "windowdiff": 1.0}
    assert s.baselines["no_boundary"] == {"pk": 0.5, "windowdiff": 0.5}
    one = score_segmentation([{"source": "a.txt", "line_start": 1, "line_end": 10}], gold_)
    assert one.pk == pytest.approx(4 / 8) and one.hypothesis_segments == 1


def test_evaluate_every_labelled_line_equals_independent_scoring(tmp_path: Path) -> None:
    """A run where one transcript gives no passage and one file cannot be read: evaluate's
    numbers equal a plain line-by-line scoring over all labelled gold lines."""
    from sklearn.metrics import adjusted_mutual_info_score, adjusted_rand_score
    from typer.testing import CliRunner

    from cppthemes.cli.app import app
    from tests.conftest import TOPICS, use_fake_model, write_corpus

    folder = write_corpus(tmp_path / "corpus")
    (folder / "silent.txt").write_text(
        "Facilitator: Anyone?\nFacilitator: Nobody? Fine, we stop here.\n", encoding="utf-8"
    )
    (folder / "broken.txt").write_bytes(b"Anna: hi\n\x00\x00")
    gold_rows = []
    for name in ("group1.txt", "group2.txt", "group3.txt", "silent.txt"):
        lines = (folder / name).read_text(encoding="utf-8").splitlines()
        topic = "none"
        for number, line in enumerate(lines, start=1):
            for t in TOPICS:
                if f"about {t}?" in line:
                    topic = t
            gold_rows.append({"file": name, "line": number, "label": topic})
    gold_rows += [{"file": "broken.txt", "line": 1, "label": "garden"}]
    gold_rows += [{"file": "elsewhere.txt", "line": 1, "label": "trains"}]
    gold_rows += [{"file": "group1.txt", "line": 2, "label": None}]  # unlabelled: not scored
    gold_path = tmp_path / "gold.jsonl"
    gold_path.write_text("".join(json.dumps(r) + "\n" for r in gold_rows), encoding="utf-8")

    mp = pytest.MonkeyPatch()
    use_fake_model(mp)
    try:
        runner = CliRunner()
        out = tmp_path / "out"
        assert runner.invoke(app, ["run", str(folder), "--out", str(out)]).exit_code == 0
        result = runner.invoke(app, ["evaluate", str(out), "--gold", str(gold_path), "--json"])
        text = runner.invoke(app, ["evaluate", str(out), "--gold", str(gold_path)])
    finally:
        mp.undo()
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)

    # Independent scoring: every labelled line, the code of the passage covering it, else one
    # "uncoded" class; nothing dropped.
    records = [json.loads(r) for r in (out / "passages.jsonl").read_text().splitlines()]
    truth, found = [], []
    for g in gold_rows:
        if g["label"] is None:
            continue
        code = "-"
        for r in records:
            if r["source"] == g["file"] and r["line_start"] <= g["line"] <= r["line_end"]:
                code = r["code"] or "-"
        truth.append(g["label"])
        found.append(code)
    assert got["labelled_lines"] == len(truth) == len(gold_rows) - 1
    assert got["ami"] == round(adjusted_mutual_info_score(truth, found), 4)
    assert got["ari"] == round(adjusted_rand_score(truth, found), 4)
    assert got["coverage"] == round(sum(f != "-" for f in found) / len(found), 4)
    assert got["files_without_passages"] == ["silent.txt"]
    assert got["files_not_read"] == ["broken.txt"]
    assert got["unmatched_files"] == ["elsewhere.txt"]
    assert "1 gold files were read but gave no passage" in text.stderr
    assert "1 gold files could not be read" in text.stderr
    assert "1 gold files are not among the run's inputs" in text.stderr
