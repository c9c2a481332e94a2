"""Command line: thin wrappers that parse, call one library function, and render.

Data goes to stdout, messages and progress to stderr. Library errors become one line on stderr
and exit code 1; participants' words never appear in a traceback.
"""

from __future__ import annotations

import atexit
import os
import sys
from collections.abc import Callable
from contextlib import suppress
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from cppthemes import __version__
from cppthemes.cli.options import (
    RUN_EXAMPLES,
    CacheDirOpt,
    CodebookOpt,
    CodesOpt,
    ColumnsOpt,
    ConfigOpt,
    DeductiveOpt,
    EngineOpt,
    FacilitatorOpt,
    FormatOpt,
    FrameworkOpt,
    GranularityOpt,
    ManifestOpt,
    MetaOpt,
    ModelOpt,
    NamesOpt,
    OutOpt,
    PathsArg,
    PseudoOpt,
    QuietOpt,
    SeedCodesOpt,
    SegmentOpt,
    SetOpt,
    StrictOpt,
)
from cppthemes.errors import CppthemesError

if TYPE_CHECKING:
    from cppthemes.commands import Hooks, RunDone

app = typer.Typer(
    help="Candidate codes and themes from interview and focus-group transcripts, offline.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)
err = Console(stderr=True, highlight=False, soft_wrap=True)
F = TypeVar("F", bound=Callable[..., Any])
DEBUG_ENV = "CPPTHEMES_DEBUG"
INTERNAL_ERROR = 3


def reports_errors(func: F) -> F:
    """Turn every failure into one line on stderr and a non-zero exit code.

    Library errors print their message (which names a file, line or setting, never
    participants' words). Anything else is a bug: its message and traceback may hold passage
    text (an exception's arguments, a numpy array's repr), so only its type is printed, unless
    the user asks for the traceback with ``--debug`` or ``CPPTHEMES_DEBUG=1``.
    """

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except CppthemesError as exc:
            # One line, always: a library message with a line break (a parser's) is joined.
            err.print(f"error: {' '.join(str(exc).splitlines())}", markup=False)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err.print("interrupted: nothing was written over earlier outputs", markup=False)
            raise typer.Exit(130) from None
        except Exception as exc:
            if os.environ.get(DEBUG_ENV, "") not in ("", "0"):
                raise
            err.print(
                f"internal error ({type(exc).__name__}) in cppthemes {__version__}: nothing "
                "was written over earlier outputs; rerun as `cppthemes --debug ...` (or with "
                f"{DEBUG_ENV}=1) to see the traceback, which may quote transcripts",
                markup=False,
            )
            raise typer.Exit(INTERNAL_ERROR) from None

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
    debug: Annotated[
        bool,
        typer.Option(
            "--debug", help="Show tracebacks of internal errors (they may quote transcripts)."
        ),
    ] = False,
) -> None:
    """cppthemes proposes; the analyst decides."""
    if debug:
        os.environ[DEBUG_ENV] = "1"


def _ingest_settings(
    fmt: str | None,
    columns: str | None,
    manifest: Path | None,
    meta: str | None,
    facilitators: list[str] | None,
    strict: bool,
) -> dict[str, Any]:
    """The ingest options as dotted settings, validated with every other setting."""
    from cppthemes.config import parse_columns

    given: dict[str, Any] = {
        "ingest.format": fmt,
        "ingest.columns": parse_columns(columns) if columns is not None else None,
        "ingest.manifest_path": str(manifest) if manifest is not None else None,
        "ingest.meta_from_name": meta,
        "ingest.facilitators": facilitators or None,
        "ingest.strict": True if strict else None,
    }
    return {k: v for k, v in given.items() if v is not None}


def _print_skipped(item: object) -> None:
    err.print(f"skipped: {item}", markup=False)


