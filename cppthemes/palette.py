"""Code colours shared by every output (report map, REFI-QDA code colours)."""

from __future__ import annotations

# Matplotlib's tab20 order, the darker shade first: 20 distinguishable colours, then repeats.
PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94",
    "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5",
)  # fmt: skip


def code_colour(index: int) -> str:
    """Colour of the ``index``-th code (0-based, codebook order) in every output."""
    return PALETTE[index % len(PALETTE)]
