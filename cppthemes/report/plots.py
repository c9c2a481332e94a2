"""Figures for report.html, written directly as SVG text (no plotting library).

Each function returns an SVG document as text. Every label and tooltip is XML-escaped, with
the characters XML forbids removed, so participants' words can never act as markup, whether
the report embeds the figure as a ``data:`` image (the theme tree) or inline (the passage map,
for its tooltips). The heatmap is an HTML table now (its numbers are links); the colour scale
here is shared with it. Written by hand rather than with matplotlib: drawing the heatmap of
swda-small's codes took matplotlib about 7 s of a 23 s rerun on the 2-core machine, importing
it more; the figures are rectangles, markers and text, and plain string formatting makes the
same picture in milliseconds, deterministic by construction. Text widths are estimated (0.6 em a
character), which is all the layout needs: margins, never clipping.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from xml.sax.saxutils import escape

import numpy as np

from cppthemes.palette import PALETTE, code_colour

UNCODED = "#c8c8c8"
FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"
# ColorBrewer's 9-class Blues (what matplotlib's "Blues" colormap interpolates).
BLUES = (
    "#f7fbff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c",
    "#08306b",
)  # fmt: skip
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: str) -> str:
    """Text content safe inside an SVG element: escaped, without characters XML forbids."""
    return escape(_NOT_XML.sub("", value), {'"': "&quot;"})


def _width(value: str, size: float) -> float:
    return 0.6 * size * len(value)


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return int(hex_colour[1:3], 16), int(hex_colour[3:5], 16), int(hex_colour[5:7], 16)


def blues(fraction: float) -> str:
    """The colour at ``fraction`` (0..1) along the Blues scale, linearly interpolated."""
    f = min(1.0, max(0.0, fraction)) * (len(BLUES) - 1)
    i = min(int(f), len(BLUES) - 2)
    a, b = _rgb(BLUES[i]), _rgb(BLUES[i + 1])
    t = f - i
    mixed = (round(x + (y - x) * t) for x, y in zip(a, b, strict=True))
    return "#{:02x}{:02x}{:02x}".format(*mixed)


def _document(width: float, height: float, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="{FONT}">\n'
        f'<rect width="100%" height="100%" fill="#ffffff"/>\n' + "\n".join(body) + "\n</svg>\n"
    )


def _marker(shape: int, x: float, y: float, r: float, fill: str, title: str = "") -> str:
    """A circle, triangle (shape 1) or square (shape 2); ``title`` becomes its tooltip."""
    if shape == 1:  # triangle
        tag, attrs = (
            "polygon",
            (
                f'points="{x:.1f},{y - r * 1.2:.1f} {x - r * 1.1:.1f},{y + r * 0.8:.1f} '
                f'{x + r * 1.1:.1f},{y + r * 0.8:.1f}"'
            ),
        )
    elif shape == 2:  # square
        tag, attrs = (
            "rect",
            (
                f'x="{x - r * 0.9:.1f}" y="{y - r * 0.9:.1f}" width="{r * 1.8:.1f}" '
                f'height="{r * 1.8:.1f}"'
            ),
        )
    else:
        tag, attrs = "circle", f'cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}"'
    if title:
        return f'<{tag} {attrs} fill="{fill}"><title>{_text(title)}</title></{tag}>'
    return f'<{tag} {attrs} fill="{fill}"/>'


def map_svg(
    xy: np.ndarray,
    code_index: Sequence[int],
    legend: Sequence[str],
    uncoded: int,
    hover: Sequence[str] | None = None,
    marks: Sequence[str] | None = None,
) -> str:
    """Passages on their 2-D map; colour = group ``k`` of ``legend`` (a theme), grey = uncoded.

    ``hover`` gives each point a tooltip (inline SVG shows ``<title>``); ``marks`` a short
    name drawn at the centre of each group's points, so the map reads without the legend.
    """
    plot_x, plot_y, plot_w, plot_h = 40.0, 12.0, 560.0, 520.0
    entries = ([(-1, f"uncoded ({uncoded})")] if uncoded else []) + list(enumerate(legend))
    legend_x = plot_x + plot_w + 16
    width = legend_x + 24 + max((_width(name, 11) for _, name in entries), default=0.0) + 12
    height = max(plot_y + plot_h + 40, plot_y + 16 * len(entries) + 12)
    index = np.asarray(code_index, dtype=int)
    points = np.asarray(xy, dtype=float).reshape(-1, 2)
    body = [
        f'<rect x="{plot_x:.1f}" y="{plot_y:.1f}" width="{plot_w:.1f}" height="{plot_h:.1f}" '
        'fill="none" stroke="#888888" stroke-width="0.8"/>'
    ]
    if len(points):
        low, high = points.min(axis=0), points.max(axis=0)
        span = np.where(high - low > 0, high - low, 1.0)
        pad = 0.04
        sx = plot_x + plot_w * (pad + (1 - 2 * pad) * (points[:, 0] - low[0]) / span[0])
        sy = plot_y + plot_h * (1 - pad - (1 - 2 * pad) * (points[:, 1] - low[1]) / span[1])
        for k in [-1, *range(len(legend))]:  # uncoded underneath, then codes in order
            mask = np.flatnonzero(index == k) if k >= 0 else np.flatnonzero(index < 0)
            fill = UNCODED if k < 0 else code_colour(k)
            # Colours repeat after 20 groups; the marker tells such groups apart.
            shape = 0 if k < 0 else (k // len(PALETTE)) % 3
            radius = 1.8 if k < 0 else 2.3
            tips = hover if hover is not None else [""] * len(points)
            body.extend(_marker(shape, sx[i], sy[i], radius, fill, tips[int(i)]) for i in mask)
        for k, mark in enumerate(marks or []):
            mask = np.flatnonzero(index == k)
            if len(mask):
                body.append(
                    f'<text x="{sx[mask].mean():.1f}" y="{sy[mask].mean():.1f}" font-size="13" '
                    'font-weight="bold" text-anchor="middle" dominant-baseline="central" '
                    'stroke="#ffffff" stroke-width="3" paint-order="stroke" fill="#1d232a">'
                    f"{_text(mark)}</text>"
                )
    body.append(
        f'<text x="{plot_x + plot_w / 2:.1f}" y="{plot_y + plot_h + 22:.1f}" font-size="12" '
        'text-anchor="middle">first principal component of the passage vectors</text>'
    )
    cx, cy = plot_x - 14, plot_y + plot_h / 2
    body.append(
        f'<text x="{cx:.1f}" y="{cy:.1f}" font-size="12" text-anchor="middle" '
        f'transform="rotate(-90 {cx:.1f} {cy:.1f})">second principal component</text>'
    )
    for n, (k, name) in enumerate(entries):
        y = plot_y + 8 + 16 * n
        fill = UNCODED if k < 0 else code_colour(k)
        shape = 0 if k < 0 else (k // len(PALETTE)) % 3
        body.append(_marker(shape, legend_x + 6, y, 4.0, fill))
        body.append(
            f'<text x="{legend_x + 16:.1f}" y="{y:.1f}" font-size="11" '
            f'dominant-baseline="central">{_text(name)}</text>'
        )
    return _document(width, height, body)
