"""The theme tree as a dendrogram: codes as leaves, joined at their cosine distance.

The report used to list the merge tree as text ("N01 = C03 + C12 at 0.25"), which nobody
reads. Drawn, the same records show which codes sit together under each theme and how far
apart the themes are; the dashed line is where the tree was cut into themes. Written as SVG
text like the other figures (see plots.py for why), every label escaped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cppthemes.report.plots import _document, _text, _width

GREY = "#9aa3ab"


def leaf_order(nodes: Sequence[Mapping[str, Any]]) -> list[str]:
    """Leaves left to right as the tree nests them (children in recorded order)."""
    children = {str(n["id"]): [str(c) for c in n["children"]] for n in nodes}
    inner = {c for kids in children.values() for c in kids}
    roots = [name for name in children if name not in inner]
    order: list[str] = []

    def walk(name: str) -> None:
        stack = [name]
        while stack:
            item = stack.pop()
            if item in children:
                stack.extend(reversed(children[item]))
            else:
                order.append(item)

    for root in roots:
        walk(root)
    return order


def dendrogram_svg(
    nodes: Sequence[Mapping[str, Any]],
    labels: Mapping[str, str],
    colours: Mapping[str, str],
    cut: float | None,
) -> str:
    """Horizontal dendrogram; ``colours`` maps a code id to its theme's colour.

    A link is drawn in a theme's colour when every code beneath it is in that theme, else grey.
    """
    leaves = leaf_order(nodes)
    row, size = 20.0, 12.0
    names = [labels.get(leaf, leaf) for leaf in leaves]
    left = 16 + max((_width(n, size) for n in names), default=0.0)
    plot_w = 360.0
    peak = max([float(n["distance"]) for n in nodes] + [cut or 0.0, 1e-9]) * 1.05
    top = 10.0
    height = top + row * len(leaves) + 40

    def x_at(distance: float) -> float:
        return left + plot_w * distance / peak

    y: dict[str, float] = {leaf: top + row * (k + 0.5) for k, leaf in enumerate(leaves)}
    x: dict[str, float] = {leaf: left for leaf in leaves}
    colour: dict[str, str] = {leaf: colours.get(leaf, GREY) for leaf in leaves}
    body: list[str] = []
    for k, leaf in enumerate(leaves):
        body.append(
            f'<rect x="{left - 12:.1f}" y="{y[leaf] - 5:.1f}" width="8" height="10" '
            f'fill="{colour[leaf]}"/>'
        )
        body.append(
            f'<text x="{left - 16:.1f}" y="{y[leaf]:.1f}" font-size="{size:.0f}" '
            f'text-anchor="end" dominant-baseline="central">{_text(names[k])}</text>'
        )
    for n in nodes:
        a, b = (str(c) for c in n["children"])
        if a not in y or b not in y:
            continue
        name, at = str(n["id"]), x_at(float(n["distance"]))
        colour[name] = colour[a] if colour[a] == colour[b] else GREY
        for child in (a, b):
            body.append(
                f'<path d="M{x[child]:.1f},{y[child]:.1f} H{at:.1f}" stroke="{colour[child]}" '
                'stroke-width="1.6" fill="none"/>'
            )
        body.append(
            f'<path d="M{at:.1f},{y[a]:.1f} V{y[b]:.1f}" stroke="{colour[name]}" '
            f'stroke-width="1.6" fill="none"><title>{_text(name)}: {float(n["distance"]):.2f}'
            "</title></path>"
        )
        x[name], y[name] = at, (y[a] + y[b]) / 2
    axis_y = top + row * len(leaves) + 8
    body.append(
        f'<path d="M{left:.1f},{axis_y:.1f} H{left + plot_w:.1f}" stroke="#666666" '
        'stroke-width="0.8"/>'
    )
    for k in range(5):
        value = peak * k / 4
        tx = x_at(value)
        body.append(
            f'<text x="{tx:.1f}" y="{axis_y + 13:.1f}" font-size="10" '
            f'text-anchor="middle">{value:.2f}</text>'
        )
    body.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{axis_y + 28:.1f}" font-size="11" '
        'text-anchor="middle">cosine distance between code centres (average linkage)</text>'
    )
    if cut is not None and cut > 0:
        cx = x_at(cut)
        body.append(
            f'<path d="M{cx:.1f},{top:.1f} V{axis_y:.1f}" stroke="#b45309" stroke-width="1" '
            f'stroke-dasharray="4 3"><title>themes cut at {cut:.2f}</title></path>'
        )
    return _document(left + plot_w + 24, height, body)
