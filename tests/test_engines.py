"""Where embedding runs: chunking, the Dask engine, device and thread selection, progress."""

from __future__ import annotations

import io
import pickle

import numpy as np
import pytest
from rich.console import Console

from cppthemes.cli.progress import StageProgress
from cppthemes.config import load_config
from cppthemes.embed import engines
from cppthemes.embed.embedder import EmbeddingCache, SentenceTransformerEmbedder, embed
from cppthemes.embed.static_model import StaticEmbedder
from cppthemes.errors import ConfigError, ModelError
from cppthemes.pipeline import run

from .conftest import SAMPLE, FakeEmbedder, SampleRuns


def test_engines_chunks_sorted_by_length_and_complete() -> None:
    texts = ["ccc", "a", "bb", "dddd", "a2", "e"]
    parts = engines.chunks(texts, 4)
    assert [len(p) for p in parts] == [4, 2]
    flat = [t for p in parts for t in p]
    assert sorted(flat) == sorted(texts)
    assert [len(t) for t in flat] == sorted(len(t) for t in texts)


def test_engines_embed_rows_follow_input_order(fake_embedder: FakeEmbedder) -> None:
    texts = [f"word{i} " * (i % 7 + 1) + "garden tomatoes" for i in range(50)]
    vectors, cached = embed(texts, fake_embedder, batch=8)
    direct = fake_embedder.encode(texts)
    assert cached == 0
    np.testing.assert_array_equal(vectors, direct)
    assert max(fake_embedder.calls[:-1]) <= 8


def test_engines_dask_gives_the_same_vectors_as_local(
    fake_embedder: FakeEmbedder, tmp_path
) -> None:
    from dask.distributed import Client, LocalCluster

    texts = [f"passage {i} about " + "garden " * (i % 5) + "and schools" for i in range(40)]
    local, _ = embed(texts, fake_embedder, batch=8)
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=False) as cluster,
        Client(cluster) as client,
    ):
        encoder = engines.DaskEncoder(client)
        cache = EmbeddingCache(tmp_path)
        remote, cached = embed(texts, FakeEmbedder(), cache, batch=8, encoder=encoder)
        again, cached_again = embed(texts, FakeEmbedder(), cache, batch=8, encoder=encoder)
    np.testing.assert_array_equal(local, remote)
    np.testing.assert_array_equal(local, again)
    assert (cached, cached_again) == (0, len(texts))


def test_engines_dask_pipeline_codes_equal_local(sample_runs: SampleRuns) -> None:
    from dask.distributed import Client, LocalCluster

    cfg = load_config(None, [])
    local = sample_runs.result()  # the same settings, in process, with the fake embedder
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=False) as cluster,
        Client(cluster) as client,
    ):
        remote = run([SAMPLE], cfg, embedder=FakeEmbedder(), encoder=engines.DaskEncoder(client))
    assert local.passage_codes == remote.passage_codes
    assert [c.label for c in local.codes] == [c.label for c in remote.codes]


def test_engines_device_auto_picks_cuda_when_torch_sees_a_gpu(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert engines.resolve_device("auto") == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert engines.resolve_device("auto") == "cpu"
    assert engines.resolve_device("cuda:1") == "cuda:1"
    assert engines.resolve_device("auto", cuda_available=lambda: True) == "cuda"


def test_engines_auto_threads_leave_busy_cores_alone() -> None:
    assert engines.auto_threads(2, 0.1) == 2
    assert engines.auto_threads(2, 1.2) == 1
    assert engines.auto_threads(2, 6.0) == 1
    assert engines.auto_threads(16, 3.5) == 13


def test_engines_config_rejects_unknown_engine() -> None:
    with pytest.raises(ConfigError):
        load_config(None, ['embed.engine="spark"'])
    assert load_config(None, ['embed.engine="dask"']).embed.engine == "dask"


def test_engines_sentence_transformer_pickles_as_its_settings() -> None:
    # Dask ships the embedder to workers: as settings, never as a model's weights.
    embedder = object.__new__(SentenceTransformerEmbedder)
    embedder._settings = ("all-MiniLM-L6-v2", 16, "cpu", 1)
    func, args = embedder.__reduce__()
    assert args == ("all-MiniLM-L6-v2", 16, "cpu", 1)
    assert callable(func) and len(pickle.dumps((func, args))) < 500


def test_engines_static_model_missing_names_the_command(tmp_path) -> None:
    with pytest.raises(ModelError, match="cppthemes model distill"):
        StaticEmbedder(tmp_path / "nothing-here")


def test_engines_progress_plain_lines_without_a_terminal() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=False)
    with StageProgress(console) as bars:
        bars.update("embed", 0, 10)
        bars.update("embed", 5, 10)
        bars.update("embed", 10, 10)
        bars.update("cluster", 0, 3)
    # One line per stage when it ends (count and seconds), none when it starts.
    lines = buffer.getvalue().splitlines()
    assert [line.split(" in ")[0] for line in lines] == [
        "embed: 10 passage texts embedded",
        "cluster: 3 passages",
    ]
    assert all(line.endswith(" s") for line in lines)


