"""Timestamps as transcripts write them: ``1:02``, ``00:01:02``, ``00:01:02,500``, ``62.5``."""

from __future__ import annotations

import datetime as dt
import re

# h:mm:ss, mm:ss or m:ss, with optional fractions after '.' or ','.
TIMESTAMP = r"\d{1,2}(?::\d{2}){1,2}(?:[.,]\d{1,3})?"
_CLOCK = re.compile(rf"^\s*[\[(]?\s*({TIMESTAMP})\s*[\])]?\s*$")
_SECONDS = re.compile(r"^\s*\d+(?:\.\d+)?\s*$")


def parse_clock(text: str) -> float | None:
    """Seconds from ``[h:]mm:ss[.fff]`` (brackets allowed), or None when it is not one."""
    match = _CLOCK.match(text)
    if not match:
        return None
    parts = match[1].replace(",", ".").split(":")
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + float(part)
    return seconds


def parse_time_value(value: object) -> float | None:
    """Seconds from a table cell: a clock string, plain seconds, or a spreadsheet time."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, dt.datetime):
        return value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6
    if isinstance(value, dt.time):
        return value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6
    if isinstance(value, int | float):
        return float(value) if value >= 0 else None
    text = str(value)
    clock = parse_clock(text)
    if clock is not None:
        return clock
    if _SECONDS.match(text):
        return float(text)
    return None
