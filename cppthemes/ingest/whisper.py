"""Speech-to-text JSON: Whisper (``segments`` with ``start``, ``end``, ``text``) and diarised
outputs that add a ``speaker`` to each segment (WhisperX and tools that copy its layout).

Consecutive segments of one speaker are joined into one turn. A segment without a speaker
continues the one before; a file without any speakers is one speaker's talk (``Speaker``).
The plain text is written by `PlainTextBuilder` (one ``Speaker: text`` line per turn), so
``line`` is the turn's line in that text; errors name the line of the JSON file where known.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from cppthemes.errors import InputError
from cppthemes.ingest.build import PlainTextBuilder
from cppthemes.ingest.cues import UNKNOWN_SPEAKER
from cppthemes.ingest.decode import read_text
from cppthemes.records import Transcript


def _seconds(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) and value >= 0 else None


def read_whisper_json(path: Path, transcript_id: str, source: str) -> list[Transcript]:
    """Read one Whisper/WhisperX JSON file into one transcript."""
    try:
        data = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise InputError(path, f"not valid JSON ({exc.msg})", line=exc.lineno) from None
    except RecursionError:
        raise InputError(path, "not valid JSON (nested too deeply)") from None
    segments = data.get("segments") if isinstance(data, dict) else data
    if not isinstance(segments, list):
        raise InputError(
            path, "no 'segments' list (expected Whisper or WhisperX JSON output)", line=1
        )
    builder = PlainTextBuilder(transcript_id, join_with=" ")
    speaker: str | None = None
    for number, segment in enumerate(segments, start=1):
        if not isinstance(segment, dict) or not isinstance(segment.get("text"), str):
            raise InputError(path, f"segment {number} has no 'text' string")
        who = segment.get("speaker")
        if isinstance(who, str | int) and not isinstance(who, bool) and str(who).strip():
            speaker = str(who).strip()
        builder.add(
            speaker or UNKNOWN_SPEAKER,
            " ".join(segment["text"].split()),
            _seconds(segment.get("start")),
            _seconds(segment.get("end")),
            join_same_speaker=True,
        )
    if not len(builder):
        raise InputError(path, "no segments with text", line=1)
    return [builder.transcript(source, str(path), "json")]
