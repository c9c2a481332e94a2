"""Tables of turns: ``.csv``, ``.tsv``, ``.xlsx``, and the tables inside Word files.

A speaker column and a text column, found by their headers ("Speaker", "Name", "Text",
"Utterance", ...) or named with ``--columns speaker=...,text=...`` (a header or a 1-based
column number); optionally a time column (start seconds) and a file column, so that one table
can hold many transcripts. A headerless table of two columns (speaker | text) or three (time |
speaker | text) is read by position. A row with text but no speaker continues the turn above.

The plain text of a table transcript is written by `PlainTextBuilder`: one ``Speaker: text``
line per row kept, so ``line`` is the turn's line in that text; ``ref_row`` is the row of the
table (as a spreadsheet numbers it, header included) where the turn starts.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cppthemes.errors import InputError
from cppthemes.ingest.build import PlainTextBuilder
from cppthemes.ingest.decode import read_text
from cppthemes.ingest.timecode import parse_time_value
from cppthemes.records import Transcript

HEADERS: dict[str, tuple[str, ...]] = {
    "speaker": (
        "speaker", "speaker name", "speaker label", "speaker id", "name", "participant",
        "participant id", "who", "person", "respondent", "talker", "voice", "role",
    ),
    "text": (
        "text", "utterance", "utterances", "transcript", "transcription", "content",
        "dialogue", "dialog", "speech", "what was said", "words", "message", "turn",
        "turn text", "statement", "response", "answer", "comment", "sentence", "segment",
        "line", "quote",
    ),
    "time": (
        "time", "start", "start time", "starttime", "timestamp", "time stamp", "begin",
        "from", "in", "timecode", "time code", "start s", "start sec", "start seconds",
    ),
    "end": ("end", "end time", "endtime", "stop", "to", "out", "end s", "end sec"),
    "file": (
        "file", "filename", "file name", "source", "document", "doc", "interview",
        "interview id", "session", "session id", "transcript id", "transcript name",
        "conversation", "conversation id", "meeting", "meeting id", "recording", "case id",
    ),
}  # fmt: skip
COLUMN_KEYS = tuple(HEADERS)
HEADER_ROWS = 10  # a header may sit below a title row or two
# Cells a sheet may hold (blanks inside a row count): 200,000 rows of 25 columns.
MAX_SHEET_CELLS = 5_000_000


def _norm(value: object) -> str:
    return " ".join(re.sub(r"[^\w ]+", " ", str(value or "")).replace("_", " ").lower().split())


def cell_text(value: object) -> str:
    """A cell as text: numbers without a spurious '.0', missing cells as ''."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass(frozen=True)
class Columns:
    """0-based column indexes, and the index of the header row (-1 = no header)."""

    speaker: int
    text: int
    time: int | None = None
    end: int | None = None
    file: int | None = None
    header_row: int = -1


def _from_header(header: Sequence[object], given: Mapping[str, str]) -> dict[str, int] | None:
    names = [_norm(h) for h in header]
    found: dict[str, int] = {}
    for key in COLUMN_KEYS:
        if key in given:
            wanted = _norm(given[key])
            if wanted.isdigit():
                continue
            if wanted not in names:
                return None
            found[key] = names.index(wanted)
            continue
        for candidate in HEADERS[key]:
            if candidate in names and names.index(candidate) not in found.values():
                found[key] = names.index(candidate)
                break
    return found


def _numbered(given: Mapping[str, str]) -> dict[str, int]:
    return {k: int(_norm(v)) - 1 for k, v in given.items() if _norm(v).isdigit() and int(v) > 0}


def _positional(rows: Sequence[Sequence[object]]) -> Columns | None:
    widths = [sum(1 for c in row if cell_text(c).strip()) for row in rows[:50]]
    width = max(widths, default=0)
    if width == 2:
        return Columns(speaker=0, text=1)
    if width == 3:
        firsts = [row[0] for row in rows[:50] if len(row) >= 3 and cell_text(row[0]).strip()]
        timed = sum(1 for c in firsts if parse_time_value(c) is not None)
        if firsts and timed >= 0.8 * len(firsts):
            return Columns(time=0, speaker=1, text=2)
    return None


