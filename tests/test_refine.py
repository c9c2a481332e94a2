"""The analyst's loop end to end: run, edit codebook.yaml, refine, check every decision."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from ruamel.yaml import YAML
from typer.testing import CliRunner

from cppthemes.cli.app import app
from tests.conftest import SAMPLE, use_fake_model, use_fake_model_cache

runner = CliRunner()
FAST = ["--set", "cluster.stability_resamples=2"]


@pytest.fixture(autouse=True)
def _fake_model(
    monkeypatch: pytest.MonkeyPatch, fake_model_cache: Path, _isolated_cache: None
) -> None:
    # After _isolated_cache (a dependency): every run and refine here shares one warm user
    # cache (conftest.fake_model_cache), as an analyst's refine finds the run's cache.
    use_fake_model(monkeypatch)
    use_fake_model_cache(monkeypatch, fake_model_cache)


def invoke(*args: str):
    return runner.invoke(app, list(args))


def _members(run_dir: Path) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for line in (run_dir / "passages.jsonl").read_text().splitlines():
        r = json.loads(line)
        if r["code"]:
            out.setdefault(r["code"], set()).add(r["id"])
    return out


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


def _audit(run_dir: Path) -> list[dict]:
    return [json.loads(x) for x in (run_dir / "audit.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory, fake_model_cache: Path) -> Path:
    with pytest.MonkeyPatch.context() as mp:
        use_fake_model(mp)
        use_fake_model_cache(mp, fake_model_cache)
        out = tmp_path_factory.mktemp("loop") / "run"
        # Two stability resamples instead of ten: the same code path, a fraction of the time.
        args = ["run", str(SAMPLE), "--out", str(out), "-q", *FAST]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
    return out


def _edit(run_dir: Path, edit) -> None:
    """Edit codebook.yaml the way an analyst's editor would: round-trip, comments kept."""
    yaml = YAML()
    path = run_dir / "codebook.yaml"
    book = yaml.load(path.read_text())
    edit(book)
    with path.open("w") as fh:
        yaml.dump(book, fh)


@pytest.fixture(scope="module")
def refined(
    first_run: Path, tmp_path_factory: pytest.TempPathFactory, fake_model_cache: Path
) -> dict:
    """A copy of the first run, edited (rename, merge, split, discard, seed), then refined."""
    run_dir = tmp_path_factory.mktemp("refined") / "run"
    shutil.copytree(first_run, run_dir)
    before = _members(run_dir)
    records = [json.loads(x) for x in (run_dir / "passages.jsonl").read_text().splitlines()]
    uncoded = [r["id"] for r in records if r["code"] is None]

    def edit(book) -> None:
        codes = {c["id"]: c for c in book["codes"]}
        codes["C01"]["label"] = "Renamed by the analyst"
        codes["C01"].yaml_add_eol_comment("kept: this is the core code", "label")
        book["decisions"] = [
            {"merge": ["C03", "C04"]},
            {"split": {"code": "C05", "into": 2}},
            {"discard": "C06"},
            {"describe": {"code": "C07", "text": "Written by the analyst."}},
        ]
        book["seeded"] = [
            {"label": "Seeded by the analyst", "description": "new", "passages": uncoded[:3]}
        ]

    _edit(run_dir, edit)
    edited_text = (run_dir / "codebook.yaml").read_text()
    with pytest.MonkeyPatch.context() as mp:
        use_fake_model(mp)
        use_fake_model_cache(mp, fake_model_cache)
        result = runner.invoke(app, ["refine", str(run_dir), "-q"])
    assert result.exit_code == 0, result.output
    book = YAML(typ="safe").load((run_dir / "codebook.yaml").read_text())
    return {
        "dir": run_dir,
        "before": before,
        "after": _members(run_dir),
        "book": book,
        "codes": {c["id"]: c for c in book["codes"]},
        "edited_text": edited_text,
        "seed_passages": uncoded[:3],
        "output": result.output,
    }


def test_refine_rename_and_describe_applied(refined: dict) -> None:
    c01, c07 = refined["codes"]["C01"], refined["codes"]["C07"]
    assert c01["label"] == "Renamed by the analyst" and c01["status"] == "kept"
    assert c07["description"] == "Written by the analyst." and c07["status"] == "kept"
    # a kept code keeps every passage it had
    assert refined["before"]["C01"] <= refined["after"]["C01"]


def test_refine_merge_keeps_first_id_and_retires_the_other(refined: dict) -> None:
    assert "C04" not in refined["codes"] and "C04" in refined["book"]["retired"]
    assert refined["before"]["C03"] | refined["before"]["C04"] <= refined["after"]["C03"]


def test_refine_split_makes_two_new_codes(refined: dict) -> None:
    assert "C05" not in refined["codes"] and "C05" in refined["book"]["retired"]
    parts = [c for c in refined["codes"].values() if c["label"].endswith("of 2)")]
    assert len(parts) == 2
    old_max = max(int(c[1:]) for c in refined["before"])
    assert all(int(c["id"][1:]) > old_max for c in parts)  # new ids, never reused ones
    union = refined["after"][parts[0]["id"]] | refined["after"][parts[1]["id"]]
    assert refined["before"]["C05"] <= union
    assert refined["after"][parts[0]["id"]].isdisjoint(refined["after"][parts[1]["id"]])


