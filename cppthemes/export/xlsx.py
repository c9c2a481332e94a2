"""One Excel workbook: codes, themes, prevalence (counts and % of each group) and passages.

The codes and passages sheets hold the same tables as the CSV files.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import io
import math
import re
import zipfile
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cppthemes import cachefiles
from cppthemes.export.tables import codes_table, passages_table, prevalence_table, themes_table
from cppthemes.records import Result

if TYPE_CHECKING:
    from openpyxl.cell.cell import Cell

# openpyxl is imported only where a workbook is built (0.16 s): a rerun whose sheets have the
# shape of an earlier run's (names, headers, styles) finds that run's header-only workbook in
# the user cache (``_skeleton``) and needs none of it.
ARC_CORE = "docProps/core.xml"  # openpyxl.xml.constants.ARC_CORE (tests check they agree)

# Characters an .xlsx file cannot hold (XML 1.0 forbids them); transcripts rarely have them,
# but one stray control character would otherwise abort the whole export.
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# A fixed timestamp in the workbook's properties and its zip members, so the file says nothing
# about when it was rendered and two exports of one run are byte-identical.
_EPOCH = datetime(2000, 1, 1)
Sheets = list[tuple[str, list[str], list[list[Any]]]]  # (name, header, rows) per sheet
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


def _sheets(result: Result) -> Sheets:
    return [
        (name, header, rows)
        for name, (header, rows) in (
            ("codes", codes_table(result)),
            ("themes", themes_table(result)),
            ("prevalence", prevalence_table(result)),
            ("passages", passages_table(result)),
        )
    ]


def _style(sheet: str, title: str) -> str | None:
    """The style a data cell of column ``title`` gets: wrapped text, a percentage, or none."""
    if title == "text":
        return "wrap"
    if sheet == "prevalence" and title.endswith(" %"):
        return "percent"
    return None


def _apply(cell: Cell, style: str) -> None:
    from openpyxl.styles import Alignment, Font

    if style == "bold":
        cell.font = Font(bold=True)
    elif style == "wrap":
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    elif style == "percent":
        cell.number_format = "0.0%"


def render_xlsx(result: Result) -> bytes:
    """The workbook as bytes: sheets ``codes``, ``themes``, ``prevalence``, ``passages``;
    header rows frozen, filters on, shares shown as percentages.

    The cells are written by ``_sheet_data`` straight into the workbook openpyxl saves with
    the header rows alone (openpyxl spent a second on swda-small's 3,221 passages, building
    an object per cell); the bytes are what ``render_xlsx_openpyxl`` writes, which
    tests/test_rerun_caches.py checks. A value of a kind the fast writer does not know is
    left to openpyxl.
    """
    return workbook(_sheets(result))


def render_xlsx_openpyxl(result: Result) -> bytes:
    """The workbook with every cell made by openpyxl: the reference of ``render_xlsx``."""
    return _render(_sheets(result))


def workbook(sheets: Sheets) -> bytes:
    """``sheets`` (name, header, rows) as the workbook, cells written fast (``render_xlsx``)."""
    try:
        data = [_sheet_data(name, header, rows) for name, header, rows in sheets]
    except _Unusual:
        return _render(sheets)
    order: list[str] = []
    for _, _, used in data:
        order += [s for s in used if s not in order]
    return _render(sheets, [(xml, dim) for xml, dim, _ in data], order)


def workbook_openpyxl(sheets: Sheets) -> bytes:
    """``sheets`` as the workbook with every cell made by openpyxl (the reference)."""
    return _render(sheets)


def _render(
    sheets: Sheets,
    fast: list[tuple[str, str]] | None = None,
    order: list[str] | None = None,
) -> bytes:
    """Save the workbook; with ``fast`` (sheetData XML and dimension per sheet) the
    header-only workbook (``_skeleton``) gets the fast cells and their extents."""
    if fast is None:
        data, core = _save(sheets)
        return _fixed_dates(data, core)
    if any(dim == _placeholder(i) for i in range(len(fast)) for _, dim in fast):
        return _render(sheets)  # a million rows: no range is free to stand in for another
    data, core = _skeleton(sheets, order or [])
    parts = {f"xl/worksheets/sheet{i}.xml": part for i, part in enumerate(fast, start=1)}
    ids = {style: number for number, style in enumerate(order or [], start=1)}
    refs = {_placeholder(i): dim for i, (_, dim) in enumerate(fast)}
    return _fixed_dates(data, core, parts, ids, refs)


# Each sheet's filter range in the cached header-only workbook: a cell range no sheet of ours
# reaches, swapped for the real one when the cells go in (the sheet's autoFilter and the
# workbook's _FilterDatabase name), so runs with other row counts share one skeleton.
def _placeholder(number: int) -> str:
    return f"A1:XFD{1048000 + number}"


def _absolute(ref: str) -> str:
    return re.sub(r"([A-Z]+)(\d+)", r"$\1$\2", ref)


SKELETONS = "xlsx"  # folder in the user cache
KEEP = 16


def _skeleton(sheets: Sheets, order: list[str]) -> tuple[bytes, bytes]:
    """openpyxl's header-only workbook for these sheets (placeholder ranges) and its
    docProps/core.xml, from the user cache when one with the same shape was saved before.

    The key covers all openpyxl is given (sheet names, headers, which sheets have rows, the
    style order), this module's source and openpyxl's version file, so a change of either
    builds it again. A damaged file is built again too.
    """
    shape = repr([(name, header, bool(rows)) for name, header, rows in sheets]) + repr(order)
    spec = importlib.util.find_spec("openpyxl")
    version = b""
    if spec is not None and spec.origin:
        with contextlib.suppress(OSError):
            version = (Path(spec.origin).parent / "_constants.py").read_bytes()
    digest = hashlib.sha256(Path(__file__).read_bytes() + version + shape.encode("utf-8"))
    name = digest.hexdigest()[:32]
    folder = _cache_folder()
    if folder is not None:
        found = _load(folder / f"{name}.bin")
        if found is not None:
            return found
    placeholders = [(n, h, r, _placeholder(i)) for i, (n, h, r) in enumerate(sheets)]
    data, core = _save([(n, h, r) for n, h, r, _ in placeholders], placeholders, order)
    if folder is not None:
        blob = len(core).to_bytes(4, "big") + core + data
        cachefiles.store(folder, name, ".bin", lambda tmp: tmp.write_bytes(blob), KEEP)
    return data, core


def _cache_folder() -> Path | None:
    from platformdirs import user_cache_dir

    try:
        return Path(user_cache_dir("cppthemes", appauthor=False)) / SKELETONS
    except Exception:  # no home folder to put a cache in
        return None


def _load(path: Path) -> tuple[bytes, bytes] | None:
    try:
        blob = path.read_bytes()
    except OSError:
        return None
    if len(blob) < 4:
        return None
    size = int.from_bytes(blob[:4], "big")
    core, data = blob[4 : 4 + size], blob[4 + size :]
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            if z.testzip() is not None or ARC_CORE not in z.namelist():
                return None
    except (zipfile.BadZipFile, ValueError, OSError):
        return None
    if not core.startswith(b"<"):
        return None
    path.touch()
    return data, core


def _save(
    sheets: Sheets,
    skeleton: list[tuple[str, list[str], list[list[Any]], str]] | None = None,
    order: list[str] | None = None,
) -> tuple[bytes, bytes]:
    """openpyxl's workbook and core part; with ``skeleton`` (sheets with their placeholder
    ranges) the header rows only, the styles registered in ``order`` as the cells would."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.xml.functions import tostring

    fast = skeleton
    wb = Workbook()
    wb.properties.creator = "cppthemes"
    wb.properties.created = _EPOCH
    wb.properties.modified = _EPOCH
    first = wb.active
    assert first is not None
    wb.remove(first)
    pending = list(order or [])
    for number, (name, header, rows) in enumerate(sheets):
        ws = wb.create_sheet(name)
        for col, title in enumerate(header, start=1):
            cell = ws.cell(row=1, column=col)
            _set(cell, title)
            cell.font = Font(bold=True)
            ws.column_dimensions[cell.column_letter].width = _WIDTHS.get(title, 12)
        if fast is not None:
            # Styles get their ids in the order cells first use them: register the ones this
            # sheet's cells use first, on a cell whose row the fast XML replaces.
            used = {_style(name, t) for t in header} if rows else set()
            for k, style in enumerate([s for s in pending if s in used or s == "bold"], 1):
                if style != "bold":  # each on its own cell: one cell with two is a third style
                    _apply(ws.cell(row=2, column=k), style)
                pending.remove(style)
            ws.freeze_panes = "A2"
            ws.auto_filter.ref = fast[number][3]  # the placeholder of the cells' extent
            continue
        for r, row in enumerate(rows, start=2):
            for col, value in enumerate(row, start=1):
                cell = ws.cell(row=r, column=col)
                _set(cell, value)
                wanted = _style(name, header[col - 1])
                if wanted is not None:
                    _apply(cell, wanted)
        ws.freeze_panes = "A2"
        ws.auto_filter.ref = ws.dimensions
    buffer = io.BytesIO()
    wb.save(buffer)
    wb.properties.modified = _EPOCH
    return buffer.getvalue(), tostring(wb.properties.to_tree())


