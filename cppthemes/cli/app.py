"""Command line: thin wrappers that parse, call one library function, and render.

Data goes to stdout, messages and progress to stderr. Library errors become one line on stderr
and exit code 1; participants' words never appear in a traceback.
"""

from __future__ import annotations

import json
import os
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


PathsArg = Annotated[list[Path], typer.Argument(help="Transcript files or folders.")]
ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="TOML settings.")]
SetOpt = Annotated[
    list[str] | None, typer.Option("--set", help="Override a setting: section.key=value.")
]
FormatOpt = Annotated[
    str | None,
    typer.Option(
        "--format", help="Read every file as: text, docx, vtt, srt, json, csv, tsv or xlsx."
    ),
]
ColumnsOpt = Annotated[
    str | None,
    typer.Option(
        "--columns", help="Table columns, e.g. speaker=Who,text=Said[,time=Start,file=Interview]."
    ),
]
ManifestOpt = Annotated[
    Path | None, typer.Option("--manifest", help="Metadata per file (.csv or .yaml).")
]
MetaOpt = Annotated[
    str | None,
    typer.Option("--meta-from-name", help='Attributes from file names, e.g. "{site}_{wave}".'),
]
FacilitatorOpt = Annotated[
    list[str] | None,
    typer.Option("--facilitator", help="Speaker who is the facilitator (repeatable)."),
]
PseudoOpt = Annotated[
    bool,
    typer.Option(
        "--pseudonymize",
        help="Replace people's names with P01, P02, ... in every output; the mapping is kept "
        "beside the run folder.",
    ),
]
NamesOpt = Annotated[
    Path | None,
    typer.Option("--names", help="Names to pseudonymise, one a line (with --pseudonymize)."),
]
StrictOpt = Annotated[
    bool,
    typer.Option(
        "--strict",
        help="Stop at the first file that cannot be read, and treat warnings as errors.",
    ),
]


def _ingest_overrides(
    fmt: str | None,
    columns: str | None,
    manifest: Path | None,
    meta: str | None,
    facilitators: list[str] | None,
    strict: bool,
) -> list[str]:
    """The ingest options as ``--set`` overrides, so settings have one path to validation."""
    from cppthemes.config import parse_columns

    out: list[str] = []
    if fmt is not None:
        out.append(f"ingest.format={json.dumps(fmt)}")
    if columns is not None:
        pairs = ", ".join(f"{k} = {json.dumps(v)}" for k, v in parse_columns(columns).items())
        out.append(f"ingest.columns={{{pairs}}}")
    if manifest is not None:
        out.append(f"ingest.manifest_path={json.dumps(str(manifest))}")
    if meta is not None:
        out.append(f"ingest.meta_from_name={json.dumps(meta)}")
    if facilitators:
        out.append(f"ingest.facilitators={json.dumps(facilitators)}")
    if strict:
        out.append("ingest.strict=true")
    return out


def _print_skipped(item: object) -> None:
    err.print(f"skipped: {item}", markup=False)


@app.command()
@reports_errors
def run(
    paths: PathsArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="Run folder.")] = Path("cppthemes-out"),
    config: ConfigOpt = None,
    set_: SetOpt = None,
    codes: Annotated[
        int | None, typer.Option("--codes", help="Approximate number of codes wanted.")
    ] = None,
    granularity: Annotated[
        str | None, typer.Option("--granularity", help="coarse, medium or fine codes.")
    ] = None,
    segment: Annotated[
        str | None,
        typer.Option("--segment", help="Segmentation strategy: turn, window or topic."),
    ] = None,
    cache_dir: Annotated[
        Path | None, typer.Option("--cache-dir", help="Embedding cache folder.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress messages.")] = False,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="Embedding model: a name, a folder, 'multilingual', 'static', 'onnx-int8' or "
            "'onnx-fp32'.",
        ),
    ] = None,
    engine: Annotated[
        str | None, typer.Option("--engine", help="Where to embed: local or dask.")
    ] = None,
    fmt: FormatOpt = None,
    columns: ColumnsOpt = None,
    manifest: ManifestOpt = None,
    meta_from_name: MetaOpt = None,
    facilitator: FacilitatorOpt = None,
    strict: StrictOpt = False,
    codebook: Annotated[
        Path | None,
        typer.Option("--codebook", help="An edited codebook.yaml (or a REFI-QDA .qdc) to apply."),
    ] = None,
    framework: Annotated[
        str | None,
        typer.Option("--framework", help="Map codes to a framework: cfir, or a YAML file."),
    ] = None,
    deductive: Annotated[
        bool, typer.Option("--deductive", help="Use the framework's constructs as seeded codes.")
    ] = False,
    seed_codes: Annotated[
        Path | None,
        typer.Option(
            "--seed-codes",
            help="Seeded codes: a YAML file (codes: name + phrases) or 'Name: phrase; phrase' "
            "lines.",
        ),
    ] = None,
    pseudonymize: PseudoOpt = False,
    names: NamesOpt = None,
) -> None:
    """Run the whole pipeline: transcripts in, candidate codes and a report out."""
    from cppthemes.config import load_config

    overrides = list(set_ or []) + ([f"cluster.n_codes={codes}"] if codes is not None else [])
    overrides += [f'cluster.granularity="{granularity}"'] if granularity else []
    overrides += [f"embed.model={json.dumps(model)}"] if model else []
    overrides += [f"embed.engine={json.dumps(engine)}"] if engine else []
    overrides += _ingest_overrides(fmt, columns, manifest, meta_from_name, facilitator, strict)
    overrides += [f'segment.strategy="{segment}"'] if segment is not None else []
    overrides += [f"codebook.framework={json.dumps(framework)}"] if framework else []
    overrides += ["codebook.deductive=true"] if deductive else []
    overrides += [f"codebook.seed_codes={json.dumps(str(seed_codes))}"] if seed_codes else []
    overrides += ["privacy.pseudonymize=true"] if pseudonymize else []
    overrides += [f"privacy.names_file={json.dumps(str(names))}"] if names else []
    cfg = load_config(config, overrides)
    _run_and_write(cfg, [str(p) for p in paths], out, codebook, cache_dir, quiet)


