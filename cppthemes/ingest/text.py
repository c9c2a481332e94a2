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
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

from cppthemes.errors import InputError
from cppthemes.ingest.decode import read_text
from cppthemes.ingest.nonspeech import is_nonspeech
from cppthemes.ingest.timecode import TIMESTAMP, parse_clock
from cppthemes.records import Transcript, Turn

# A speaker label is one to four words ("Facilitator", "Speaker 2", "Dr. Lee", "P3", "nR1-01",
# "therapist"). Which prefixes are labels is decided per file (`infer_labels`): a label shaped
# like a name (capitals or digits, `_shaped`) counts wherever it stands; any other label counts
# when it recurs at line starts, so "client:" on every other line is a speaker and a one-off
# "so the thing is:" continues the turn.
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


def _shaped(label: str) -> bool:
    """A label shaped like a name or code: each word opens with a capital or a digit."""
    words = label.split(" (", 1)[0].split(" ")
    if not (words[0][0].isupper() or words[0][0].isdigit()):
        return False
    return all(w[0].isupper() or w[0].isdigit() or w in PARTICLES for w in words[1:])


_is_label = _shaped  # the name other modules knew it by

# Words that open or fill sentences in the languages of our users: a lower-case prefix made of
# several words that holds one of these ("and he said:", "det er:") is talk, not a speaker,
# however often it recurs. One-word prefixes are judged by recurrence alone ("client:").
FUNCTION_WORDS = frozenset(
    (  # noqa: SIM905 - a word list reads better as text
        "the a an and or but so then well because if that this it is was are were be been he "
        "she they we you my his her their our your said says say told asked ask like of to in "
        "on at for with what which who how why when where there here not do did does have has "
        "had me them us him just also one thing point is question answer "
        "og så men det er var jeg du han hun vi de sa sier som at en et den til på ikke med "
        "och är och att jag hon der die das und ist ich sie le la les et est je il elle"
    ).split()
)
MAX_LOWER_WORDS = 3  # "interviewer two", "nurse anne"; longer lower-case prefixes are talk
MIN_REPEAT = 2  # uses at line starts that make a lower-case prefix a label


def _shape(label: str) -> str:
    """A code's shape: letters by case, digits as 9, runs collapsed ('nR1-01' -> 'aA9-9')."""
    out: list[str] = []
    for ch in label:
        cls = "9" if ch.isdigit() else "A" if ch.isupper() else "a" if ch.isalpha() else ch
        if not out or out[-1] != cls:
            out.append(cls)
    return "".join(out)


def _plausible(label: str) -> bool:
    words = label.split(" (", 1)[0].lower().split(" ")
    if len(words) > MAX_LOWER_WORDS:
        return False
    if len(words) > 1 and any(w in FUNCTION_WORDS for w in words):
        return False
    return not (len(words) == 1 and len(words[0]) > 1 and words[0] in FUNCTION_WORDS)


def infer_labels(counts: Counter[str]) -> frozenset[str]:
    """Which line-start prefixes of one file are speaker labels (see the comment at `_LABEL`).

    ``counts`` is how often each prefix opens a line. Accepted: prefixes shaped like names;
    lower-case or mixed ones used at least `MIN_REPEAT` times that are not sentence openings;
    and a one-off code with the shape of a recurring one ("nR1-07" beside "nR1-01"), so the
    participant who spoke once keeps their turn.
    """
    accepted = {s for s in counts if _shaped(s)}
    recurring = {
        s for s, n in counts.items() if s not in accepted and n >= MIN_REPEAT and _plausible(s)
    }
    shapes = {_shape(s) for s in recurring}
    coded = {sh for sh in shapes if any(not c.isalpha() for c in sh)}
    once = {
        s
        for s, n in counts.items()
        if s not in accepted and s not in recurring and _plausible(s) and _shape(s) in coded
    }
    return frozenset(accepted | recurring | once)


# A speaker label and its timestamps fit in this many characters; longer lines are matched on
# their start only, so a 100 MB line costs no more than a short one (no regex backtracking
# over the whole line).
LABEL_PREFIX = 1000


def _candidate(pattern: re.Pattern[str], line: str) -> re.Match[str] | None:
    """The pattern's match at the start of ``line`` if its speaker could be a label."""
    if len(line) > LABEL_PREFIX:
        if pattern is HEADER:  # "Name  0:03" is a short line by definition
            return None
        line = line[:LABEL_PREFIX]
    match = pattern.match(line)
    if match is None:
        return None
    if pattern is BRACKET and is_nonspeech(f"[{match['speaker']}]"):
        return None
    return match


HEADER_WORDS = 6  # a header entry above the talk ("Date: 3 May 2024") is this short


