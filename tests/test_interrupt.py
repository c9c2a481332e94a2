"""Nothing lost: interrupted runs, edited codebooks, failed writes (see tests/interrupt.py)."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cppthemes import files
from cppthemes.cli.app import app
from cppthemes.errors import RunDirError
from tests.conftest import FakeEmbedder, use_fake_model, write_corpus
from tests.interrupt import cached_vectors, folder_state, kill_runs

runner = CliRunner()


@pytest.fixture(autouse=True)
def _fake_model(monkeypatch: pytest.MonkeyPatch) -> FakeEmbedder:
    fake = FakeEmbedder()
    use_fake_model(monkeypatch, lambda: fake)
    return fake


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.mark.long  # kills real runs at random moments (about 16 s); CI runs it (-m long)
def test_interrupt_random_kills_leave_a_complete_folder_and_rerun_resumes(
    tmp_path: Path, _fake_model: FakeEmbedder
) -> None:
    first = write_corpus(tmp_path / "first", n_files=2)
    second = write_corpus(tmp_path / "second", n_files=6, manifest=False)
    out, cache = tmp_path / "run", tmp_path / "cache"
    assert runner.invoke(app, ["run", str(first), "--out", str(out), "-q"]).exit_code == 0
    before = _snapshot(out)

    report = kill_runs(second, out, cache, times=4, seed=11, max_delay=4.0)
    assert set(report.states) == {"complete"}, report.states
    if report.finished_first == 0 and _snapshot(out) != before:
        # Every run was signalled, yet the folder changed: a kill landed after the last rename
        # (during shutdown). Then it must hold the new run, complete, never a mixture.
        run = json.loads((out / "run.json").read_text())
        assert run["inputs"]["paths"] == [str(second)] and folder_state(out) == "complete"
    assert not list(out.glob(".*.tmp")) or report.by_signal.get("SIGKILL")

    # The rerun embeds only what no killed run had finished (the batches they did finish are
    # in the cache: each is committed on its own, tests/test_embed.py shows it in-process).
    cached = cached_vectors(cache)
    _fake_model.calls.clear()
    args = ["run", str(second), "--out", str(out), "-q", "--cache-dir", str(cache)]
    assert runner.invoke(app, args).exit_code == 0
    run = json.loads((out / "run.json").read_text())
    assert cached_vectors(cache) == cached + sum(_fake_model.calls)
    assert run["embeddings"]["from_cache"] > 0 or cached == 0
    assert folder_state(out) == "complete" and not list(out.glob(".*.tmp"))


def test_interrupt_sigint_is_one_line(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "c", n_files=6)
    report = kill_runs(corpus, tmp_path / "o", tmp_path / "k", times=1, seed=3,
                       max_delay=2.0, signals=(signal.SIGINT,))  # fmt: skip
    assert "SIGINT printed a traceback" not in report.states


def test_interrupt_failed_write_leaves_every_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = write_corpus(tmp_path / "c", n_files=2)
    out = tmp_path / "run"
    assert runner.invoke(app, ["run", str(corpus), "--out", str(out), "-q"]).exit_code == 0
    before = _snapshot(out)
    real_fsync = files.os.fsync
    calls = []

    def failing(fd: int) -> None:  # the disk fills up while the fifth file is staged
        calls.append(fd)
        if len(calls) == 5:
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(files.os, "fsync", failing)
    result = runner.invoke(app, ["run", str(corpus), "--out", str(out), "-q", "--codes", "5"])
    assert result.exit_code == 1
    assert result.stderr.strip().startswith("error: ") and "No space left" in result.stderr
    assert _snapshot(out) == before and not list(out.glob(".*.tmp"))


def test_interrupt_stale_temporary_files_are_removed(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "c", n_files=2)
    out = tmp_path / "run"
    out.mkdir()
    (out / ".codebook.yaml.abc123.tmp").write_text("half written", encoding="utf-8")
    (out / "notes.txt").write_text("the analyst's own file", encoding="utf-8")
    assert runner.invoke(app, ["run", str(corpus), "--out", str(out), "-q"]).exit_code == 0
    assert not (out / ".codebook.yaml.abc123.tmp").exists() and (out / "notes.txt").exists()


def test_interrupt_edited_codebook_is_backed_up_before_overwrite(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "c", n_files=2)
    out = tmp_path / "run"
    args = ["run", str(corpus), "--out", str(out), "-q"]
    assert runner.invoke(app, args).exit_code == 0
    assert runner.invoke(app, args).exit_code == 0
    assert not list(out.glob("codebook.yaml.bak-*"))  # unedited: nothing to keep
    book = out / "codebook.yaml"
    edited = book.read_text(encoding="utf-8").replace("description: ''", "description: mine", 1)
    book.write_text(edited, encoding="utf-8")
    result = runner.invoke(app, args)
    assert result.exit_code == 0
    (backup,) = out.glob("codebook.yaml.bak-*")
    assert backup.read_text(encoding="utf-8") == edited
    assert "kept it as" in result.stderr and backup.name in result.stderr
    # Edited again: a second backup, the first kept.
    book.write_text(edited + "# more\n", encoding="utf-8")
    assert runner.invoke(app, args).exit_code == 0
    assert len(list(out.glob("codebook.yaml.bak-*"))) == 2


def test_interrupt_backup_names_never_collide(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    path = tmp_path / "codebook.yaml"
    now = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
    first = files.backup_path(path, now)
    first.write_text("a")
    second = files.backup_path(path, now)
    assert first.name == "codebook.yaml.bak-20261127T060000Z"
    assert second.name == "codebook.yaml.bak-20261127T060000Z-2"


def test_interrupt_unwritable_run_folder_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(RunDirError, match="cannot write"):
        files.write_all(blocker / "run", {"a.txt": "x"})