class _Unusual(Exception):
    """A value the fast writer does not write as openpyxl would: openpyxl writes them all."""


_SHEET_DATA = re.compile(r"<sheetData>.*</sheetData>|<sheetData\s*/>", re.DOTALL)
_DIMENSION = re.compile(r'<dimension ref="[^"]*"\s*/>')


def _text(value: str) -> str:
    """Text as openpyxl's lxml writer puts it in the sheet XML (ASCII, character references)."""
    if "&" in value or "<" in value or ">" in value or "\r" in value:
        value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        value = value.replace("\r", "&#13;")
    if not value.isascii():
        value = value.encode("ascii", "xmlcharrefreplace").decode("ascii")
    return value


def _column(n: int) -> str:
    out = ""
    while n:
        n, rest = divmod(n - 1, 26)
        out = chr(65 + rest) + out
    return out


def _sheet_data(name: str, header: list[str], rows: list[list[Any]]) -> tuple[str, str, list[str]]:
    """One sheet's ``<sheetData>`` and dimension as openpyxl writes them, and the styles its
    cells use in the order they first appear."""
    if not header or any(len(row) > len(header) for row in rows):
        raise _Unusual
    letters = [_column(c) for c in range(1, len(header) + 1)]
    styles = [_style(name, t) for t in header]
    used: list[str] = ["bold"]
    for style in styles:
        if rows and style is not None and style not in used:
            used.append(style)
    out = ["<sheetData>"]
    # Per column: the style attribute of its data cells and of its header cell.
    attrs = [f' s="{{{style}}}"' if style is not None else "" for style in styles]
    bold = ' s="{bold}"'
    for r, row in enumerate([header, *rows], start=1):
        out.append(f'<row r="{r}">')
        row_attrs = attrs if r > 1 else [bold] * len(row)
        for col, value in enumerate(row):
            s = row_attrs[col]
            kind = type(value)
            if kind is str or isinstance(value, str):
                if _ILLEGAL.search(value):
                    value = _ILLEGAL.sub("", value)
                value = value[:32767]
                if not value:
                    out.append(f'<c r="{letters[col]}{r}"{s} t="inlineStr"></c>')
                    continue
                space = ' xml:space="preserve"' if value[0].isspace() or value[-1].isspace() else ""
                ref = letters[col]
                out.append(
                    f'<c r="{ref}{r}"{s} t="inlineStr"><is><t{space}>{_text(value)}</t></is></c>'
                )
            elif value is None:
                if s:
                    out.append(f'<c r="{letters[col]}{r}"{s} t="n"></c>')
            elif kind is bool:
                out.append(f'<c r="{letters[col]}{r}"{s} t="b"><v>{int(value)}</v></c>')
            elif (kind is int or kind is float) and math.isfinite(value):
                out.append(f'<c r="{letters[col]}{r}"{s} t="n"><v>{"%.16g" % value}</v></c>')  # noqa: UP031 - openpyxl's format
            else:
                raise _Unusual
        out.append("</row>")
    out.append("</sheetData>")
    width = max([len(header), *(len(row) for row in rows)])
    dimension = f"A1:{_column(width)}{len(rows) + 1}"
    return "".join(out), dimension, used


