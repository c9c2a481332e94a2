"""The commands that read a finished run folder or build models: evaluate, export, model.

Registered on the one ``app`` of cppthemes/cli/app.py; each parses, calls one library
function and prints.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from cppthemes.cli.app import app, err, reports_errors


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
    from cppthemes.codec import read_passages
    from cppthemes.evaluate import file_notes, read_gold, score_run, score_segmentation

    if segmentation:
        seg = score_segmentation(read_passages(run_dir), read_gold(gold), gold_name=str(gold))
        if as_json:
            typer.echo(json.dumps(seg.as_dict(), indent=2))
        else:
            _print_segmentation(seg, f"{run_dir} vs {gold} (lower is better)")
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


def _print_segmentation(seg: Any, title: str) -> None:
    table = Table("segmentation", "Pk", "WindowDiff", title=title)
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