def find_columns(
    rows: Sequence[Sequence[object]], given: Mapping[str, str], path: Path | str
) -> Columns:
    """Which columns hold speaker, text, time and file; an ``InputError`` if none fit."""
    numbered = _numbered(given)
    for index, row in enumerate(rows[:HEADER_ROWS]):
        found = _from_header(row, given)
        if found is None:
            continue
        found.update(numbered)
        if "speaker" in found and "text" in found:
            return Columns(header_row=index, **found)
    if "speaker" in numbered and "text" in numbered:
        return Columns(**numbered)
    if not given:
        positional = _positional(rows)
        if positional is not None:
            return positional
    # Cells are not quoted: in a headerless table they are participants' words.
    width = max((len(row) for row in rows[:HEADER_ROWS]), default=0)
    wanted = ",".join(f"{k}={v}" for k, v in given.items())
    raise InputError(
        path,
        f"no speaker and text columns found in the first {HEADER_ROWS} rows ({width} columns); "
        + (f"--columns {wanted} did not match" if given else "name them with --columns")
        + " (e.g. --columns speaker=Speaker,text=Utterance)",
        line=1,
    )


def _get(row: Sequence[object], index: int | None) -> object:
    return row[index] if index is not None and index < len(row) else None


def transcripts_from_rows(
    rows: Sequence[Sequence[object]],
    columns: Columns,
    *,
    transcript_id: str,
    source: str,
    path: Path,
    fmt: str,
    group_by_file: bool = True,
) -> list[Transcript]:
    """One transcript per value of the file column (or one for the whole table).

    Each turn's ``ref_row`` is its row as the spreadsheet numbers it: the index in ``rows``
    plus one (openpyxl's rows start at row 1 even when the sheet's cells start lower down).
    """
    builders: dict[str, PlainTextBuilder] = {}
    first_row = columns.header_row + 2  # 1-based, as a spreadsheet numbers its rows
    for number, row in enumerate(rows[columns.header_row + 1 :], start=first_row):
        if not row:  # a blank row changes nothing (a sheet may have a million of them)
            continue
        group = cell_text(_get(row, columns.file)).strip() if group_by_file else ""
        if columns.file is not None and group_by_file and not group:
            group = next(reversed(builders), "") if builders else ""
        builder = builders.get(group)
        if builder is None:
            builder = builders[group] = PlainTextBuilder(
                f"{transcript_id}#{group}" if group else transcript_id, join_with="\n"
            )
        speaker = cell_text(_get(row, columns.speaker)).strip()
        text = cell_text(_get(row, columns.text))
        start = parse_time_value(_get(row, columns.time))
        end = parse_time_value(_get(row, columns.end))
        if speaker:
            builder.add(speaker, text, start, end, ref_row=number)
        else:
            builder.extend_last(text, end)
    out = [
        b.transcript(f"{source}#{group}" if group else source, str(path), fmt)
        for group, b in builders.items()
        if len(b)
    ]
    if not out:
        raise InputError(path, "no rows with both a speaker and text", line=columns.header_row + 2)
    return out


