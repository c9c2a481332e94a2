"""report.html: one self-contained page, a place to work rather than a poster.

Rendered with Jinja2 with autoescaping on, so every transcript word is escaped. Everything is in
the HTML itself (inline CSS, a small inline script, figures as SVG): the page needs no network
and no files beside it, and reads with scripts off (lists are ``<details>``, the heatmap a
table of links). The script only searches, filters and sorts what the page already holds.

The theme tree is a base64 ``data:`` image; the passage map is inline SVG, so each dot can
carry a tooltip. Both are written by our own code with every label XML-escaped (plots.py), so
nothing from a transcript can become markup in either.
"""

from __future__ import annotations

import base64
from importlib.resources import files

import numpy as np
from jinja2 import Environment, PackageLoader, StrictUndefined

from cppthemes.palette import code_colour
from cppthemes.records import Result
from cppthemes.report.context import (
    ReportContext,
    build_context,
    run_setting,
    theme_tree,
)
from cppthemes.report.workspace import build_workspace


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


def theme_colours(result: Result) -> dict[str, str]:
    """Code id -> its theme's colour (themes in codebook order; loose codes grey)."""
    return {cid: code_colour(k) for k, t in enumerate(result.themes) for cid in t.code_ids}


def _tree_figure(result: Result) -> str | None:
    from cppthemes.report.dendrogram import dendrogram_svg

    nodes = theme_tree(result)
    if not nodes:
        return None
    labels = {c.id: f"{c.id} {c.label}" for c in result.codes}
    cut = None
    # A distance cut is a line on the tree; the adaptive rule picks a number of themes instead
    # (run folders from before it record no method: they were cut at the distance).
    method = run_setting(result, "themes", "method", "distance")
    if method == "distance" and not run_setting(result, "themes", "n_themes", 0):
        cut = float(run_setting(result, "themes", "distance_threshold", 0.0) or 0.0)
    return _data_uri(dendrogram_svg(nodes, labels, theme_colours(result), cut))


def _map_figure(result: Result) -> str | None:
    from cppthemes.report.plots import map_svg

    placed = [p for p in result.passages if p.id in result.coords]
    if not placed:
        return None
    theme_index = {cid: k for k, t in enumerate(result.themes) for cid in t.code_ids}
    labels = {c.id: c.label for c in result.codes}
    xy = np.array([result.coords[p.id] for p in placed], dtype=float)
    index, hover = [], []
    for p in placed:
        code = result.passage_codes.get(p.id)
        index.append(theme_index.get(str(code), -1))
        what = f"{code} {labels.get(str(code), '')}" if code else "uncoded"
        hover.append(f"{what} — {p.speaker}, {p.source} line {p.line_start}")
    legend = [f"{t.id} {t.label}" for t in result.themes]
    uncoded = sum(1 for k in index if k < 0)
    return map_svg(xy, index, legend, uncoded, hover=hover, marks=[t.id for t in result.themes])


def _figures(result: Result, ctx: ReportContext) -> dict[str, str | None]:
    note = None
    if len(ctx.heatmap.columns) > MAX_HEATMAP_COLUMNS:
        # One column per transcript in a folder of 2,000 files: a table nobody could read
        # (docs/robustness.md); each code lists its passages per group instead.
        note = (
            f"{len(ctx.heatmap.columns):,} groups are too many for a heatmap (at most "
            f"{MAX_HEATMAP_COLUMNS}); each code below lists its passages per group."
        )
    elif not (ctx.heatmap.rows and ctx.heatmap.columns):
        note = "No groups to compare."
    return {"tree": _tree_figure(result), "map": _map_figure(result), "heatmap_note": note}


def _script() -> str:
    return files("cppthemes.report").joinpath("templates/report.js").read_text(encoding="utf-8")


def render_html(result: Result) -> str:
    ctx = build_context(result)
    template = _environment().get_template("report.html.j2")
    return template.render(
        ctx=ctx,
        ws=build_workspace(result, ctx),
        figures=_figures(result, ctx),
        script=_script(),
    )
