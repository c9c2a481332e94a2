"""Every line accounted for: what each transcript gave, and the warnings a run must raise.

A run that silently turns a transcript into nothing (labels not understood, every speaker taken
for the facilitator) looks like a good run with a high coverage. So for every transcript the
run counts the lines read, the turns (by role), the passages, the back-channels and the lines
that belong to no turn, and raises a warning where the numbers say something went wrong:

- the transcript yields no passage;
- the reader attached many label-like lines to the turn above (``Transcript.notes``), or noticed
  something else (a file that mixes encodings);
- a large share of its lines belong to no turn (labels not recognised before the talk starts);
- its speaker count looks wrong: one speaker where the other transcripts have several, or
  dozens of speakers most of whom speak once under a one-word label (sentences read as
  labels);
- the facilitator was decided on thin evidence, or none was found where most other
  transcripts have one.

Warnings go to stderr at the end of the run, into ``run.json`` (``warnings``) and to the top of
the report; ``--strict`` (``ingest.strict``) turns them into errors before anything is written.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from cppthemes.config import SegmentConfig
from cppthemes.errors import InputError
from cppthemes.records import Account, Passage, Skipped, Transcript
from cppthemes.segment import is_substantive, speaker_role

NO_TURN_SHARE = 0.2  # share of a transcript's lines in no turn that is a warning (with >= 5)
MANY_SPEAKERS = 25  # more speakers than this, most speaking once, looks like misread labels


def _talk_lines(transcript: Transcript) -> tuple[int, int]:
    """Non-blank lines of the plain text, and how many of them lie inside a turn."""
    lines = transcript.plain_text.split("\n")
    inside = bytearray(len(lines) + 2)
    for turn in transcript.turns:
        inside[turn.line_start : turn.line_end + 1] = b"\x01" * (
            turn.line_end - turn.line_start + 1
        )
    total = in_turns = 0
    for number, line in enumerate(lines, start=1):
        if line.strip():
            total += 1
            in_turns += inside[number]
    return total, in_turns


def account(
    transcripts: Sequence[Transcript],
    cfg: SegmentConfig,
    passages: Sequence[Passage] | None = None,
) -> list[Account]:
    """One `Account` per transcript; passage counts when ``passages`` are given."""
    per: dict[str, int] = {}
    for p in passages or ():
        per[p.transcript_id] = per.get(p.transcript_id, 0) + 1
    out = []
    for t in transcripts:
        lines, in_turns = _talk_lines(t)
        facilitator = [
            turn for turn in t.turns if speaker_role(t, turn.speaker, cfg) == "facilitator"
        ]
        participant = [
            turn for turn in t.turns if speaker_role(t, turn.speaker, cfg) != "facilitator"
        ]
        out.append(
            Account(
                source=t.source,
                path=t.path,
                lines=lines,
                lines_in_turns=in_turns,
                lines_in_no_turn=lines - in_turns,
                turns=len(t.turns),
                facilitator_turns=len(facilitator),
                participant_turns=len(participant),
                backchannels=sum(
                    1 for turn in participant if not is_substantive(turn.text, cfg.min_words)
                ),
                speakers=len({turn.speaker for turn in t.turns}),
                passages=None if passages is None else per.get(t.id, 0),
                facilitators=tuple(s for s, r in t.roles.items() if r == "facilitator"),
                roles_from=t.roles_from,
                roles_evidence=t.roles_evidence,
                roles_uncertain=t.roles_uncertain,
            )
        )
    return out


def _no_passage(a: Account) -> str:
    why = (
        "every turn is the facilitator's"
        if a.participant_turns == 0
        else "every participant turn is a back-channel"
        if a.backchannels == a.participant_turns
        else "no participant turn became a passage"
    )
    people = f"{a.speakers} speaker" + ("" if a.speakers == 1 else "s")
    return (
        f"yields no passage: {a.turns} turns from {people}, {why} "
        f"(facilitator: {', '.join(a.facilitators) or 'none'}, decided by {a.roles_from}); "
        "are its speaker labels read right? (`cppthemes ingest` shows them)"
    )


def warnings_for(transcripts: Sequence[Transcript], accounts: Sequence[Account]) -> list[Skipped]:
    """The warnings of the module docstring, in transcript order."""
    out: list[Skipped] = []
    speakers = [a.speakers for a in accounts]
    typical = statistics.median(speakers) if speakers else 0
    with_facilitator = sum(1 for a in accounts if a.facilitators)
    for t, a in zip(transcripts, accounts, strict=True):
        if a.passages == 0:
            out.append(Skipped(a.path, None, _no_passage(a)))
        for note in t.notes:
            out.append(Skipped(a.path, None, note))
        if a.lines_in_no_turn >= 5 and a.lines_in_no_turn > NO_TURN_SHARE * a.lines:
            first = min((turn.line_start for turn in t.turns), default=1)
            out.append(
                Skipped(
                    a.path,
                    first,
                    f"{a.lines_in_no_turn} of {a.lines} lines belong to no speaker turn "
                    "(before the first label, or headings); they are not analysed",
                )
            )
        if a.speakers == 1 and typical >= 2 and len(accounts) > 1:
            out.append(
                Skipped(
                    a.path,
                    None,
                    f"only one speaker ({t.turns[0].speaker}) where the other transcripts have "
                    f"{typical:g}; were the other speakers' labels read as talk?",
                )
            )
        once = _one_word_once(t)
        if a.speakers > MANY_SPEAKERS and once > a.speakers / 2:
            out.append(
                Skipped(
                    a.path,
                    None,
                    f"{a.speakers} speakers, {once} of them one word with a single turn: are "
                    "sentences with a colon ('However: ...') being read as speaker labels?",
                )
            )
        if a.roles_uncertain:
            out.append(
                Skipped(
                    a.path,
                    None,
                    f"facilitator {', '.join(a.facilitators)} decided on thin evidence "
                    f"({a.roles_evidence}); check it, or name them with --facilitator",
                )
            )
        elif (
            not a.facilitators
            and a.speakers > 1
            and len(accounts) >= 3
            and with_facilitator >= 2 * (len(accounts) - 1) / 3
        ):
            out.append(
                Skipped(
                    a.path,
                    None,
                    f"no facilitator found, while {with_facilitator} of the other "
                    f"{len(accounts) - 1} transcripts have one ({a.roles_evidence or 'no asker'}); "
                    "name them with --facilitator or in the manifest",
                )
            )
    return out


def corpus_warnings(
    transcripts: Sequence[Transcript],
    cfg: SegmentConfig,
    passages: Sequence[Passage] | None = None,
    earlier: Sequence[Skipped] = (),
) -> tuple[list[Account], list[Skipped]]:
    """Accounts and every warning of a corpus: ``earlier`` ones (from ingest) first."""
    accounts = account(transcripts, cfg, passages)
    return accounts, [*earlier, *warnings_for(transcripts, accounts)]


class WarningsAreErrors(InputError):
    """``--strict``: a run with warnings stops before it writes anything."""


def fail_on_warnings(warnings: Sequence[Skipped]) -> None:
    """Raise the first warning as an error naming its file (and line), counting the rest."""
    if not warnings:
        return
    first = warnings[0]
    more = f"; {len(warnings) - 1} more warnings" if len(warnings) > 1 else ""
    raise WarningsAreErrors(
        first.path, f"{first.reason} (--strict makes warnings errors{more})", line=first.line
    )


def _one_word_once(transcript: Transcript) -> int:
    """Speakers with one turn whose label is one word without digits ("However", "Also"):
    what sentences read as labels look like. A committee's many one-off speakers have full
    names ("Ms. Jenny Kwan (Vancouver East, NDP)") and codes have digits: not counted."""
    counts: dict[str, int] = {}
    for turn in transcript.turns:
        counts[turn.speaker] = counts.get(turn.speaker, 0) + 1
    return sum(
        1
        for s, n in counts.items()
        if n == 1 and " " not in s and not any(ch.isdigit() for ch in s)
    )
