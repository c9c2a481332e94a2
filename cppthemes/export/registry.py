"""EXPORTS: every format ``cppthemes export --to`` regenerates, and what ``run`` writes.

The single source of truth for output formats: the ``--to`` help, its check, and the files a
run renders all come from this table. A new format is one entry: a name and a function from
a run's ``Result`` to {file name: text or bytes}. tests/test_registries.py runs every entry
through the same checks (deterministic, non-empty, names within the run folder).
"""

from __future__ import annotations

from collections.abc import Callable

from cppthemes.records import Result

Rendered = dict[str, str | bytes]
Export = Callable[[Result], Rendered]

# Each writer imports its module when it runs, so that importing this table (every command
# does, through cppthemes/runfolder.py) loads neither lxml, openpyxl nor Jinja.


def _qdpx(r: Result) -> Rendered:
    from cppthemes.export.qdpx import render_qdpx

    return {"project.qdpx": render_qdpx(r)}


def _qdc(r: Result) -> Rendered:
    from cppthemes.export.qdpx import render_qdc

    return {"codebook.qdc": render_qdc(r)}


def _csv(r: Result) -> Rendered:
    from cppthemes.export.tables import codes_csv, passages_csv

    return {"codes.csv": codes_csv(r), "passages.csv": passages_csv(r)}


def _xlsx(r: Result) -> Rendered:
    from cppthemes.export.xlsx import render_xlsx

    return {"tables.xlsx": render_xlsx(r)}


def _html(r: Result) -> Rendered:
    from cppthemes.report.html import render_html

    return {"report.html": render_html(r)}


def _md(r: Result) -> Rendered:
    from cppthemes.report.markdown import render_markdown

    return {"report.md": render_markdown(r)}


EXPORTS: dict[str, Export] = {
    "qdpx": _qdpx,
    "qdc": _qdc,
    "csv": _csv,
    "xlsx": _xlsx,
    "html": _html,
    "md": _md,
}