def test_refine_discard_leaves_passages_uncoded(refined: dict) -> None:
    assert "C06" not in refined["codes"]
    assert [d["id"] for d in refined["book"]["discarded"]] == ["C06"]
    coded = set().union(*refined["after"].values())
    assert refined["before"]["C06"].isdisjoint(coded)


def test_refine_seeded_code_takes_its_passages(refined: dict) -> None:
    seeded = [c for c in refined["codes"].values() if c["status"] == "seeded"]
    assert len(seeded) == 1 and seeded[0]["label"] == "Seeded by the analyst"
    assert set(refined["seed_passages"]) <= refined["after"][seeded[0]["id"]]
    assert refined["book"]["decisions"] == [] and refined["book"]["seeded"] == []


def test_refine_untouched_codes_keep_their_ids(refined: dict) -> None:
    touched = {"C01", "C03", "C04", "C05", "C06", "C07"}
    before, after = refined["before"], refined["after"]
    untouched = [c for c in before if c not in touched]
    kept = [c for c in untouched if c in after]
    assert len(kept) >= 0.75 * len(untouched)
    for cid in untouched:
        best = max(after, key=lambda new: _jaccard(before[cid], after[new]))
        if _jaccard(before[cid], after[best]) >= 0.5:
            assert best == cid, f"{cid} was found again as {best}"


def test_refine_audit_trail_lists_every_change(refined: dict) -> None:
    audit = _audit(refined["dir"])
    assert {e["run"] for e in audit} == {2}
    rules = {(e["rule"], e["code"]) for e in audit}
    assert {("rename", "C01"), ("describe", "C07"), ("merge", "C03"), ("split", "C05")} <= rules
    assert ("discard", "C06") in rules and any(r == "seed" for r, _ in rules)
    assert any(e["rule"] == "membership" and e["gained"] for e in audit)
    report = (refined["dir"] / "report.md").read_text()
    assert "C03 + C04 merged into C03" in report and "C05 split into" in report
    run = json.loads((refined["dir"] / "run.json").read_text())
    assert run["codebook"]["applied"]["merge"] == 1
    assert run["codebook"]["codes"]["C01"]["label"] == "Renamed by the analyst"


def test_refine_keeps_comments_and_backs_up_the_edited_codebook(refined: dict) -> None:
    text = (refined["dir"] / "codebook.yaml").read_text()
    assert "# kept: this is the core code" in text
    assert text.startswith("# cppthemes codebook")
    (backup,) = refined["dir"].glob("codebook.yaml.bak-*")
    assert backup.read_text() == refined["edited_text"]
    assert "kept it as" in refined["output"]


def test_refine_again_changes_no_decision(refined: dict, tmp_path: Path) -> None:
    run_dir = tmp_path / "again"
    shutil.copytree(refined["dir"], run_dir)
    result = invoke("refine", str(run_dir), "-q")
    assert result.exit_code == 0, result.output
    after = _members(run_dir)
    book = YAML(typ="safe").load((run_dir / "codebook.yaml").read_text())
    anchored = [c["id"] for c in book["codes"] if c["status"] != "candidate"]
    assert len(anchored) == 6  # C01, C03, C07, two split parts, the seeded code
    for cid in anchored:
        assert refined["after"][cid] <= after[cid]
    new_events = [e for e in _audit(run_dir) if e["run"] == 3]
    assert not any(e["rule"] in {"merge", "split", "discard", "not applied"} for e in new_events)
    assert "not applied" not in result.output