def test_engines_progress_bars_on_a_terminal_finish_every_stage() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=100)
    with StageProgress(console) as bars:
        bars.update("ingest", 0, 2)
        bars.update("embed", 0, 10)
        bars.update("embed", 4, 10)
        bars.update("label", 0, 3)
    tasks = bars._progress.tasks
    assert [t.description for t in tasks] == ["ingest", "embed", "label"]
    assert all(t.completed == t.total for t in tasks)
    assert "eta" in buffer.getvalue()


def test_engines_progress_quiet_draws_nothing() -> None:
    buffer = io.StringIO()
    with StageProgress(Console(file=buffer, force_terminal=True), enabled=False) as bars:
        bars.update("embed", 0, 10)
    assert buffer.getvalue() == ""


def test_engines_cli_model_static_without_distill_is_one_error_line(tmp_path) -> None:
    from typer.testing import CliRunner

    from cppthemes.cli.app import app

    result = CliRunner().invoke(
        app, ["run", str(SAMPLE), "--out", str(tmp_path / "out"), "--model", "static", "-q"]
    )
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines[-1].startswith("error: embed.model='static'")
    assert "cppthemes model distill" in result.output
    assert not (tmp_path / "out").exists()


def test_engines_cli_engine_option_is_validated(tmp_path) -> None:
    from typer.testing import CliRunner

    from cppthemes.cli.app import app

    result = CliRunner().invoke(
        app, ["run", str(SAMPLE), "--out", str(tmp_path / "out"), "--engine", "spark", "-q"]
    )
    assert result.exit_code == 1
    assert "embed.engine" in result.output


def test_engines_pipeline_dask_setting_starts_and_stops_a_local_cluster(
    sample_runs: SampleRuns,
) -> None:
    cfg = load_config(None, ['embed.engine="dask"', "embed.dask_workers=1"])
    local = sample_runs.result()  # the default settings, in process
    remote = run([SAMPLE], cfg, embedder=FakeEmbedder())
    assert local.passage_codes == remote.passage_codes


class _BatchCounting(FakeEmbedder):
    """Counts tokens in one batch first, like the real embedders, and records the calls."""

    def __init__(self) -> None:
        super().__init__()
        self.batched: list[int] = []
        self.single: list[str] = []
        self.known: dict[str, int] = {}

    def count_tokens_many(self, texts) -> None:
        self.batched.append(len(texts))
        self.known.update({t: super(_BatchCounting, self).count_tokens(t) for t in texts})

    def count_tokens(self, text: str) -> int:
        if text not in self.known:
            self.single.append(text)
        return super().count_tokens(text)


def test_engines_pipeline_counts_turn_tokens_in_one_batch(sample_runs: SampleRuns) -> None:
    batching = _BatchCounting()
    cfg = load_config(None, [])
    batched = run([SAMPLE], cfg, embedder=batching)
    plain = sample_runs.result()  # the same settings with the plain fake embedder
    assert len(batching.batched) == 1 and batching.batched[0] >= len(batched.passages)
    # Only the sentence groups of turns too long for the window are counted one by one.
    turns = {turn.text for tr in batched.transcripts for turn in tr.turns}
    assert not turns.intersection(batching.single)
    assert [p.id for p in batched.passages] == [p.id for p in plain.passages]