@app.command(epilog=RUN_EXAMPLES)
@reports_errors
def run(
    paths: PathsArg,
    fmt: FormatOpt = None,
    columns: ColumnsOpt = None,
    manifest: ManifestOpt = None,
    meta_from_name: MetaOpt = None,
    facilitator: FacilitatorOpt = None,
    strict: StrictOpt = False,
    segment: SegmentOpt = None,
    codes: CodesOpt = None,
    granularity: GranularityOpt = None,
    codebook: CodebookOpt = None,
    framework: FrameworkOpt = None,
    deductive: DeductiveOpt = False,
    out: OutOpt = Path("cppthemes-out"),
    quiet: QuietOpt = False,
    seed_codes: SeedCodesOpt = None,
    pseudonymize: PseudoOpt = False,
    names: NamesOpt = None,
    model: ModelOpt = None,
    engine: EngineOpt = None,
    cache_dir: CacheDirOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Run the whole pipeline: transcripts in, candidate codes and a report out."""
    from cppthemes.config import load_config

    given: dict[str, Any] = {
        "cluster.n_codes": codes,
        "cluster.granularity": granularity or None,
        "embed.model": model or None,
        "embed.engine": engine or None,
        "segment.strategy": segment,
        "codebook.framework": framework or None,
        "codebook.deductive": True if deductive else None,
        "codebook.seed_codes": str(seed_codes) if seed_codes else None,
        "privacy.pseudonymize": True if pseudonymize else None,
        "privacy.names_file": str(names) if names else None,
    }
    settings = {k: v for k, v in given.items() if v is not None}
    settings |= _ingest_settings(fmt, columns, manifest, meta_from_name, facilitator, strict)
    cfg = load_config(config, set_ or [], settings)
    _report_run(out, quiet, lambda hooks: _run_corpus(cfg, paths, out, codebook, cache_dir, hooks))


def _run_corpus(
    cfg: Any,
    paths: list[Path],
    out: Path,
    codebook: Path | None,
    cache_dir: Path | None,
    hooks: Any,
) -> Any:
    from cppthemes.commands import run_corpus

    return run_corpus(
        [str(p) for p in paths], cfg, out, codebook=codebook, cache_dir=cache_dir, hooks=hooks
    )


def _report_run(out: Path, quiet: bool, work: Callable[[Hooks], RunDone]) -> None:
    """Shared by `run` and `refine`: do the work under progress bars, then tell the user."""
    from cppthemes.cli.progress import StageProgress
    from cppthemes.commands import Hooks

    with StageProgress(err, enabled=not quiet) as bars:
        done = work(
            Hooks(
                on_progress=bars.update,
                on_skip=_print_skipped,
                on_note=lambda message: bars.note(message),
                on_backup=lambda path: err.print(
                    f"note: codebook.yaml was edited since the last run; kept it as {path}",
                    markup=False,
                ),
            )
        )
    from cppthemes.codebook.apply import this_run
    from cppthemes.pseudonymize import pseudonym_map_path
    from cppthemes.runfolder import run_summary

    result = done.result
    for event in this_run(result.audit):
        if event.rule == "not applied":
            err.print(f"not applied: {event.code}: {event.what}", markup=False)
        elif event.rule == "empty":
            err.print(f"note: {event.code}: {event.what}", markup=False)
    for warning in result.info.warnings:
        err.print(f"warning: {warning}", markup=False)
    if done.cache_problem:
        err.print(f"warning: {done.cache_problem}", markup=False)
    for note in result.info.notes:
        err.print(f"note: {note}", markup=False)
    if not result.codes:
        from cppthemes.cluster.codes import why_nothing_coded

        cluster_cfg = done.cfg.cluster
        err.print(
            f"note: {why_nothing_coded(result.segment_stats.passages, cluster_cfg)}", markup=False
        )
    if not quiet:
        err.print(run_summary(result, out), markup=False)
        if result.pseudonyms:
            err.print(
                f"{len(set(result.pseudonyms.values()))} people pseudonymised; the mapping "
                f"(keep it private) is {pseudonym_map_path(out)}",
                markup=False,
            )
    for path in done.written:
        typer.echo(str(path))


@app.command()
@reports_errors
def refine(
    run_dir: Annotated[Path, typer.Argument(help="A run folder whose codebook.yaml you edited.")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write here instead of RUN_DIR.")
    ] = None,
    cache_dir: Annotated[
        Path | None, typer.Option("--cache-dir", help="Embedding cache folder.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress messages.")] = False,
    set_: SetOpt = None,
) -> None:
    """Re-run with the run folder's inputs and settings, applying its edited codebook.yaml."""
    from cppthemes.commands import refine_folder

    _report_run(
        out or run_dir,
        quiet,
        lambda hooks: refine_folder(run_dir, out, set_ or [], cache_dir=cache_dir, hooks=hooks),
    )


@app.command("codes")
@reports_errors
def codes_table(
    run_dir: Annotated[Path, typer.Argument(help="A run folder.")],
) -> None:
    """The run's codes: status, theme, size, participants, transcripts, stability, weak and
    unstable flags."""
    from cppthemes.cli.review import codes_table as table

    Console(highlight=False).print(table(run_dir))


@app.command()
@reports_errors
def show(
    run_dir: Annotated[Path, typer.Argument(help="A run folder.")],
    code: Annotated[str, typer.Argument(help="A code id, e.g. C07.")],
) -> None:
    """One code: label, keyphrases, quotes with provenance, nearest codes, constructs."""
    from cppthemes.cli.review import code_detail

    Console(highlight=False).print(code_detail(run_dir, code), markup=False)


@app.command("import-codebook")
@reports_errors
def import_codebook(
    qdc: Annotated[Path, typer.Argument(help="A REFI-QDA codebook (.qdc).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="codebook.yaml to write.")],
) -> None:
    """Turn a REFI-QDA .qdc codebook into a codebook.yaml of seeded codes for --codebook."""
    from cppthemes.codebook.book import render_book
    from cppthemes.codebook.qdc import read_qdc
    from cppthemes.files import atomic_write_text

    book = read_qdc(qdc)
    atomic_write_text(out, render_book(book))
    err.print(f"{len(book['seeded'])} seeded codes written to {out}", markup=False)


@app.command()
@reports_errors
def ingest(
    paths: PathsArg,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write turns as JSON lines here.")
    ] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    fmt: FormatOpt = None,
    columns: ColumnsOpt = None,
    manifest: ManifestOpt = None,
    meta_from_name: MetaOpt = None,
    facilitator: FacilitatorOpt = None,
    strict: StrictOpt = False,
) -> None:
    """Read transcripts and summarise what was found (speakers, roles, turns, words)."""
    from cppthemes.commands import ingest_corpus
    from cppthemes.config import load_config
    from cppthemes.ingest import summarise

    settings = _ingest_settings(fmt, columns, manifest, meta_from_name, facilitator, strict)
    cfg = load_config(config, set_ or [], settings)
    done = ingest_corpus(paths, cfg, out, on_skip=_print_skipped)
    table = Table("source", "format", "turns", "speakers", "facilitator", "words", "metadata")
    for row in summarise(done.transcripts):
        table.add_row(*row)
    err.print(table)
    for warning in done.warnings:
        err.print(f"warning: {warning}", markup=False)
    if done.skipped:
        err.print(f"{len(done.skipped)} files skipped (listed above)", markup=False)
    if out is not None:
        err.print(f"wrote {done.turns_written} turns to {out}", markup=False)


# evaluate, export and the model commands, registered on ``app`` after the commands above.
from cppthemes.cli import tools  # noqa: E402, F401


def main() -> None:
    """Console-script entry point.

    When the command has finished (every output written, every message printed), the process
    ends without the interpreter's teardown: freeing a run's modules and objects took 0.3-0.5 s
    of a rerun's wall time on the 2-core machine, after run.json's timings were taken (so no
    stage could account for it). The exit handlers (logging's, openpyxl's temporary files)
    still run, and the output streams are flushed; an exit with a message, an exception, a
    process under a profiler, tracer or coverage (which write their results after this
    returns: ``python -m cProfile -m cppthemes``), or one with a thread still running takes
    Python's ordinary way out.
    """
    try:
        app()
    except SystemExit as exc:
        if (exc.code is not None and not isinstance(exc.code, int)) or _observed():
            raise
        _exit_now(exc.code or 0)
    if not _observed():
        _exit_now(0)


def _observed() -> bool:
    """Whether Python's ordinary exit is owed: a profiler or tracer writes its results after
    ``main`` returns, and a thread still running (not a daemon) is joined by it."""
    import threading

    if sys.getprofile() is not None or sys.gettrace() is not None:
        return True
    main_thread = threading.main_thread()
    return any(t is not main_thread and not t.daemon for t in threading.enumerate())


def _exit_now(code: int) -> NoReturn:
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        # Closed, or a broken pipe: nothing more can be said.
        with suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)
