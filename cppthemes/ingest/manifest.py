"""Per-transcript metadata (group, wave, site...): a manifest file, or the file names.

A manifest is ``manifest.csv`` (a ``file`` column, then one column per attribute) or
``manifest.yaml`` (a mapping ``file: {attribute: value}``, or a list of mappings with a
``file`` key), found beside the transcripts or given with ``--manifest``. A ``facilitator``
(or ``facilitators``) attribute names that file's facilitators (``;``-separated) instead of
being an attribute. ``--meta-from-name "{site}_{wave}_{group}"`` reads attributes from file
names; a manifest's values win over the name's.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

from cppthemes.errors import InputError
from cppthemes.ingest.decode import read_text

FILE_COLUMNS = ("file", "filename", "transcript", "source")
FACILITATOR_KEYS = ("facilitator", "facilitators")


def read_manifest(path: Path) -> dict[str, dict[str, str]]:
    """Map each file name in the manifest to its attributes (all values kept as strings)."""
    if path.suffix.lower() in (".yaml", ".yml"):
        return _read_yaml(path)
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


def _scalar(path: Path, value: Any, where: str) -> str:
    if isinstance(value, list):
        return ";".join(_scalar(path, v, where) for v in value)
    if isinstance(value, dict):
        raise InputError(path, f"{where!r}: attribute values must be text, numbers or lists")
    return "" if value is None else str(value).strip()


def _read_yaml(path: Path) -> dict[str, dict[str, str]]:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    from cppthemes.safeyaml import check_yaml

    text = read_text(path)
    check_yaml(text, path)  # depth and alias-bomb bounds before the recursive loader
    try:
        data = YAML(typ="safe").load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise InputError(path, "not valid YAML", line=line) from None
    if isinstance(data, dict):
        entries = [(str(name), attrs if attrs is not None else {}) for name, attrs in data.items()]
    elif isinstance(data, list):
        entries = []
        for number, item in enumerate(data, start=1):
            name = item.get("file") if isinstance(item, dict) else None
            if name is None:
                raise InputError(path, f"entry {number} has no 'file' key")
            entries.append((str(name), {k: v for k, v in item.items() if k != "file"}))
    else:
        raise InputError(path, "expected a mapping of file names to attributes, or a list", 1)
    out: dict[str, dict[str, str]] = {}
    for name, attrs in entries:
        if not isinstance(attrs, dict):
            raise InputError(path, f"{name!r}: expected a mapping of attributes")
        if name in out:
            raise InputError(path, f"file {name!r} listed twice")
        out[name] = {str(k): _scalar(path, v, name) for k, v in attrs.items()}
    return out


def name_pattern(template: str) -> re.Pattern[str]:
    """A regex for ``{site}_{wave}_{group}``: each field is a named group, the rest literal."""
    parts = re.split(r"\{(\w+)\}", template)
    regex = "".join(
        re.escape(part) if i % 2 == 0 else f"(?P<{part}>.+?)" for i, part in enumerate(parts)
    )
    return re.compile(regex)


def meta_from_name(pattern: re.Pattern[str], name: str) -> dict[str, str] | None:
    """Attributes parsed from a file name (without its suffix); None when it does not fit."""
    match = pattern.fullmatch(name)
    return dict(match.groupdict()) if match else None


def split_facilitators(attrs: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """Take the facilitator names out of a manifest row; the rest are attributes."""
    names: list[str] = []
    rest: dict[str, str] = {}
    for key, value in attrs.items():
        if key.strip().lower() in FACILITATOR_KEYS:
            names.extend(n.strip() for n in re.split(r"[;|]", value) if n.strip())
        else:
            rest[key] = value
    return rest, names
