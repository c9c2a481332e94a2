"""Where a passage is in the file the analyst has: the reference quotes and exports show.

``line_start`` is a line of ``Transcript.plain_text``, which ingest writes itself for formats
that are not text (one ``Speaker: text`` line per turn), so it cannot be found in a .vtt or a
spreadsheet. The references here can: the file's line for text, the paragraph for docx, the
cue's time and line for vtt/srt, the segment's time for Whisper JSON, the row for tables.
"""

from __future__ import annotations

from cppthemes.records import Passage

_FORMAT_OF_SUFFIX = {
    "vtt": "media", "srt": "media", "json": "media",
    "csv": "table", "tsv": "table", "tab": "table", "xlsx": "table", "xlsm": "table",
    "docx": "docx",
}  # fmt: skip


def clock(seconds: float) -> str:
    """``00:12:31``: hours, minutes, seconds (rounded down), as media players show them."""
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def kind_of(source: str) -> str:
    """``text``, ``docx``, ``media`` or ``table``, from the source name's suffix."""
    name = source.split("#", 1)[0]
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return _FORMAT_OF_SUFFIX.get(suffix, "text")


def place(p: Passage) -> str:
    """'line 41', 'paragraph 12', '00:12:31, line 45', '00:12:31', 'row 12'."""
    kind = kind_of(p.source)
    if kind == "table":
        if p.ref_row is not None:
            return f"row {p.ref_row}"
    elif kind == "media":
        parts = [clock(p.start_s)] if p.start_s is not None else []
        if p.ref_line is not None:
            parts.append(f"line {p.ref_line}")
        if parts:
            return ", ".join(parts)
    elif kind == "docx" and p.ref_line is not None:
        return f"paragraph {p.ref_line}"
    return f"line {p.ref_line if p.ref_line is not None else p.line_start}"
