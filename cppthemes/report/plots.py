"""Figures for report.html, drawn with matplotlib (Agg, no display) as inline SVG.

Each function returns an SVG document as text. The report embeds it as a base64 ``data:``
image, so participants' words in labels can never act as markup in the page. SVG output is
made deterministic: no date in the metadata and a fixed hash salt for element ids.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

from cppthemes.palette import PALETTE, code_colour

UNCODED = "#c8c8c8"
_RC: dict[str, Any] = {"svg.hashsalt": "cppthemes", "svg.fonttype": "none", "font.size": 9}


def _svg(fig: plt.Figure) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    return buffer.getvalue()


def heatmap_svg(
    rows: Sequence[str], columns: Sequence[str], counts: np.ndarray, shares: np.ndarray
) -> str:
    """Codes x groups: colour = share of the group's passages in the code; text = count."""
    with plt.rc_context(_RC):  # type: ignore[arg-type]
        height = 1.2 + 0.32 * len(rows)
        width = 2.8 + 0.75 * len(columns)
        fig, ax = plt.subplots(figsize=(width, height))
        image = ax.imshow(shares * 100, aspect="auto", cmap="Blues", vmin=0)
        ax.set_xticks(range(len(columns)), labels=list(columns), rotation=40, ha="right")
        ax.set_yticks(range(len(rows)), labels=list(rows))
        ax.tick_params(length=0)
        top = float(shares.max()) * 100 if shares.size else 0.0
        for i in range(len(rows)):
            for j in range(len(columns)):
                dark = top > 0 and shares[i, j] * 100 > top * 0.6
                ax.text(
                    j, i, str(int(counts[i, j])), ha="center", va="center", fontsize=8,
                    color="white" if dark else "#222222",
                )  # fmt: skip
        bar = fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02)
        bar.set_label("% of the group's passages")
        for spine in ax.spines.values():
            spine.set_visible(False)
        return _svg(fig)


def map_svg(xy: np.ndarray, code_index: Sequence[int], legend: Sequence[str], uncoded: int) -> str:
    """Passages on their 2-D map; colour = code (by position in the codebook), grey = uncoded."""
    with plt.rc_context(_RC):  # type: ignore[arg-type]
        fig, ax = plt.subplots(figsize=(8.5, 6.0))
        index = np.asarray(code_index, dtype=int)
        if uncoded:
            mask = index < 0
            ax.scatter(xy[mask, 0], xy[mask, 1], s=10, c=UNCODED, label=f"uncoded ({uncoded})")
        for k, name in enumerate(legend):
            mask = index == k
            if mask.any():
                # Colours repeat after 20 codes; the marker tells such codes apart.
                marker = ("o", "^", "s")[(k // len(PALETTE)) % 3]
                ax.scatter(
                    xy[mask, 0], xy[mask, 1], s=16, c=code_colour(k), marker=marker, label=name
                )
        ax.set_xlabel("first principal component of the passage vectors")
        ax.set_ylabel("second principal component")
        ax.set_xticks([])
        ax.set_yticks([])
        if legend or uncoded:
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=8)
        return _svg(fig)