def _splice(
    part: bytes, sheet_data: str, dimension: str, order: dict[str, int], refs: dict[str, str]
) -> bytes:
    """A worksheet part of the header-only workbook with the fast cells and their extent."""
    text = _ranges(part.decode("utf-8"), refs)
    data = sheet_data
    for style, number in order.items():
        data = data.replace(f'{{{style}}}"', f'{number}"')
    text = _DIMENSION.sub(f'<dimension ref="{dimension}"/>', text, count=1)
    text = _SHEET_DATA.sub(lambda _: data, text, count=1)
    return text.encode("utf-8")


def _fixed_dates(
    data: bytes,
    core: bytes,
    fast: dict[str, tuple[str, str]] | None = None,
    ids: dict[str, int] | None = None,
    refs: dict[str, str] | None = None,
) -> bytes:
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
            body = core if item.filename == ARC_CORE else src.read(item)
            if fast and item.filename in fast:
                body = _splice(body, *fast[item.filename], ids or {}, refs or {})
            elif refs and item.filename == "xl/workbook.xml":
                body = _ranges(body.decode("utf-8"), refs, absolute=True).encode("utf-8")
            dst.writestr(info, body)
    return out.getvalue()


def _ranges(text: str, refs: dict[str, str], *, absolute: bool = False) -> str:
    """``text`` with each placeholder range swapped for its real one."""
    for placeholder, real in refs.items():
        if absolute:
            text = text.replace(_absolute(placeholder), _absolute(real))
        else:
            text = text.replace(f'ref="{placeholder}"', f'ref="{real}"')
    return text
