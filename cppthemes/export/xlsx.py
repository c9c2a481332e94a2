"""One Excel workbook: codes, themes, prevalence (counts and % of each group) and passages.

The codes and passages sheets hold the same tables as the CSV files.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font
from openpyxl.xml.constants import ARC_CORE
from openpyxl.xml.functions import tostring

from cppthemes.export.tables import codes_table, passages_table, prevalence_table, themes_table
from cppthemes.records import Result

# Characters an .xlsx file cannot hold (XML 1.0 forbids them); transcripts rarely have them,
# but one stray control character would otherwise abort the whole export.
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# A fixed timestamp in the workbook's properties and its zip members, so the file says nothing
# about when it was rendered and two exports of one run are byte-identical.
_EPOCH = datetime(2000, 1, 1)
_WIDTHS = {
    "text": 80, "keyphrases": 60, "label": 30, "source": 28, "description": 50, "prevalence": 60,
    "code_labels": 50,
}  # fmt: skip


def _set(cell: Cell, value: Any) -> None:
    if isinstance(value, str):
        cell.value = _ILLEGAL.sub("", value)
        # A participant's words that start with "=" are text, never a formula.
        cell.data_type = "s"
    else:
        cell.value = value


def render_xlsx(result: Result) -> bytes:
    """The workbook as bytes: sheets ``codes``, ``themes``, ``prevalence``, ``passages``;
    header rows frozen, filters on, shares shown as percentages."""
    wb = Workbook()
    wb.properties.creator = "cppthemes"
    wb.properties.created = _EPOCH
    wb.properties.modified = _EPOCH
    first = wb.active
    assert first is not None
    wb.remove(first)
    for name, (header, rows) in (
        ("codes", codes_table(result)),
        ("themes", themes_table(result)),
        ("prevalence", prevalence_table(result)),
        ("passages", passages_table(result)),
    ):
        ws = wb.create_sheet(name)
        for col, title in enumerate(header, start=1):
            cell = ws.cell(row=1, column=col)
            _set(cell, title)
            cell.font = Font(bold=True)
            ws.column_dimensions[cell.column_letter].width = _WIDTHS.get(title, 12)
        for r, row in enumerate(rows, start=2):
            for col, value in enumerate(row, start=1):
                cell = ws.cell(row=r, column=col)
                _set(cell, value)
                if header[col - 1] == "text":
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
                elif name == "prevalence" and header[col - 1].endswith(" %"):
                    cell.number_format = "0.0%"
        ws.freeze_panes = "A2"
        ws.auto_filter.ref = ws.dimensions
    buffer = io.BytesIO()
    wb.save(buffer)
    wb.properties.modified = _EPOCH
    return _fixed_dates(buffer.getvalue(), tostring(wb.properties.to_tree()))


def _fixed_dates(data: bytes, core: bytes) -> bytes:
    """The workbook's zip written again with fixed dates: reproducible byte for byte.

    openpyxl's save stamps the document's "modified" property (docProps/core.xml) and every
    zip member with the current time, which made tables.xlsx the one output that differed
    between two identical runs. ``core`` is that part with the fixed date; the rest is as saved.
    """
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            info = zipfile.ZipInfo(item.filename, date_time=_EPOCH.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            dst.writestr(info, core if item.filename == ARC_CORE else src.read(item))
    return out.getvalue()
