"""Timed cues (subtitles) to turns: shared by the WebVTT and SubRip readers.

A cue is a few seconds of talk; a speaker's turn spans many cues. Consecutive cues of one
speaker are joined into one turn (with a space: cues break lines for display, not for
meaning), keeping the first cue's start and the last cue's end. A cue without a speaker of
its own continues the speaker before it.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cppthemes.ingest.build import PlainTextBuilder
from cppthemes.ingest.nonspeech import is_nonspeech
from cppthemes.ingest.text import _LABEL, infer_labels

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


def _prefix(line: str) -> tuple[str, re.Match[str]] | None:
    """A ``Name:`` or ``[Name]`` prefix of a cue line that could be a speaker label."""
    prefix = _PREFIX.match(html.unescape(_TAG.sub("", line)))
    speaker = (prefix["speaker"] or prefix["bracket"]) if prefix else None
    if prefix is None or not speaker or is_nonspeech(f"[{speaker}]"):
        return None
    return speaker, prefix


def cue_labels(cues: Iterable[Cue]) -> frozenset[str]:
    """The prefixes that are speaker labels in these cues (recurrence, as in text files)."""
    counts: Counter[str] = Counter()
    for cue in cues:
        for line in cue.lines:
            found = _prefix(line)
            if found is not None:
                counts[found[0]] += 1
    return infer_labels(counts)


def _pieces(cue: Cue, labels: frozenset[str]) -> list[tuple[str | None, str]]:
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
        found = _prefix(line)
        if found is not None and found[0] in labels:
            out.append((found[0], line[found[1].end() :]))
        elif out:
            out[-1] = (out[-1][0], out[-1][1] + " " + line)
        else:
            out.append((None, line))
    return out


def build_from_cues(cues: Sequence[Cue], transcript_id: str) -> PlainTextBuilder:
    """Join cues into turns; a speakerless cue continues the last speaker.

    Each turn keeps its first cue's start time and first text line of the file (``ref_line``).
    """
    builder = PlainTextBuilder(transcript_id, join_with=" ")
    labels = cue_labels(cues)
    speaker: str | None = None
    for cue in cues:
        for who, text in _pieces(cue, labels):
            speaker = who or speaker
            builder.add(
                speaker or UNKNOWN_SPEAKER,
                " ".join(text.split()),
                cue.start_s,
                cue.end_s,
                join_same_speaker=True,
                ref_line=cue.line,
            )
    return builder
