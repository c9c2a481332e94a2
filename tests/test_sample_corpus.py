"""The bundled sample corpus stays consistent with its gold labels and manifest."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter

from tests.conftest import SAMPLE

SPEAKER = re.compile(r"^([A-Z][A-Za-z]+): \S")


def test_sample_corpus_shape() -> None:
    files = sorted(SAMPLE.glob("*.txt"))
    assert len(files) >= 8
    manifest = {r["file"]: r for r in csv.DictReader((SAMPLE / "manifest.csv").open())}
    assert sorted(manifest) == [f.name for f in files]
    assert {r["wave"] for r in manifest.values()} == {"1", "2"}
    assert {r["cohort"] for r in manifest.values()} == {"1", "2"}
    for f in files:
        lines = f.read_text(encoding="utf-8").splitlines()
        assert 60 <= len(lines) <= 120, f.name
        speakers = {SPEAKER.match(line).group(1) for line in lines}  # type: ignore[union-attr]
        assert "Facilitator" in speakers and 4 <= len(speakers - {"Facilitator"}) <= 6


def test_sample_gold_matches_every_line() -> None:
    gold = [json.loads(line) for line in (SAMPLE / "gold.jsonl").open(encoding="utf-8")]
    by_file = Counter(g["file"] for g in gold)
    for f in SAMPLE.glob("*.txt"):
        lines = f.read_text(encoding="utf-8").splitlines()
        assert by_file[f.name] == len(lines)
    for g in gold:
        line = (SAMPLE / g["file"]).read_text(encoding="utf-8").splitlines()[g["line"] - 1]
        assert line.startswith(g["speaker"] + ": ")
        if g["speaker"] == "Facilitator":
            assert g["label"] is None
    labels = Counter(g["label"] for g in gold if g["label"])
    assert 8 <= len(labels) <= 12
