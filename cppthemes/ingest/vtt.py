"""WebVTT ``.vtt`` captions from Zoom (``Name: text`` in each cue) and Teams (``<v Name>``).

The plain text is written by `PlainTextBuilder`: one ``Speaker: text`` line per turn (cues of
one speaker joined), so ``line`` is the turn's line in that text; ``start_s``/``end_s`` keep
the times of its first and last cue. Errors name the line of the ``.vtt`` file.
"""

from __future__ import annotations

import re
from pathlib import Path

from cppthemes.errors import InputError
from cppthemes.ingest.cues import Cue, build_from_cues
from cppthemes.ingest.decode import read_text
from cppthemes.ingest.timecode import parse_clock
from cppthemes.records import Transcript

TIMING = re.compile(r"^\s*(\S+)\s+-->\s+(\S+)")


def parse_timing(path: Path, line: str, number: int) -> tuple[float, float]:
    """Start and end seconds of a ``start --> end`` line; an error names the line."""
    match = TIMING.match(line)
    start = parse_clock(match[1]) if match else None
    end = parse_clock(match[2]) if match else None
    if start is None or end is None:
        raise InputError(path, "bad cue timing (expected 00:00:01.000 --> 00:00:04.000)", number)
    return start, end


def _blocks(lines: list[str]) -> list[tuple[int, list[str]]]:
    """Blank-line separated blocks with the 1-based number of their first line."""
    blocks: list[tuple[int, list[str]]] = []
    current: list[str] = []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            if not current:
                blocks.append((number, current))
            current.append(line)
        elif current:
            current = []
    return blocks


def parse_vtt(path: Path, text: str) -> list[Cue]:
    """The cues of a WebVTT file; NOTE, STYLE and REGION blocks are skipped."""
    lines = text.split("\n")
    if not lines[0].startswith("WEBVTT"):
        raise InputError(path, "not a WebVTT file (the first line must be WEBVTT)", line=1)
    cues: list[Cue] = []
    for first, block in _blocks(lines)[1:]:  # the first block is the WEBVTT header
        if block[0].startswith(("NOTE", "STYLE", "REGION")):
            continue
        timing = next((i for i, line in enumerate(block[:2]) if "-->" in line), None)
        if timing is None:
            raise InputError(path, "expected a cue timing line (start --> end)", first)
        start, end = parse_timing(path, block[timing], first + timing)
        cues.append(Cue(start, end, tuple(block[timing + 1 :]), first + timing + 1))
    return cues


def read_vtt(path: Path, transcript_id: str, source: str) -> list[Transcript]:
    """Read one WebVTT file into one transcript."""
    cues = parse_vtt(path, read_text(path))
    builder = build_from_cues(cues, transcript_id)
    if not len(builder):
        raise InputError(path, "no cues with text", line=1)
    return [builder.transcript(source, str(path), "vtt")]