def _run_and_write(
    cfg: Any,
    paths: list[str],
    out: Path,
    codebook: Path | None,
    cache_dir: Path | None,
    quiet: bool,
) -> None:
    """Shared by `run` and `refine`: run the pipeline (with a codebook), write, summarise."""
    from cppthemes.cli.progress import StageProgress
    from cppthemes.codebook.rerun import load_plan
    from cppthemes.embed.embedder import EmbeddingCache, default_cache_dir
    from cppthemes.pipeline import run as run_pipeline
    from cppthemes.proctime import age
    from cppthemes.pseudonymize import pseudonym_map_path, read_pseudonyms
    from cppthemes.runfolder import FILES, run_summary, write_run

    cache = EmbeddingCache(cache_dir or default_cache_dir())
    loaded = load_plan(codebook) if codebook is not None else None
    known = read_pseudonyms(pseudonym_map_path(out)) if cfg.privacy.pseudonymize else None

    with StageProgress(err, enabled=not quiet) as bars:
        startup = age()
        result = run_pipeline(
            paths,
            cfg,
            cache=cache,
            on_progress=bars.update,
            on_skip=_print_skipped,
            plan=loaded.plan if loaded else None,
            previous=loaded.previous if loaded else None,
            pseudonyms=known,
            on_note=lambda message: bars.note(message),
        )
        bars.update("write", 0, len(FILES))
        written = write_run(
            result,
            cfg,
            out,
            paths,
            codebook_base=loaded.base if loaded else None,
            on_backup=lambda path: err.print(
                f"note: codebook.yaml was edited since the last run; kept it as {path}",
                markup=False,
            ),
            startup_s=startup,
        )
        bars.update("write", len(FILES), len(FILES))
    runs = [e.get("run") for e in result.audit]
    for event in result.audit:
        if event.get("run") != (runs[-1] if runs else None):
            continue
        if event["rule"] == "not applied":
            err.print(f"not applied: {event['code']}: {event['what']}", markup=False)
        elif event["rule"] == "empty":
            err.print(f"note: {event['code']}: {event['what']}", markup=False)
    warnings: list[dict[str, Any]] = result.info.get("warnings") or []  # type: ignore[assignment]
    for warning in warnings:
        where = f"{warning['path']}:{warning['line']}" if warning.get("line") else warning["path"]
        err.print(f"warning: {where}: {warning['reason']}", markup=False)
    if cache.problem:
        err.print(f"warning: {cache.problem}", markup=False)
    for note in result.info.get("notes") or []:  # type: ignore[attr-defined]
        err.print(f"note: {note}", markup=False)
    if not result.codes:
        from cppthemes.cluster.codes import why_nothing_coded

        err.print(
            f"note: {why_nothing_coded(result.segment_stats.passages, cfg.cluster)}", markup=False
        )
    if not quiet:
        err.print(run_summary(result, out), markup=False)
        if result.pseudonyms:
            err.print(
                f"{len(set(result.pseudonyms.values()))} people pseudonymised; the mapping "
                f"(keep it private) is {pseudonym_map_path(out)}",
                markup=False,
            )
    for path in written:
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
    from cppthemes.codebook.rerun import run_settings

    cfg, paths = run_settings(run_dir, list(set_ or []))
    _run_and_write(cfg, paths, out or run_dir, run_dir / "codebook.yaml", cache_dir, quiet)


