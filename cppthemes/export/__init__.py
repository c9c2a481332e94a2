"""Exports: the run's results in forms other tools open (spreadsheets, REFI-QDA files)."""

from cppthemes.export.qdpx import render_qdc, render_qdpx
from cppthemes.export.tables import codes_csv, passages_csv
from cppthemes.export.xlsx import render_xlsx

__all__ = ["codes_csv", "passages_csv", "render_qdc", "render_qdpx", "render_xlsx"]