def _csv_rows(path: Path, delimiter: str | None) -> list[list[str]]:
    text = read_text(path)
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(text[:8192], delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    # The csv module reads the text itself (not lines split beforehand), so a quoted cell may
    # hold line breaks. Strict first: a quote that never closes would otherwise swallow every
    # later row into one cell, silently.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[list[str]] = []
    row_start = 1  # the line the row being read starts on
    try:
        for row in reader:
            rows.append(row)
            row_start = reader.line_num + 1
    except csv.Error as exc:
        if "end of data" in str(exc):
            raise InputError(
                path,
                'a quoted cell starts on this line and never closes (an unbalanced ")',
                line=row_start,
            ) from None
        if "expected after" not in str(exc):
            raise InputError(path, f"not a readable table ({exc})", line=reader.line_num) from None
        return _lenient_rows(text, delimiter, path)
    return rows


def _lenient_rows(text: str, delimiter: str, path: Path) -> list[list[str]]:
    """Rows of a table with stray text after a closing quote (``"a"b``): read as ``ab``."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return [row for row in reader]
    except csv.Error as exc:
        raise InputError(path, f"not a readable table ({exc})", line=reader.line_num) from None


def read_csv(
    path: Path, transcript_id: str, source: str, columns: Mapping[str, str]
) -> list[Transcript]:
    """A ``.csv`` table (delimiter sniffed: comma, semicolon, tab or bar)."""
    rows = _csv_rows(path, None)
    found = find_columns(rows, columns, path)
    return transcripts_from_rows(
        rows, found, transcript_id=transcript_id, source=source, path=path, fmt="csv"
    )


def read_tsv(
    path: Path, transcript_id: str, source: str, columns: Mapping[str, str]
) -> list[Transcript]:
    """A tab-separated table."""
    rows = _csv_rows(path, "\t")
    found = find_columns(rows, columns, path)
    return transcripts_from_rows(
        rows, found, transcript_id=transcript_id, source=source, path=path, fmt="tsv"
    )


def _sheet_rows(ws: Any, path: Path) -> list[list[object]]:
    """A sheet's rows, bounded by the cells it really holds, not by what it declares.

    A sheet's ``<dimension>`` may claim A1:XFD1048576 (16 billion cells) in a 1.6 KB file, and
    openpyxl pads every row to the declared width. The declared size is ignored, each row is
    cut after its last value, empty rows share one empty list, and a sheet whose rows hold
    more than ``MAX_SHEET_CELLS`` cells (counting the blanks before each row's last value)
    is refused, naming the row.
    """
    from openpyxl.utils import get_column_letter

    ws.reset_dimensions()
    empty: list[object] = []
    rows: list[list[object]] = []
    cells = 0
    for number, row in enumerate(ws.iter_rows(values_only=True), start=1):
        if not row:  # a missing row: openpyxl yields one empty sequence for each
            rows.append(empty)
            continue
        end = len(row)
        while end and row[end - 1] is None:
            end -= 1
        if not end:
            rows.append(empty)
            continue
        cells += end
        if cells > MAX_SHEET_CELLS:
            raise InputError(
                path,
                f"sheet {ws.title!r} holds more than {MAX_SHEET_CELLS:,} cells by row {number} "
                f"(cells as far as column {get_column_letter(end)}); delete stray cells far "
                "from the table, or copy the table to a new sheet",
                line=number,
            )
        rows.append(list(row[:end]))
    while rows and rows[-1] is empty:
        rows.pop()
    return rows


def _xlsx_sheets(path: Path) -> list[tuple[str, list[list[object]]]]:
    from openpyxl import load_workbook

    from cppthemes.ingest.zipcheck import check_archive

    check_archive(path, ".xlsx workbook")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            book = load_workbook(path, read_only=True, data_only=True)
            try:
                return [(ws.title, _sheet_rows(ws, path)) for ws in book.worksheets]
            finally:
                book.close()
    except InputError:
        raise
    except OSError as exc:
        raise InputError(path, f"cannot read file ({exc.strerror or exc})") from None
    except Exception as exc:  # openpyxl raises many types on damaged files
        raise InputError(
            path, f"not a readable .xlsx workbook ({type(exc).__name__}); damaged or truncated?"
        ) from None


def read_xlsx(
    path: Path, transcript_id: str, source: str, columns: Mapping[str, str]
) -> list[Transcript]:
    """An Excel workbook: every sheet with speaker and text columns; one sheet = one table."""
    sheets = [(name, rows) for name, rows in _xlsx_sheets(path) if rows]
    readable: list[tuple[str, list[list[object]], Columns]] = []
    first_error: InputError | None = None
    for name, rows in sheets:
        try:
            readable.append((name, rows, find_columns(rows, columns, path)))
        except InputError as exc:
            first_error = first_error or exc
    if not readable:
        raise first_error or InputError(path, "empty workbook", line=1)
    out: list[Transcript] = []
    for name, rows, found in readable:
        several = len(readable) > 1
        out.extend(
            transcripts_from_rows(
                rows,
                found,
                transcript_id=f"{transcript_id}#{name}" if several else transcript_id,
                source=f"{source}#{name}" if several else source,
                path=path,
                fmt="xlsx",
            )
        )
    return out


def rows_as_text(rows: Iterable[Sequence[object]]) -> list[list[str]]:
    """Cells as strings (for tables whose cells are not strings already)."""
    return [[cell_text(c) for c in row] for row in rows]
