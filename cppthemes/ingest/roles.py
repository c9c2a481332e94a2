"""Who is the facilitator? Speaker roles per transcript, decided once, at ingest.

In order, for each transcript:

1. names given for the corpus (``--facilitator NAME``, ``ingest.facilitators``) or for the
   file (a ``facilitator`` column or key in the manifest): those speakers, and only they;
2. speakers whose label is a known facilitator name (``segment.facilitators``: Facilitator,
   Moderator, Interviewer, I, Q, F...), ignoring case and a trailing number ("Interviewer 2");
3. otherwise, when ``ingest.detect_facilitator`` is on: the speaker who asks the most
   questions among those who appear in every transcript of the corpus (the facilitator of a
   series of groups; in a corpus of one transcript, anyone), but only with a clear margin
   (`MIN_QUESTIONS`, `MIN_SHARE`, `MARGIN`), so that a conversation between equals (two
   callers, a meeting) keeps everyone a participant.

Everyone else is a participant. The result is `Transcript.roles` (every speaker -> role) and
`Transcript.roles_from` (``given``, ``manifest``, ``name``, ``questions`` or ``none``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from cppthemes.records import Transcript

MIN_QUESTIONS = 3  # question turns the facilitator must have asked at least
MIN_SHARE = 0.25  # share of their turns that are questions
MARGIN = 2.0  # at least this many times the questions of the next speaker

_NUMBER = re.compile(r"[\s_\-.#]*\d+$")


def _key(name: str) -> str:
    return " ".join(name.lower().split())


def _base(name: str) -> str:
    return _NUMBER.sub("", _key(name))


def _questioner(transcript: Transcript, candidates: set[str]) -> str | None:
    turns = Counter(t.speaker for t in transcript.turns)
    questions = Counter(t.speaker for t in transcript.turns if "?" in t.text)
    ranked = sorted(candidates, key=lambda s: (-questions[s], s))
    if not ranked or len(turns) < 2:
        return None
    top = ranked[0]
    runner_up = max((questions[s] for s in turns if s != top), default=0)
    if (
        questions[top] >= MIN_QUESTIONS
        and questions[top] >= MIN_SHARE * turns[top]
        and questions[top] >= MARGIN * runner_up
    ):
        return top
    return None


def assign_roles(
    transcripts: Sequence[Transcript],
    *,
    known: Iterable[str],
    given: Iterable[str] = (),
    per_transcript: Mapping[str, Sequence[str]] | None = None,
    detect: bool = True,
) -> list[Transcript]:
    """Transcripts with ``roles`` and ``roles_from`` set (see the module docstring)."""
    known_names = {_key(n) for n in known}
    given_names = {_key(n) for n in given}
    per_transcript = per_transcript or {}
    everywhere: set[str] = (
        set.intersection(*({t.speaker for t in tr.turns} for tr in transcripts))
        if transcripts
        else set()
    )
    out: list[Transcript] = []
    for transcript in transcripts:
        speakers = list(dict.fromkeys(t.speaker for t in transcript.turns))
        from_manifest = {_key(n) for n in per_transcript.get(transcript.id, ())}
        facilitators: set[str] = set()
        basis = "none"
        for names, label in ((from_manifest, "manifest"), (given_names, "given")):
            facilitators = {s for s in speakers if _key(s) in names}
            if facilitators:
                basis = label
                break
        if not facilitators:
            facilitators = {
                s for s in speakers if _key(s) in known_names or _base(s) in known_names
            }
            basis = "name" if facilitators else "none"
        if not facilitators and detect:
            candidates = set(speakers) & everywhere if len(transcripts) > 1 else set(speakers)
            winner = _questioner(transcript, candidates)
            if winner is not None:
                facilitators, basis = {winner}, "questions"
        roles = {s: "facilitator" if s in facilitators else "participant" for s in speakers}
        out.append(replace(transcript, roles=roles, roles_from=basis))
    return out
