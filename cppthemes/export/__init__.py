"""Exports: the run's results in forms other tools open (spreadsheets, REFI-QDA files).

The writers are imported on first use (PEP 562): lxml and openpyxl only load for the
formats that need them (``cppthemes export --to csv`` needs neither).
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cppthemes.export.qdpx import render_qdc, render_qdpx
    from cppthemes.export.tables import codes_csv, passages_csv
    from cppthemes.export.xlsx import render_xlsx

__all__ = ["codes_csv", "passages_csv", "render_qdc", "render_qdpx", "render_xlsx"]
_HOME = {
    "render_qdc": "qdpx", "render_qdpx": "qdpx", "codes_csv": "tables", "passages_csv": "tables",
    "render_xlsx": "xlsx",
}  # fmt: skip


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(import_module(f"cppthemes.export.{_HOME[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
