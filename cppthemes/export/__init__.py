"""Exports: the run's results in forms other tools open (spreadsheets for now)."""

from cppthemes.export.tables import codes_csv, passages_csv

__all__ = ["codes_csv", "passages_csv"]