def test_refine_reports_decisions_that_cannot_apply(first_run: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(first_run, run_dir)

    def edit(book) -> None:
        book["decisions"] = [
            {"merge": ["C03", "C99"]},
            {"split": {"code": "C98", "into": 2}},
            {"rename": {"code": "C97", "label": "x"}},
            {"frobnicate": "C01"},
        ]

    _edit(run_dir, edit)
    result = invoke("refine", str(run_dir), "-q")
    assert result.exit_code == 0, result.output
    lines = [x for x in result.output.splitlines() if x.startswith("not applied:")]
    assert len(lines) == 4
    assert any("C99" in x for x in lines) and any("C98" in x for x in lines)
    audit = [e for e in _audit(run_dir) if e["rule"] == "not applied"]
    assert len(audit) == 4


def test_run_with_codebook_from_another_folder(first_run: Path, tmp_path: Path) -> None:
    """`run --codebook FILE` honours a codebook kept outside the run folder (quotes anchor)."""
    book_path = tmp_path / "edited.yaml"
    yaml = YAML()
    book = yaml.load((first_run / "codebook.yaml").read_text())
    book["codes"][0]["status"] = "kept"
    book["codes"][0]["label"] = "Carried over"
    with book_path.open("w") as fh:
        yaml.dump(book, fh)
    out = tmp_path / "out"
    result = invoke(
        "run", str(SAMPLE), "--out", str(out), "--codebook", str(book_path), "-q", *FAST
    )
    assert result.exit_code == 0, result.output
    codes = {
        c["id"]: c for c in YAML(typ="safe").load((out / "codebook.yaml").read_text())["codes"]
    }
    assert codes["C01"]["label"] == "Carried over"
    quoted = {q["passage"] for q in book["codes"][0]["quotes"]}
    assert quoted <= _members(out)["C01"]


def test_review_codes_table_and_show(refined: dict) -> None:
    result = invoke("codes", str(refined["dir"]))
    assert result.exit_code == 0 and "C01" in result.output and "kept" in result.output
    shown = invoke("show", str(refined["dir"]), "C01")
    assert shown.exit_code == 0, shown.output
    assert "Renamed by the analyst" in shown.output and "nearest codes:" in shown.output
    assert "line" in shown.output  # quotes with provenance
    missing = invoke("show", str(refined["dir"]), "C99")
    assert missing.exit_code == 1 and "no code 'C99'" in missing.output


def test_run_into_folder_backs_up_an_edited_codebook(first_run: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(first_run, run_dir)
    same = invoke("run", str(SAMPLE), "--out", str(run_dir), "-q", *FAST)
    assert same.exit_code == 0 and not list(run_dir.glob("codebook.yaml.bak-*"))  # nothing edited
    _edit(run_dir, lambda book: book["codes"][0].__setitem__("label", "Hours of work"))
    edited = (run_dir / "codebook.yaml").read_text()
    result = invoke("run", str(SAMPLE), "--out", str(run_dir), "-q", *FAST)
    assert result.exit_code == 0, result.output
    (backup,) = run_dir.glob("codebook.yaml.bak-*")
    assert backup.read_text() == edited
    assert "Hours of work" not in (run_dir / "codebook.yaml").read_text()


def test_refine_notes_a_seed_without_passages_and_takes_set(
    first_run: Path, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(first_run, run_dir)
    _edit(
        run_dir,
        lambda book: book.__setitem__(
            "seeded", [{"label": "Nothing like it", "examples": ["zebra xylophone quokka"]}]
        ),
    )
    result = invoke("refine", str(run_dir), "-q", "--set", "cluster.seed_threshold=0.9")
    assert result.exit_code == 0, result.output
    assert "has no passages" in result.output
    run = json.loads((run_dir / "run.json").read_text())
    assert run["config"]["cluster"]["seed_threshold"] == 0.9
    assert any(e["rule"] == "empty" for e in _audit(run_dir))
    bad = invoke("refine", str(run_dir), "-q", "--set", "cluster.nope=1")
    assert bad.exit_code == 1 and "unknown setting" in bad.output


def test_refine_theme_edit_in_place_fixes_the_theme(first_run: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(first_run, run_dir)
    book = YAML(typ="safe").load((run_dir / "codebook.yaml").read_text())
    first, last = book["themes"][0], book["themes"][-1]
    mover = last["codes"][0]
    assert mover not in first["codes"]

    def edit(b) -> None:
        next(c for c in b["codes"] if c["id"] == mover)["theme"] = first["id"]
        next(t for t in b["themes"] if t["id"] == first["id"])["label"] = "Analyst's theme"

    _edit(run_dir, edit)
    result = invoke("refine", str(run_dir), "-q")
    assert result.exit_code == 0, result.output
    after = YAML(typ="safe").load((run_dir / "codebook.yaml").read_text())
    theme = next(t for t in after["themes"] if t["id"] == first["id"])
    assert theme["status"] == "kept" and theme["label"] == "Analyst's theme"
    assert mover in theme["codes"] and set(first["codes"]) <= set(theme["codes"])
    assert any(e["rule"] == "theme (edited)" for e in _audit(run_dir))


def test_run_with_codebook_of_another_corpus_anchors_on_quotes(
    corpus: Path, tmp_path: Path
) -> None:
    first = tmp_path / "first"
    assert invoke("run", str(corpus), "--out", str(first), "--codes", "3", "-q").exit_code == 0
    book_path = tmp_path / "book.yaml"
    yaml = YAML()
    book = yaml.load((first / "codebook.yaml").read_text())
    book["codes"][0]["status"] = "kept"
    with book_path.open("w") as fh:
        yaml.dump(book, fh)
    other = tmp_path / "other"
    other.mkdir()
    for f in corpus.glob("*.txt"):  # the same talk under other file names: no shared ids
        (other / f"renamed-{f.name}").write_text(f.read_text())
    out = tmp_path / "out"
    result = invoke("run", str(other), "--out", str(out), "--codebook", str(book_path))
    assert result.exit_code == 0, result.output
    codes = {
        c["id"]: c for c in YAML(typ="safe").load((out / "codebook.yaml").read_text())["codes"]
    }
    kept = codes[book["codes"][0]["id"]]
    assert kept["status"] == "kept" and kept["label"] == book["codes"][0]["label"]
    assert kept["size"] > 0