@dataclass(frozen=True)
class Scan:
    """One pass of a convention over a file: candidate matches per line, and the labels."""

    matches: list[re.Match[str] | None]
    labels: frozenset[str]
    # Index of the first line whose label recurs: short one-off entries above it ("Date: 3
    # May", "Location: ward 4") are the file's header, not speakers; a longer one is talk.
    talk_from: int = 0
    recurring: frozenset[str] = frozenset()

    def match(self, index: int) -> re.Match[str] | None:
        found = self.matches[index]
        if found is None or found["speaker"] not in self.labels:
            return None
        if index >= self.talk_from or found["speaker"] in self.recurring:
            return found
        rest = found.string[found.end() :].split()
        return found if len(rest) > HEADER_WORDS else None

    @property
    def turn_lines(self) -> int:
        return sum(1 for i in range(len(self.matches)) if self.match(i))


def scan(pattern: re.Pattern[str], lines: list[str], limit: int | None = None) -> Scan:
    """Match ``pattern`` on every line (the first ``limit`` non-blank ones) and infer labels."""
    matches: list[re.Match[str] | None] = []
    seen = 0
    for line in lines:
        if not line.strip():
            matches.append(None)
            continue
        seen += 1
        if limit is not None and seen > limit:
            break
        matches.append(_candidate(pattern, line))
    counts = Counter(m["speaker"] for m in matches if m is not None)
    labels = infer_labels(counts)
    talk_from = next(
        (
            i
            for i, m in enumerate(matches)
            if m is not None and m["speaker"] in labels and counts[m["speaker"]] >= MIN_REPEAT
        ),
        0,
    )
    recurring = frozenset(s for s, n in counts.items() if n >= MIN_REPEAT)
    return Scan(matches, labels, talk_from, recurring)


def detect_convention(lines: list[str]) -> str:
    """The speaker convention most lines of the file follow (colon wins ties)."""
    counts = {name: scan(p, lines, limit=5000).turn_lines for name, p in CONVENTIONS.items()}
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


@dataclass(frozen=True)
class TextTurns:
    """The turns of a text, and what the reader noticed on the way.

    ``attached`` counts lines that open with a prefix that could have been a speaker label
    ("therapist:" used once) but was not taken for one, so their talk joined the turn above:
    many of them mean labels were missed, which is a warning, not a silent merge.
    """

    turns: list[Turn]
    convention: str
    labels: frozenset[str]
    attached: int = 0
    attached_example: str = ""


def parse_turns(
    plain: str,
    transcript_id: str,
    convention: str | None = None,
    labels: frozenset[str] | None = None,
) -> list[Turn]:
    """The turns of ``plain`` (LF line ends); offsets and lines refer to ``plain``."""
    return read_turns(plain, transcript_id, convention, labels).turns


def read_turns(
    plain: str,
    transcript_id: str,
    convention: str | None = None,
    labels: frozenset[str] | None = None,
) -> TextTurns:
    """`parse_turns` with the reader's notes; ``labels`` overrides the file's own inference."""
    lines = plain.split("\n")
    name = convention or detect_convention(lines)
    pattern = CONVENTIONS[name]
    found = scan(pattern, lines)
    if labels is not None:
        found = Scan(found.matches, labels, found.talk_from, found.recurring)
    turns: list[Turn] = []
    current: _OpenTurn | None = None
    pending_time: float | None = None
    attached = 0
    example = ""

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
        match = found.match(number - 1)
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
            candidate = found.matches[number - 1]
            if candidate is not None and _plausible(candidate["speaker"]):
                attached += 1
                example = example or candidate["speaker"]
            if current.char_start < 0:
                current.line_start = number
                current.char_start = start + len(line) - len(line.lstrip())
            current.line_end, current.char_end = number, end
    close()
    return TextTurns(turns, name, found.labels, attached, example)


ATTACHED_SHARE = 0.1  # share of a file's talk lines glued to the turn above that is a warning


def attached_note(read: TextTurns, lines: int) -> str | None:
    """The warning for many label-like lines read as continuations, if there were many."""
    if read.attached < 3 or read.attached < ATTACHED_SHARE * max(lines, 1):
        return None
    return (
        f"{read.attached} of {lines} lines open with a prefix like {read.attached_example + ':'!r}"
        " that was not taken for a speaker label (too rare in this file), so their words joined "
        "the turn above; if they are speakers, use one label per speaker consistently"
    )


def read_text_transcript(path: Path, transcript_id: str, source: str) -> Transcript:
    """Read one text or Markdown transcript, keeping line numbers and char offsets."""
    plain = read_text(path)
    read = read_turns(plain, transcript_id)
    if not read.turns:
        raise InputError(
            path,
            "no speaker turns found (expected lines such as 'Name: what they said', "
            "'[Name] what they said' or 'Name  0:03' above the text)",
            line=1,
        )
    turns = tuple(replace(t, ref_line=t.line_start) for t in read.turns)
    talk_lines = sum(t.line_end - t.line_start + 1 for t in turns)
    note = attached_note(read, talk_lines)
    return Transcript(
        id=transcript_id,
        source=source,
        path=str(path),
        format="text",
        plain_text=plain,
        turns=turns,
        notes=(note,) if note else (),
    )
