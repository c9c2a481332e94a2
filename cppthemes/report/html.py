"""report.html: one self-contained page (inline CSS, figures as data: URIs, no scripts).

Rendered with Jinja2 with autoescaping on, so every transcript word is escaped. Figures are
matplotlib SVGs embedded as base64 ``data:`` images: the page needs no network and no files
beside it, and nothing from a transcript can become markup or script.
"""

from __future__ import annotations

import base64

import numpy as np
from jinja2 import Environment, PackageLoader, StrictUndefined

from cppthemes.records import Result
from cppthemes.report.context import ReportContext, build_context


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("cppthemes.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


MAX_HEATMAP_COLUMNS = 60


def _data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def _figures(result: Result, ctx: ReportContext) -> dict[str, str | None]:
    from cppthemes.report.plots import heatmap_svg, map_svg

    hm = ctx.heatmap
    heat = None
    note = None
    if len(hm.columns) > MAX_HEATMAP_COLUMNS:
        # One column per transcript in a folder of 2,000 files: a figure 1,500 inches wide that
        # took minutes and gigabytes to draw, and that nobody could read (docs/robustness.md).
        note = (
            f"{len(hm.columns):,} groups are too many for a heatmap (at most "
            f"{MAX_HEATMAP_COLUMNS}); each code below lists its passages per group."
        )
    elif hm.rows and hm.columns:
        heat = _data_uri(heatmap_svg(hm.rows, hm.columns, hm.counts, hm.shares))
    passage_map = None
    placed = [p for p in result.passages if p.id in result.coords]
    if placed:
        index = {c.id: i for i, c in enumerate(result.codes)}
        xy = np.array([result.coords[p.id] for p in placed], dtype=float)
        code_index = [index.get(str(result.passage_codes.get(p.id)), -1) for p in placed]
        legend = [f"{c.id} {c.label}" for c in result.codes]
        uncoded = sum(1 for k in code_index if k < 0)
        passage_map = _data_uri(map_svg(xy, code_index, legend, uncoded))
    return {"heatmap": heat, "map": passage_map, "heatmap_note": note}


def render_html(result: Result) -> str:
    ctx = build_context(result)
    template = _environment().get_template("report.html.j2")
    return template.render(ctx=ctx, figures=_figures(result, ctx))