@app.command("codes")
@reports_errors
def codes_table(
    run_dir: Annotated[Path, typer.Argument(help="A run folder.")],
) -> None:
    """The run's codes as a table: id, label, size, prevalence, stability, status."""
    from cppthemes.cli.review import code_rows

    table = Table(
        "id",
        "label",
        "size",
        "speakers",
        "transcripts",
        "stability",
        "status",
        "theme",
        title=str(run_dir),
    )
    for row in code_rows(run_dir):
        table.add_row(*row)
    Console(highlight=False).print(table)


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
    from cppthemes.accounting import corpus_warnings, fail_on_warnings
    from cppthemes.config import load_config
    from cppthemes.files import atomic_write_text
    from cppthemes.ingest import load_corpus, summarise, turns_jsonl

    overrides = list(set_ or [])
    overrides += _ingest_overrides(fmt, columns, manifest, meta_from_name, facilitator, strict)
    cfg = load_config(config, overrides)
    corpus = load_corpus(
        paths, cfg.ingest, known_facilitators=cfg.segment.facilitators, on_skip=_print_skipped
    )
    _, warned = corpus_warnings(corpus.transcripts, cfg.segment, earlier=corpus.warnings)
    if cfg.ingest.strict:
        fail_on_warnings(warned)
    table = Table("source", "format", "turns", "speakers", "facilitator", "words", "metadata")
    for row in summarise(corpus.transcripts):
        table.add_row(*row)
    err.print(table)
    for warning in warned:
        err.print(f"warning: {warning}", markup=False)
    if corpus.skipped:
        err.print(f"{len(corpus.skipped)} files skipped (listed above)", markup=False)
    if out is not None:
        text = turns_jsonl(corpus.transcripts)
        atomic_write_text(out, text)
        err.print(f"wrote {text.count(chr(10))} turns to {out}", markup=False)


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
    from cppthemes.evaluate import file_notes, read_gold, score_run, score_segmentation
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
    scores = score_run(run_dir, gold, per_file_labels=per_file_labels)
    if as_json:
        typer.echo(json.dumps(scores.as_dict(), indent=2))
        return
    table = Table("measure", "value", title=f"{run_dir} vs {gold}")
    for key, value in scores.as_dict().items():
        if not isinstance(value, list):
            table.add_row(key, f"{value:.3f}" if isinstance(value, float) else str(value))
    Console(highlight=False).print(table)
    for note in file_notes(scores):
        err.print(f"note: {note}", markup=False)


@app.command()
@reports_errors
def export(
    run_dir: Annotated[Path, typer.Argument(help="A run folder written by `cppthemes run`.")],
    to: Annotated[
        str, typer.Option("--to", help="qdpx, qdc, csv, xlsx, html or md.", show_default=False)
    ],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Folder to write into (default: RUN_DIR).")
    ] = None,
) -> None:
    """Regenerate an output from a run folder, without running the pipeline again."""
    from cppthemes.runfolder import export_run

    for path in export_run(run_dir, to, out):
        typer.echo(str(path))


model_app = typer.Typer(
    help="Embedding models: build the static one (distill) or the ONNX ones (export-onnx).",
    no_args_is_help=True,
)
app.add_typer(model_app, name="model")


@model_app.command("distill")
@reports_errors
def model_distill(
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Folder (default: in the user cache).")
    ] = None,
    dims: Annotated[int, typer.Option("--dims", help="PCA dimensions (0 = keep all).")] = 256,
) -> None:
    """Distil the packaged model into a static one (Model2Vec) for `--model static`."""
    from cppthemes.embed.static_model import distill

    err.print("distilling the packaged model (about a minute)...", markup=False)
    typer.echo(str(distill(out, pca_dims=dims or None)))


@model_app.command("export-onnx")
@reports_errors
def model_export_onnx(
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Folder (default: in the user cache).")
    ] = None,
    no_quantize: Annotated[
        bool,
        typer.Option("--no-quantize", help="Keep float weights (for `--model onnx-fp32`)."),
    ] = False,
) -> None:
    """Export the packaged model to ONNX, int8, for `--model onnx-int8` (needs the onnx extra)."""
    from cppthemes.embed.onnx_model import export

    err.print("exporting the packaged model to ONNX (about 10 seconds)...", markup=False)
    typer.echo(str(export(out, quantize=not no_quantize)))


def main() -> None:
    """Console-script entry point."""
    app()
