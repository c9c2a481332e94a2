"""The run folder's one codec: a write/read round trip gives the same records, and an export
from the folder reproduces what the run wrote, byte for byte."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from cppthemes.codebook.rerun import load_plan
from cppthemes.codec import passage_of, passages_jsonl, read_passages
from cppthemes.config import load_config
from cppthemes.export.registry import EXPORTS
from cppthemes.pipeline import run
from cppthemes.records import Result
from cppthemes.runfolder import export_run, load_run, write_run
from tests.conftest import SAMPLE, FakeEmbedder, SampleRuns

FAST = ["cluster.stability_resamples=2"]


def _written(sample_runs: SampleRuns, overrides: list[str]) -> tuple[Result, Path]:
    """data/sample run with the fake embedder and written by ``write_run``: the session's
    shared run for these settings (conftest), read here and never written into."""
    settings = (*FAST, *overrides)
    return sample_runs.result(*settings), sample_runs.folder(*settings).out


@pytest.mark.parametrize(
    "overrides",
    [
        [],
        ['segment.strategy="window"'],
        ['segment.strategy="topic"', 'segment.backchannels="drop"'],
    ],
)
def test_a_written_run_reads_back_unchanged(sample_runs: SampleRuns, overrides: list[str]) -> None:
    result, out = _written(sample_runs, overrides)
    loaded = load_run(out)
    assert loaded.passages == result.passages  # turn_start/turn_end included
    assert loaded.transcripts == tuple(
        replace(t, path=t.source, notes=()) for t in result.transcripts
    )
    assert loaded.passage_codes == result.passage_codes
    assert loaded.coords == result.coords
    assert loaded.segment_stats == result.segment_stats
    assert loaded.themes == result.themes
    assert [(c.id, c.label, c.passage_ids, c.status) for c in loaded.codes] == [
        (c.id, c.label, c.passage_ids, c.status) for c in result.codes
    ]
    # run.json adds the time spent writing, and names each transcript by its source (the
    # path as given to the run is not recorded per transcript); the rest comes back as it was.
    accounts = tuple(replace(a, path=a.source) for a in result.info.accounts)
    expected = replace(result.info, timings_s={}, accounts=accounts)
    assert replace(loaded.info, timings_s={}) == expected
    assert set(result.info.timings_s) <= set(loaded.info.timings_s)


def test_the_audit_trail_reads_back_unchanged(sample_runs: SampleRuns, tmp_path: Path) -> None:
    first = sample_runs.folder(*FAST).copy_to(tmp_path / "run")  # written into below
    loaded_plan = load_plan(first / "codebook.yaml")
    cfg = load_config(None, FAST)
    result = run(
        [SAMPLE],
        cfg,
        embedder=FakeEmbedder(),
        plan=loaded_plan.plan,
        previous=loaded_plan.previous,
    )
    assert result.audit
    write_run(result, cfg, first, [str(SAMPLE)], codebook_base=loaded_plan.base)
    assert load_run(first).audit == result.audit


@pytest.mark.parametrize("fmt", sorted(EXPORTS))
def test_export_from_the_folder_reproduces_the_run_outputs(
    sample_runs: SampleRuns, tmp_path: Path, fmt: str
) -> None:
    _, out = _written(sample_runs, ['codebook.framework="cfir"'])
    again = tmp_path / "again"
    for path in export_run(out, fmt, again):
        assert path.read_bytes() == (out / path.name).read_bytes(), path.name


def test_passages_jsonl_is_read_by_one_reader(sample_runs: SampleRuns) -> None:
    result, out = _written(sample_runs, [])
    records = read_passages(out)
    turns = {t.id: t.turns for t in result.transcripts}
    assert tuple(passage_of(r, turns) for r in records) == result.passages
    assert passages_jsonl(load_run(out)) == (out / "passages.jsonl").read_text(encoding="utf-8")
