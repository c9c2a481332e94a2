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
import hashlib
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
from jinja2 import Environment, FileSystemBytecodeCache, PackageLoader, StrictUndefined
from jinja2.bccache import Bucket
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup, escape

from cppthemes.palette import code_colour
from cppthemes.records import Result
from cppthemes.report.context import (
    ReportContext,
    build_context,
    run_setting,
    theme_tree,
)
from cppthemes.report.workspace import build_workspace

_OPTIONS: dict[str, Any] = {
    "autoescape": True,
    "undefined": StrictUndefined,
    "trim_blocks": True,
    "lstrip_blocks": True,
    "keep_trailing_newline": True,
}


class _Bytecode(FileSystemBytecodeCache):
    """Jinja's bytecode cache in the user cache folder, never an error.

    Compiling report.html.j2 took a quarter of a second of every run; the compiled code is
    kept per template source (Jinja's checksum), Jinja and Python version and environment
    settings (the folder name), so it is recompiled whenever any of them changes. A cache
    that cannot be read or written only costs the compile.
    """

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception:  # a damaged file: compile again
            bucket.reset()

    def dump_bytecode(self, bucket: Bucket) -> None:
        try:
            Path(self.directory).mkdir(parents=True, exist_ok=True, mode=0o700)
            super().dump_bytecode(bucket)
        except OSError:
            pass


def _bytecode_cache() -> _Bytecode | None:
    import jinja2
    from platformdirs import user_cache_dir

    settings = repr(sorted((k, getattr(v, "__name__", v)) for k, v in _OPTIONS.items()))
    tag = hashlib.sha256(f"{jinja2.__version__}|{settings}".encode()).hexdigest()[:16]
    try:
        folder = Path(user_cache_dir("cppthemes", appauthor=False)) / "templates" / tag
    except Exception:  # no home folder to put a cache in
        return None
    return _Bytecode(str(folder))


def _environment(cached: bool = False) -> Environment:
    """The report's Jinja environment; ``cached``: with the bytecode cache (``_Bytecode``)."""
    return Environment(
        loader=PackageLoader("cppthemes.report", "templates"),
        bytecode_cache=_bytecode_cache() if cached else None,
        **_OPTIONS,
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


def _tojson(env: Environment) -> Callable[[Any], str]:
    """Jinja's ``tojson`` filter of ``env`` (its policies), remembered per value."""
    dumps, kwargs = env.policies["json.dumps_function"], env.policies["json.dumps_kwargs"]
    memo: dict[tuple[str, ...], str] = {}

    def tojson(values: list[str]) -> str:
        key = tuple(values)
        found = memo.get(key)
        if found is None:
            found = memo[key] = str(htmlsafe_json_dumps(values, dumps=dumps, **kwargs))
        return found

    return tojson


def _escape(value: Any) -> str:
    """``markupsafe.escape`` as text, for the plain strings a passage item holds."""
    if type(value) is not str:
        return str(escape(value))
    if "&" in value or "<" in value or ">" in value or "'" in value or '"' in value:
        value = value.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")
        value = value.replace("'", "&#39;").replace('"', "&#34;")
    return value


def passage_html(item: dict[str, Any], tojson: Callable[[Any], str]) -> str:
    """One passage's ``<li>`` in a code's passage list, every value escaped as Jinja's
    autoescape does: the markup the template's per-passage loop wrote, at a fiftieth of the
    time (3,000 passages took most of rendering the page). tests/test_write_fast.py
    renders the loop it replaced and compares."""
    e = _escape
    parts = [
        f'<li class="passage" id="p-{e(item["id"])}" data-code="{e(item["code"])}" '
        f'data-theme="{e(item["theme"])}" data-speaker="{e(item["speaker"])}" '
        f"data-groups='{tojson(item['groups'])}'>\n"
    ]
    around = []
    for turn in item["context"]:
        if turn["role"] == "prompt":
            parts.append(f'<p class="asked">Asked: {e(turn["text"])}</p>')
        else:
            around.append(turn)
    parts.append(f'<p class="text">{e(item["text"])}</p>\n<footer>{e(item["where"])}</footer>\n')
    if around:
        parts.append('<details class="around"><summary>Turns around it</summary><ol>\n')
        for turn in around:
            side = "before" if turn["role"] == "before" else "after"
            parts.append(
                f'<li><span class="who">{side}: {e(turn["speaker"])}, line {e(turn["line"])}'
                f"</span> {e(turn['text'])}</li>"
            )
        parts.append("</ol></details>\n")
    parts.append("</li>\n")
    return "".join(parts)


def passages_html(passages: dict[str, list[dict[str, Any]]], env: Environment) -> dict[str, Markup]:
    """Code id ("" = uncoded) -> the ``<li>`` of each of its passages, as markup."""
    tojson = _tojson(env)
    return {
        code: Markup("".join(passage_html(item, tojson) for item in items))
        for code, items in passages.items()
    }


def heat_html(rows: list[dict[str, Any]], columns: int) -> Markup:
    """The heatmap table's rows (workspace.heat_rows) as the template's loop wrote them:
    3,600 cells on swda-small, a third of rendering the page through Jinja."""
    e = _escape
    out = []
    for row in rows:
        if "theme" in row:
            out.append(
                f'<tr class="theme-row"><th colspan="{columns + 1}">{e(row["theme"])}</th></tr>\n'
            )
            continue
        code = e(row["code"]["id"])
        out.append(
            f'<tr><th scope="row"><a href="#{code}">{code}</a> {e(row["code"]["label"])}</th>'
        )
        for cell in row["cells"]:
            dark = ' class="dark"' if cell["dark"] else ""
            out.append(
                f'<td style="background: {e(cell["colour"])}"{dark}><a href="#list-{code}" '
                f'data-code="{code}" data-group="{e(cell["group"])}" title="{e(cell["title"])}">'
                f"{e(cell['count'])}</a></td>"
            )
        out.append("</tr>\n")
    return Markup("".join(out))


def render_html(result: Result) -> str:
    ctx = build_context(result)
    env = _environment(cached=True)
    template = env.get_template("report.html.j2")
    ws = build_workspace(result, ctx)
    return template.render(
        ctx=ctx,
        ws=ws,
        passages_html=passages_html(ws.passages, env),
        heat_html=heat_html(ws.heat_rows, len(ws.heat_columns)),
        figures=_figures(result, ctx),
        script=_script(),
    )
