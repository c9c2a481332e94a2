"""The analyst's loop end to end: run, edit codebook.yaml, refine, check every decision."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from ruamel.yaml import YAML
from typer.testing import CliRunner

from cppthemes import pipeline
from cppthemes.cli import app
from tests.conftest import SAMPLE, FakeEmbedder

runner = CliRunner()


@pytest.fixture(autouse=True)
def _fake_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "SentenceTransformerEmbedder", lambda *a, **k: FakeEmbedder())


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
def first_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import cppthemes.pipeline as p

    original = p.SentenceTransformerEmbedder
    p.SentenceTransformerEmbedder = lambda *a, **k: FakeEmbedder()  # type: ignore[assignment]
    try:
        out = tmp_path_factory.mktemp("loop") / "run"
        result = runner.invoke(app, ["run", str(SAMPLE), "--out", str(out), "-q"])
        assert result.exit_code == 0, result.output
    finally:
        p.SentenceTransformerEmbedder = original  # type: ignore[assignment]
    return out
