"""People, not speaker-transcript pairs: who a passage's speaker is across a study.

"161 passages from 37 participants" in a corpus of 20 people is wrong when the same person
speaks in wave 1 and wave 2. The rule, in order (docs/clustering.md, "People"):

1. a manifest column ``participant_ids`` ("Maria=P07; Erik=P12") names the person behind each
   speaker label of that transcript;
2. a manifest column ``participant`` (or ``participant_id``) names the one participant of a
   transcript (an interview): every non-facilitator speaker of it is that person;
3. a speaker label that is a name ("Maria", "erik") is the same person wherever it recurs in
   the study (any case);
4. a generic label ("Speaker 2", "P3", "Participant 1", "A", "Caller") is a person only within
   its transcript: P3 of one focus group is not P3 of another.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from cppthemes.records import Passage

RULE = (
    "one person per manifest participant id, else per speaker label that is a name (across "
    "transcripts, any case), else per generic label (Speaker 1, P2, A) within its transcript"
)
GENERIC = re.compile(r"[a-z]|[a-z]{1,3}[\s_\-#]*\d+[a-z]?|\d+", re.IGNORECASE)
# Words that make a label a role, not a name: a role recurs across transcripts with different
# people in it ("Project Manager" of every meeting, "Grad A", "Speaker 2").
ROLE_WORDS = frozenset(
    (  # noqa: SIM905 - a word list reads better as text
        "speaker participant respondent interviewee informant caller person member unknown "
        "student teacher nurse doctor parent mother father child guest host chair minister "
        "professor grad postdoc phd undergrad manager designer marketing interface user "
        "expert engineer staff patient client group team voice audience moderator panel "
        "deltaker informant lærer forelder mor far barn pasient "
        "teilnehmer teilnehmerin sprecher sprecherin befragte befragter lehrer patientin"
    ).split()
)


def _listed(value: str) -> dict[str, str]:
    """``"Maria=P07; Erik=P12"`` -> {"maria": "P07", "erik": "P12"}."""
    out = {}
    for part in re.split(r"[;,]", value):
        label, _, pid = part.partition("=")
        if label.strip() and pid.strip():
            out[label.strip().lower()] = pid.strip()
    return out


def is_generic(label: str) -> bool:
    """Whether a speaker label names a role or a number rather than a person."""
    text = label.strip()
    if not text or GENERIC.fullmatch(text) or not any(ch.isalpha() for ch in text):
        return True
    words = re.findall(r"[^\W\d_]+", text.lower())
    return any(w in ROLE_WORDS for w in words)


def person_of(p: Passage) -> str:
    """The person behind a passage's speaker, as a key unique within the study."""
    listed = p.metadata.get("participant_ids")
    if listed:
        found = _listed(listed).get(p.speaker.strip().lower())
        if found:
            return f"id:{found}"
    single = p.metadata.get("participant") or p.metadata.get("participant_id")
    if single:
        return f"id:{single.strip()}"
    if is_generic(p.speaker):
        return f"{p.transcript_id}\0{p.speaker}"
    return f"name:{p.speaker.strip().lower()}"


def count_people(passages: Iterable[Passage]) -> int:
    """How many people speak in ``passages`` (see the module for the rule)."""
    return len({person_of(p) for p in passages})


def summary(passages: Iterable[Passage]) -> dict[str, object]:
    """What run.json keeps: the rule, people, and the speaker-transcript pairs beside them."""
    listed = list(passages)
    return {
        "rule": RULE,
        "people": count_people(listed),
        "speaker_transcript_pairs": len({(p.transcript_id, p.speaker) for p in listed}),
    }
