"""The command line's options: declared once, shared by the commands that take them.

`run --help` groups its options in panels (input, passages, codes, output, speed, settings);
`ingest` shares the input ones. Kept apart from cli/app.py so each command reads as what it
does, not as its option declarations.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

INPUT, PASSAGES, CODES, OUTPUT, SPEED, SETTINGS = (
    "Input", "Passages", "Codes", "Output", "Speed", "Settings",
)  # fmt: skip
RUN_EXAMPLES = """[bold]Examples[/bold]

  cppthemes run interviews/ --out study    [dim]# manifest.csv beside them: metadata[/dim]

  cppthemes run interviews/ --codes 20 --granularity fine

  cppthemes run sessions.xlsx --columns speaker=Who,text=Said,file=Interview

  cppthemes run more/ --codebook study/codebook.yaml --out study2    [dim]# your edits[/dim]

  cppthemes run interviews/ --model onnx-int8 --set embed.threads=2    [dim]# faster[/dim]

  cppthemes run waves/ --set 'export.people_by=["cohort", "site"]'    [dim]# cases[/dim]

Every setting, with its default and meaning: configs/default.toml."""
PathsArg = Annotated[
    list[Path], typer.Argument(help="Transcript files or folders.", rich_help_panel=INPUT)
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="TOML settings.", rich_help_panel=SETTINGS),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a setting: section.key=value.", rich_help_panel=SETTINGS),
]
FormatOpt = Annotated[
    str | None,
    typer.Option(
        "--format",
        help="Read every file as: text, docx, vtt, srt, json, csv, tsv or xlsx.",
        rich_help_panel=INPUT,
    ),
]
ColumnsOpt = Annotated[
    str | None,
    typer.Option(
        "--columns",
        help="Table columns, e.g. speaker=Who,text=Said[,time=Start,file=Interview].",
        rich_help_panel=INPUT,
    ),
]
ManifestOpt = Annotated[
    Path | None,
    typer.Option("--manifest", help="Metadata per file (.csv or .yaml).", rich_help_panel=INPUT),
]
MetaOpt = Annotated[
    str | None,
    typer.Option(
        "--meta-from-name",
        help='Attributes from file names, e.g. "{site}_{wave}".',
        rich_help_panel=INPUT,
    ),
]
FacilitatorOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--facilitator", help="Speaker who is the facilitator (repeatable).", rich_help_panel=INPUT
    ),
]
PseudoOpt = Annotated[
    bool,
    typer.Option(
        "--pseudonymize",
        help="Replace people's names with P01, P02, ... in every output; the mapping is kept "
        "beside the run folder.",
        rich_help_panel=OUTPUT,
    ),
]
NamesOpt = Annotated[
    Path | None,
    typer.Option(
        "--names",
        help="Names to pseudonymise, one a line (with --pseudonymize).",
        rich_help_panel=OUTPUT,
    ),
]
StrictOpt = Annotated[
    bool,
    typer.Option(
        "--strict",
        help="Stop at the first file that cannot be read, and treat warnings as errors.",
        rich_help_panel=INPUT,
    ),
]


# The options of `run` alone.
SegmentOpt = Annotated[
    str | None,
    typer.Option(
        "--segment",
        help="Segmentation strategy: turn, window or topic.",
        rich_help_panel=PASSAGES,
    ),
]
CodesOpt = Annotated[
    int | None,
    typer.Option("--codes", help="Approximate number of codes wanted.", rich_help_panel=CODES),
]
GranularityOpt = Annotated[
    str | None,
    typer.Option("--granularity", help="coarse, medium or fine codes.", rich_help_panel=CODES),
]
CodebookOpt = Annotated[
    Path | None,
    typer.Option(
        "--codebook",
        help="An edited codebook.yaml (or a REFI-QDA .qdc) to apply.",
        rich_help_panel=CODES,
    ),
]
FrameworkOpt = Annotated[
    str | None,
    typer.Option(
        "--framework",
        help="Map codes to a framework: cfir, or a YAML file.",
        rich_help_panel=CODES,
    ),
]
DeductiveOpt = Annotated[
    bool,
    typer.Option(
        "--deductive",
        help="Use the framework's constructs as seeded codes.",
        rich_help_panel=CODES,
    ),
]
OutOpt = Annotated[Path, typer.Option("--out", "-o", help="Run folder.", rich_help_panel=OUTPUT)]
QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress messages.", rich_help_panel=OUTPUT)
]
SeedCodesOpt = Annotated[
    Path | None,
    typer.Option(
        "--seed-codes",
        help="Seeded codes: a YAML file (codes: name + phrases) or 'Name: phrase; phrase' lines.",
        rich_help_panel=CODES,
    ),
]
ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        help="Embedding model: a name, a folder, 'multilingual', 'static', 'onnx-int8' or "
        "'onnx-fp32'.",
        rich_help_panel=SPEED,
    ),
]
EngineOpt = Annotated[
    str | None,
    typer.Option("--engine", help="Where to embed: local or dask.", rich_help_panel=SPEED),
]
CacheDirOpt = Annotated[
    Path | None,
    typer.Option("--cache-dir", help="Embedding cache folder.", rich_help_panel=SPEED),
]
