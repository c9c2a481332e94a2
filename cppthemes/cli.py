"""Command line: thin wrappers that parse, call one library function, and render.

Data goes to stdout, messages and progress to stderr. Library errors become one line on stderr
and exit code 1; participants' words never appear in a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from cppthemes import __version__
from cppthemes.errors import CppthemesError

app = typer.Typer(
    help="Candidate codes and themes from interview and focus-group transcripts, offline.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)
err = Console(stderr=True, highlight=False, soft_wrap=True)
F = TypeVar("F", bound=Callable[..., Any])


def reports_errors(func: F) -> F:
    """Turn library errors into one line on stderr and a non-zero exit code."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except CppthemesError as exc:
            err.print(f"error: {exc}", markup=False)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err.print("interrupted: nothing was written over earlier outputs", markup=False)
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cppthemes {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show version.")
    ] = False,
) -> None:
    """cppthemes proposes; the analyst decides."""


PathsArg = Annotated[list[Path], typer.Argument(help="Transcript files or folders.")]


@app.command()
@reports_errors
def run(
    paths: PathsArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="Run folder.")] = Path("cppthemes-out"),
    config: Annotated[Path | None, typer.Option("--config", "-c", help="TOML settings.")] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Override a setting: section.key=value.")
    ] = None,
    codes: Annotated[
        int | None, typer.Option("--codes", help="Approximate number of codes wanted.")
    ] = None,
    segment: Annotated[
        str | None,
        typer.Option("--segment", help="Segmentation strategy: turn, window or topic."),
    ] = None,
    cache_dir: Annotated[
        Path | None, typer.Option("--cache-dir", help="Embedding cache folder.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress messages.")] = False,
) -> None:
    """Run the whole pipeline: transcripts in, candidate codes and a report out."""
    from cppthemes.config import load_config
    from cppthemes.embed import EmbeddingCache, default_cache_dir
    from cppthemes.pipeline import run as run_pipeline
    from cppthemes.runfolder import write_run

    overrides = list(set_ or []) + ([f"cluster.n_codes={codes}"] if codes is not None else [])
    overrides += [f'segment.strategy="{segment}"'] if segment is not None else []
    cfg = load_config(config, overrides)
    cache = EmbeddingCache(cache_dir or default_cache_dir())

    def progress(stage: str, done: int, total: int) -> None:
        if not quiet and (done == 0 or done == total):
            err.print(f"[dim]{stage}[/dim] {done}/{total}" if total > 1 else f"[dim]{stage}[/]")

    result = run_pipeline(paths, cfg, cache=cache, on_progress=progress)
    written = write_run(result, cfg, out, [str(p) for p in paths])
    if not quiet:
        s = result.segment_stats
        err.print(
            f"{len(result.transcripts)} transcripts, {s.passages} passages, "
            f"{len(result.codes)} codes in {len(result.themes)} themes, "
            f"coverage {result.coverage:.0%}. Report: {out / 'report.md'}",
            markup=False,
        )
    for path in written:
        typer.echo(str(path))


@app.command()
@reports_errors
def ingest(
    paths: PathsArg,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write turns as JSON lines here.")
    ] = None,
) -> None:
    """Read transcripts and summarise what was found (speakers, turns, metadata)."""
    from cppthemes.config import IngestConfig
    from cppthemes.files import atomic_write_text
    from cppthemes.ingest import read_corpus

    transcripts = read_corpus(paths, IngestConfig())
    table = Table("source", "turns", "speakers", "metadata")
    for t in transcripts:
        speakers = sorted({turn.speaker for turn in t.turns})
        meta = ", ".join(f"{k}={v}" for k, v in sorted(t.metadata.items()))
        table.add_row(t.source, str(len(t.turns)), ", ".join(speakers), meta)
    err.print(table)
    if out is not None:
        rows = [
            json.dumps(
                {
                    "source": t.source,
                    "transcript": t.id,
                    "metadata": t.metadata,
                    "index": turn.index,
                    "speaker": turn.speaker,
                    "text": turn.text,
                    "line_start": turn.line_start,
                    "line_end": turn.line_end,
                    "char_start": turn.char_start,
                    "char_end": turn.char_end,
                },
                ensure_ascii=False,
            )
            for t in transcripts
            for turn in t.turns
        ]
        atomic_write_text(out, "\n".join(rows) + "\n")
        err.print(f"wrote {len(rows)} turns to {out}", markup=False)


@app.command()
@reports_errors
def evaluate(
    run_dir: Annotated[Path, typer.Argument(help="A run folder written by `cppthemes run`.")],
    gold: Annotated[Path, typer.Option("--gold", help="gold.jsonl: file, line, label.")],
    per_file_labels: Annotated[
        bool, typer.Option("--per-file-labels", help="A label means something only in its file.")
    ] = False,
    segmentation: Annotated[
        bool,
        typer.Option(
            "--segmentation",
            help="Score passage boundaries against the gold label boundaries (Pk, WindowDiff).",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Agreement of a run's codes with human labels (NMI, AMI, ARI, V-measure, coverage).

    With --segmentation: Pk and WindowDiff of the run's passage boundaries against the human
    topic boundaries (where the gold label changes), beside two baselines.
    """
    from cppthemes.evaluate import read_gold, score, score_segmentation
    from cppthemes.runfolder import read_passages

    if segmentation:
        seg = score_segmentation(read_passages(run_dir), read_gold(gold), gold_name=str(gold))
        if as_json:
            typer.echo(json.dumps(seg.as_dict(), indent=2))
            return
        table = Table(
            "segmentation", "Pk", "WindowDiff", title=f"{run_dir} vs {gold} (lower is better)"
        )
        table.add_row("this run", f"{seg.pk:.3f}", f"{seg.windowdiff:.3f}")
        for name, values in seg.baselines.items():
            table.add_row(
                f"baseline: {name.replace('_', ' ')}",
                f"{values['pk']:.3f}",
                f"{values['windowdiff']:.3f}",
            )
        Console(highlight=False).print(table)
        err.print(
            f"{seg.files} files, {seg.lines} lines, {seg.reference_segments} reference and "
            f"{seg.hypothesis_segments} run segments, mean k {seg.k_mean:.1f}",
            markup=False,
        )
        return
    scores = score(
        read_passages(run_dir),
        read_gold(gold),
        per_file_labels=per_file_labels,
        gold_name=str(gold),
    )
    if as_json:
        typer.echo(json.dumps(scores.as_dict(), indent=2))
        return
    table = Table("measure", "value", title=f"{run_dir} vs {gold}")
    for key, value in scores.as_dict().items():
        if key != "unmatched_files":
            table.add_row(key, f"{value:.3f}" if isinstance(value, float) else str(value))
    Console(highlight=False).print(table)
    if scores.unmatched_files:
        err.print(
            f"note: {len(scores.unmatched_files)} gold files are not in the run, e.g. "
            f"{scores.unmatched_files[0]}",
            markup=False,
        )


def main() -> None:
    """Console-script entry point."""
    app()
