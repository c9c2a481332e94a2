"""SubRip ``.srt`` subtitles, with or without ``Name:`` / ``[Name]`` speaker prefixes.

Blocks of an optional counter line, a ``00:00:01,000 --> 00:00:04,000`` line and the text.
Turns, times and plain text as for WebVTT (`cppthemes.ingest.cues`): ``line`` is the turn's
line in the written ``Speaker: text`` plain text. Without any prefix the talk is one speaker's,
labelled ``Speaker``.
"""

from __future__ import annotations

from pathlib import Path

from cppthemes.errors import InputError
from cppthemes.ingest.cues import Cue, build_from_cues
from cppthemes.ingest.decode import read_text
from cppthemes.ingest.vtt import _blocks, parse_timing
from cppthemes.records import Transcript


def parse_srt(path: Path, text: str) -> list[Cue]:
    """The cues of a SubRip file; a block without a timing line is an error naming it."""
    cues: list[Cue] = []
    for first, block in _blocks(text.split("\n")):
        timing = next((i for i, line in enumerate(block[:2]) if "-->" in line), None)
        if timing is None:
            raise InputError(path, "expected a subtitle timing line (start --> end)", first)
        if timing == 1 and not block[0].strip().isdigit():
            raise InputError(path, "expected a subtitle number before the timing line", first)
        start, end = parse_timing(path, block[timing], first + timing)
        cues.append(Cue(start, end, tuple(block[timing + 1 :]), first + timing + 1))
    return cues


def read_srt(path: Path, transcript_id: str, source: str) -> list[Transcript]:
    """Read one SubRip file into one transcript."""
    cues = parse_srt(path, read_text(path))
    builder = build_from_cues(cues, transcript_id)
    if not len(builder):
        raise InputError(path, "no subtitles with text", line=1)
    return [builder.transcript(source, str(path), "srt")]
