"""Plain-text and Markdown transcripts, in the speaker conventions seen in practice.

Supported, one convention per file (the one most lines follow is used, so a bracketed word at
the start of a sentence does not open a turn in a ``Name: text`` file):

- colon: ``Name: text``, ``NAME: text``, ``I:``/``R:``/``P3:`` codes, ``**Name:** text``,
  Rev's ``Speaker 1 (00:01:02): text``, timestamps before (``00:01:02 Name: text``,
  ``[00:01:02] Name: text``) or after the speaker, and ``Name:`` alone with the text below;
- bracket: ``[Name] text``;
- header: Otter's ``Name  0:03`` on its own line, the text on the lines below.

Lines without a speaker continue the previous turn (transcribers wrap long turns, and split
them into paragraphs), so blank lines between turns and inside a turn are both fine. Lines
before the first speaker (a title, a date), Markdown headings and rules belong to no turn. A
turn's span runs from its first to its last character of talk, so its text is always
``plain_text[char_start:char_end]`` and ``line_start``/``line_end`` are the lines of that span.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from cppthemes.errors import InputError
from cppthemes.ingest.decode import read_text
from cppthemes.ingest.nonspeech import is_nonspeech
from cppthemes.ingest.timecode import TIMESTAMP, parse_clock
from cppthemes.records import Transcript, Turn

# A speaker label is one to four words ("Facilitator", "Speaker 2", "Dr. Lee", "P3"); each word
# starts with a capital letter or a digit (checked in `_is_label`), except name particles such
# as "de" or "van". Requiring capitals keeps sentences with a colon ("the thing is: ...") from
# opening a turn.
_WORD = r"[^\W_][\w.'’\-]*"
_LABEL = rf"{_WORD}(?: {_WORD}){{0,3}}"
_TS = rf"[\[(]?{TIMESTAMP}[\])]?"
# An affiliation in brackets after the name, as in parliamentary records:
# "Ms. Jenny Kwan (Vancouver East, NDP):" or "The Chair (Hon. A. Rota (Nipissing, Lib.)):".
# One level of nested brackets; never a timestamp (that is Rev's "Speaker 1 (00:01:02):").
_AFFILIATION = rf"(?:[ \t]+(?!{_TS}[ \t]*:)\([^()\n]*(?:\([^()\n]*\)[^()\n]*)*\))?"
_BOLD = r"(?:\*\*|__)?"
PARTICLES = frozenset(
    (
        "de", "da", "del", "della", "der", "den", "di", "du", "la", "le", "van", "von", "bin",
        "al", "ter", "ten", "y",
    )
)  # fmt: skip

COLON = re.compile(
    rf"^[ \t]*(?:(?P<ts1>{_TS})[ \t]*(?:[-–—|][ \t]*)?)?"
    rf"{_BOLD}(?P<speaker>{_LABEL}{_AFFILIATION}){_BOLD}"
    rf"(?:[ \t]*(?P<ts2>{_TS}))?[ \t]?:{_BOLD}(?:[ \t]+(?:(?P<ts3>{_TS})(?:[ \t]+|$))?|$)"
)
BRACKET = re.compile(
    rf"^[ \t]*(?:(?P<ts1>{_TS})[ \t]*)?\[(?P<speaker>{_LABEL})\]"
    rf"(?:[ \t]*(?P<ts2>{_TS}))?[ \t]*:?(?:[ \t]+|$)"
)
HEADER = re.compile(rf"^[ \t]*(?P<speaker>{_LABEL})[ \t]+(?P<ts2>{_TS})[ \t]*$")
CONVENTIONS = {"colon": COLON, "bracket": BRACKET, "header": HEADER}
TIME_ONLY = re.compile(rf"^[ \t]*{_TS}[ \t]*$")
NOT_TALK = re.compile(r"^[ \t]*(?:#{1,6}[ \t]|(?:-[ \t]*){3,}$|(?:\*[ \t]*){3,}$|(?:_[ \t]*){3,}$)")


def _is_label(label: str) -> bool:
    words = label.split(" (", 1)[0].split(" ")
    if not (words[0][0].isupper() or words[0][0].isdigit()):
        return False
    return all(w[0].isupper() or w[0].isdigit() or w in PARTICLES for w in words[1:])


# A speaker label and its timestamps fit in this many characters; longer lines are matched on
# their start only, so a 100 MB line costs no more than a short one (no regex backtracking
# over the whole line).
LABEL_PREFIX = 1000


def _match(pattern: re.Pattern[str], line: str) -> re.Match[str] | None:
    if len(line) > LABEL_PREFIX:
        if pattern is HEADER:  # "Name  0:03" is a short line by definition
            return None
        line = line[:LABEL_PREFIX]
    match = pattern.match(line)
    if match is None or not _is_label(match["speaker"]):
        return None
    if pattern is BRACKET and is_nonspeech(f"[{match['speaker']}]"):
        return None
    return match


def detect_convention(lines: list[str]) -> str:
    """The speaker convention most lines of the file follow (colon wins ties)."""
    counts = dict.fromkeys(CONVENTIONS, 0)
    seen = 0
    for line in lines:
        if not line.strip():
            continue
        seen += 1
        if seen > 5000:  # enough to know; keeps long files fast
            break
        for name, pattern in CONVENTIONS.items():
            if _match(pattern, line):
                counts[name] += 1
    return max(counts, key=lambda name: (counts[name], name == "colon"))


@dataclass
class _OpenTurn:
    speaker: str
    start_s: float | None
    line_start: int = 0
    line_end: int = 0
    char_start: int = -1
    char_end: int = -1


def _start_time(match: re.Match[str]) -> float | None:
    for group in ("ts1", "ts2", "ts3"):
        value = match.groupdict().get(group)
        if value:
            return parse_clock(value)
    return None


def parse_turns(plain: str, transcript_id: str, convention: str | None = None) -> list[Turn]:
    """The turns of ``plain`` (LF line ends); offsets and lines refer to ``plain``."""
    lines = plain.split("\n")
    pattern = CONVENTIONS[convention or detect_convention(lines)]
    turns: list[Turn] = []
    current: _OpenTurn | None = None
    pending_time: float | None = None

    def close() -> None:
        if current is not None and current.char_start >= 0:
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
                    start_s=current.start_s,
                )
            )

    offset = 0
    for number, line in enumerate(lines, start=1):
        start = offset
        offset += len(line) + 1
        if not line.strip():
            continue
        if NOT_TALK.match(line):
            close()
            current = None
            continue
        if TIME_ONLY.match(line):
            pending_time = parse_clock(line)
            continue
        match = _match(pattern, line)
        end = start + len(line.rstrip())
        if match:
            close()
            time = _start_time(match)
            current = _OpenTurn(match["speaker"], time if time is not None else pending_time)
            pending_time = None
            text_from = start + match.end()
            while text_from < end and plain[text_from].isspace():
                text_from += 1
            if text_from < end:
                current.line_start = current.line_end = number
                current.char_start, current.char_end = text_from, end
        elif current is not None:
            if current.char_start < 0:
                current.line_start = number
                current.char_start = start + len(line) - len(line.lstrip())
            current.line_end, current.char_end = number, end
    close()
    return turns


def read_text_transcript(path: Path, transcript_id: str, source: str) -> Transcript:
    """Read one text or Markdown transcript, keeping line numbers and char offsets."""
    plain = read_text(path)
    turns = parse_turns(plain, transcript_id)
    if not turns:
        raise InputError(
            path,
            "no speaker turns found (expected lines such as 'Name: what they said', "
            "'[Name] what they said' or 'Name  0:03' above the text)",
            line=1,
        )
    return Transcript(
        id=transcript_id,
        source=source,
        path=str(path),
        format="text",
        plain_text=plain,
        turns=tuple(turns),
    )
