"""Timed cues (subtitles) to turns: shared by the WebVTT and SubRip readers.

A cue is a few seconds of talk; a speaker's turn spans many cues. Consecutive cues of one
speaker are joined into one turn (with a space: cues break lines for display, not for
meaning), keeping the first cue's start and the last cue's end. A cue without a speaker of
its own continues the speaker before it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass

from cppthemes.ingest.build import PlainTextBuilder
from cppthemes.ingest.nonspeech import is_nonspeech
from cppthemes.ingest.text import _LABEL, _is_label

UNKNOWN_SPEAKER = "Speaker"
_VOICE = re.compile(r"<v(?:\.[^\s>]*)?\s+([^>]*)>(.*?)(?:</v>|(?=<v[\s.])|$)", re.DOTALL)
_TAG = re.compile(r"</?[^>\n]*>")
_PREFIX = re.compile(
    rf"^(?:>>[ \t]*|-[ \t]*)?(?:(?P<speaker>{_LABEL})[ \t]?:|\[(?P<bracket>{_LABEL})\]:?)[ \t]+"
)


@dataclass(frozen=True)
class Cue:
    """One subtitle cue: times in seconds, the payload lines, and its first source line."""

    start_s: float
    end_s: float
    lines: tuple[str, ...]
    line: int


def _pieces(cue: Cue) -> list[tuple[str | None, str]]:
    """(speaker or None, text) pieces of one cue, in order."""
    payload = "\n".join(cue.lines)
    out: list[tuple[str | None, str]] = []
    if "<v" in payload:
        for match in _VOICE.finditer(payload):
            voice = " ".join(_TAG.sub("", match[1]).split())
            out.append((voice or None, match[2]))
        if out:
            return [(s, html.unescape(_TAG.sub("", t))) for s, t in out]
    for line in payload.split("\n"):
        line = html.unescape(_TAG.sub("", line))
        prefix = _PREFIX.match(line)
        speaker: str | None = (prefix["speaker"] or prefix["bracket"]) if prefix else None
        if prefix and speaker and _is_label(speaker) and not is_nonspeech(f"[{speaker}]"):
            out.append((speaker, line[prefix.end() :]))
        elif out:
            out[-1] = (out[-1][0], out[-1][1] + " " + line)
        else:
            out.append((None, line))
    return out


def build_from_cues(cues: Iterable[Cue], transcript_id: str) -> PlainTextBuilder:
    """Join cues into turns; a speakerless cue continues the last speaker."""
    builder = PlainTextBuilder(transcript_id, join_with=" ")
    speaker: str | None = None
    for cue in cues:
        for who, text in _pieces(cue):
            speaker = who or speaker
            builder.add(
                speaker or UNKNOWN_SPEAKER,
                " ".join(text.split()),
                cue.start_s,
                cue.end_s,
                join_same_speaker=True,
            )
    return builder
