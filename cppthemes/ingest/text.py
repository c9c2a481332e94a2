"""Plain-text transcripts with ``Speaker: text`` turns.

Lines that start with a speaker label open a turn; lines without one continue the previous
turn (transcribers wrap long turns); blank lines separate turns. Lines before the first
speaker label (a title, a date) belong to no turn and are not analysed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from cppthemes.errors import InputError
from cppthemes.ingest.decode import read_text
from cppthemes.records import Transcript, Turn

# A speaker label is one to four words, each starting with a capital letter or a digit
# ("Facilitator", "Speaker 2", "Dr. Lee", "P3"), then a colon and a space. Requiring capitals
# keeps ordinary sentences with a colon ("the thing is: ...") from opening a turn.
SPEAKER = re.compile(
    r"^[ \t]*(?P<speaker>[A-Z0-9][\w.'\-]*(?: [A-Z0-9][\w.'\-]*){0,3}):[ \t]+(?=\S)"
)


@dataclass
class _OpenTurn:
    speaker: str
    line_start: int
    line_end: int
    char_start: int
    char_end: int


def _close(current: _OpenTurn | None, turns: list[Turn], plain: str, transcript_id: str) -> None:
    if current is not None:
        turns.append(
            Turn(
                transcript_id=transcript_id,
                index=len(turns),
                speaker=current.speaker,
                text=plain[current.char_start : current.char_end],
                line_start=current.line_start,
                line_end=current.line_end,
                char_start=current.char_start,
                char_end=current.char_end,
            )
        )


def read_text_transcript(path: Path, transcript_id: str, source: str) -> Transcript:
    """Read one ``Speaker: text`` transcript, keeping line numbers and char offsets."""
    plain = read_text(path)
    turns: list[Turn] = []
    current: _OpenTurn | None = None
    offset = 0
    for number, line in enumerate(plain.split("\n"), start=1):
        start = offset
        offset += len(line) + 1
        if not line.strip():
            _close(current, turns, plain, transcript_id)
            current = None
            continue
        match = SPEAKER.match(line)
        end = start + len(line.rstrip())
        if match:
            _close(current, turns, plain, transcript_id)
            current = _OpenTurn(match["speaker"], number, number, start + match.end(), end)
        elif current is not None:
            current.line_end, current.char_end = number, end
    _close(current, turns, plain, transcript_id)
    if not turns:
        raise InputError(
            path, "no speaker turns found (expected lines such as 'Name: what they said')", line=1
        )
    return Transcript(
        id=transcript_id,
        source=source,
        path=str(path),
        format="text",
        plain_text=plain,
        turns=tuple(turns),
    )
