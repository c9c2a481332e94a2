"""EXPORTS: every format ``cppthemes export --to`` regenerates, and what ``run`` writes.

The single source of truth for output formats: the ``--to`` help, its check, and the files a
run renders all come from this table. A new format is one entry: a name and a function from
a run's ``Result`` to {file name: text or bytes}. tests/test_registries.py runs every entry
through the same checks (deterministic, non-empty, names within the run folder).
"""

from __future__ import annotations

from collections.abc import Callable

from cppthemes.export.qdpx import render_qdc, render_qdpx
from cppthemes.export.tables import codes_csv, passages_csv
from cppthemes.export.xlsx import render_xlsx
from cppthemes.records import Result
from cppthemes.report import render_html, render_markdown

Rendered = dict[str, str | bytes]
Export = Callable[[Result], Rendered]

EXPORTS: dict[str, Export] = {
    "qdpx": lambda r: {"project.qdpx": render_qdpx(r)},
    "qdc": lambda r: {"codebook.qdc": render_qdc(r)},
    "csv": lambda r: {"codes.csv": codes_csv(r), "passages.csv": passages_csv(r)},
    "xlsx": lambda r: {"tables.xlsx": render_xlsx(r)},
    "html": lambda r: {"report.html": render_html(r)},
    "md": lambda r: {"report.md": render_markdown(r)},
}
