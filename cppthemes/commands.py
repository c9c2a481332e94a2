"""One library function per command that does work: the CLI parses, calls one, and prints.

Each takes validated settings and callbacks for what the user should see while it works
(progress, skipped files, notes) and returns a record of what it did, so it can be called
from Python (a notebook, a script) as the command does, without typer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cppthemes.config import Config
from cppthemes.records import Result, Skipped, Transcript

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Hooks:
    """What a command tells its caller while it works (all optional)."""

    on_progress: Progress | None = None
    on_skip: Callable[[Skipped], None] | None = None
    on_note: Callable[[str], None] | None = None
    on_backup: Callable[[Path], None] | None = None


@dataclass(frozen=True)
class RunDone:
    """A finished run: its result, the files written, and the cache's problem if any."""

    result: Result
    written: list[Path]
    cache_problem: str | None
    cfg: Config


def run_corpus(
    paths: Sequence[str],
    cfg: Config,
    out: Path,
    *,
    codebook: Path | None = None,
    cache_dir: Path | None = None,
    hooks: Hooks = Hooks(),
) -> RunDone:
    """``cppthemes run``: the pipeline on ``paths`` (applying ``codebook`` if given), every
    output written into ``out``."""
    from cppthemes.embed.models import check_model

    check_model(cfg.embed)  # milliseconds: a model that cannot load fails before any reading
    from cppthemes.codebook.rerun import load_plan
    from cppthemes.embed.embedder import EmbeddingCache, default_cache_dir
    from cppthemes.pipeline import run as run_pipeline
    from cppthemes.proctime import age
    from cppthemes.pseudonymize import pseudonym_map_path, read_pseudonyms
    from cppthemes.runfolder import FILES, write_run

    cache = EmbeddingCache(cache_dir or default_cache_dir())
    loaded = load_plan(codebook) if codebook is not None else None
    known = read_pseudonyms(pseudonym_map_path(out)) if cfg.privacy.pseudonymize else None
    progress = hooks.on_progress or (lambda stage, done, total: None)
    startup = age()
    result = run_pipeline(
        list(paths),
        cfg,
        cache=cache,
        on_progress=hooks.on_progress,
        on_skip=hooks.on_skip,
        plan=loaded.plan if loaded else None,
        previous=loaded.previous if loaded else None,
        pseudonyms=known,
        on_note=hooks.on_note,
    )
    progress("write", 0, len(FILES))
    written = write_run(
        result,
        cfg,
        out,
        list(paths),
        codebook_base=loaded.base if loaded else None,
        on_backup=hooks.on_backup,
        startup_s=startup,
    )
    progress("write", len(FILES), len(FILES))
    return RunDone(result, written, cache.problem, cfg)


def refine_folder(
    run_dir: Path,
    out: Path | None = None,
    overrides: Sequence[str] = (),
    *,
    cache_dir: Path | None = None,
    hooks: Hooks = Hooks(),
) -> RunDone:
    """``cppthemes refine``: rerun a folder's inputs with its settings (and ``overrides``),
    applying its edited codebook.yaml."""
    from cppthemes.codebook.rerun import run_settings

    cfg, paths = run_settings(run_dir, list(overrides))
    codebook = run_dir / "codebook.yaml"
    return run_corpus(
        paths, cfg, out or run_dir, codebook=codebook, cache_dir=cache_dir, hooks=hooks
    )


@dataclass(frozen=True)
class IngestDone:
    """What ``cppthemes ingest`` read: transcripts, warnings, skipped files, turns written."""

    transcripts: tuple[Transcript, ...]
    warnings: list[Skipped]
    skipped: tuple[Skipped, ...]
    turns_written: int | None


def ingest_corpus(
    paths: Sequence[str | Path],
    cfg: Config,
    out: Path | None = None,
    *,
    on_skip: Callable[[Skipped], None] | None = None,
) -> IngestDone:
    """``cppthemes ingest``: read the transcripts, account for them, write turns to ``out``."""
    from cppthemes.accounting import corpus_warnings, fail_on_warnings
    from cppthemes.files import atomic_write_text
    from cppthemes.ingest import load_corpus, turns_jsonl

    corpus = load_corpus(paths, cfg.ingest, on_skip=on_skip)
    _, warned = corpus_warnings(corpus.transcripts, cfg.segment, earlier=corpus.warnings)
    if cfg.ingest.strict:
        fail_on_warnings(warned)
    written = None
    if out is not None:
        text = turns_jsonl(corpus.transcripts)
        atomic_write_text(out, text)
        written = text.count("\n")
    return IngestDone(corpus.transcripts, warned, corpus.skipped, written)
