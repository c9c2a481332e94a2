"""Per-transcript metadata (group, wave, site...) from a ``manifest.csv`` beside the files."""

from __future__ import annotations

import csv
from pathlib import Path

from cppthemes.errors import InputError
from cppthemes.ingest.decode import read_text

FILE_COLUMNS = ("file", "filename", "transcript", "source")


def read_manifest(path: Path) -> dict[str, dict[str, str]]:
    """Map each file name in the manifest to its attributes (all values kept as strings)."""
    rows = list(csv.reader(read_text(path).splitlines()))
    if not rows:
        raise InputError(path, "empty manifest", line=1)
    header = [h.strip() for h in rows[0]]
    lowered = [h.lower() for h in header]
    key = next((c for c in FILE_COLUMNS if c in lowered), None)
    if key is None:
        raise InputError(path, f"no file column (expected one of: {', '.join(FILE_COLUMNS)})", 1)
    key_index = lowered.index(key)
    out: dict[str, dict[str, str]] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise InputError(path, f"expected {len(header)} columns, found {len(row)}", number)
        name = row[key_index].strip()
        if name in out:
            raise InputError(path, f"file {name!r} listed twice", number)
        out[name] = {
            h: v.strip() for i, (h, v) in enumerate(zip(header, row, strict=True)) if i != key_index
        }
    return out
