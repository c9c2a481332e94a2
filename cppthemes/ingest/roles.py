"""Who is the facilitator? Speaker roles per transcript, decided once, at ingest, from the file.

In order, for each transcript (the first rule that names someone decides):

1. ``manifest``: the file's facilitator names from the manifest (a ``facilitator`` column);
2. ``given``: names given for the corpus (``--facilitator NAME``, ``ingest.facilitators``)
   that speak in this transcript;
3. ``name``: speakers whose label is a known facilitator name (``ingest.facilitator_labels``:
   Facilitator, Moderator, Interviewer, INT, Therapist...), ignoring case, a trailing number
   ("Interviewer 2") and a name in brackets ("Interviewer (Dan)"); or, when every other
   speaker is labelled as a participant ("Client", "Respondent", "P3", "R"), the one speaker
   who is not, if they ask questions;
4. ``questions`` (when ``ingest.detect_facilitator`` is on): the speaker whose own talk is
   the facilitator's. Their turns end in questions, are short prompts ("Go on.", "And
   then?") followed by someone else's longer answer, or are reflections ("It sounds like you
   ..."), far more often than anyone else's (`MARGIN`), in a good share of their turns
   (`MIN_SHARE`); in a two-speaker session they also say clearly less than the other
   (`MAX_WORD_SHARE`). A tag ("..., isn't it?", "you know?") is not a question. When only
   some of these hold, the asker is still taken, but the transcript is flagged uncertain. A
   conversation between equals (two callers, a meeting) keeps everyone a participant;
5. ``corpus``: a named speaker (not ``SPEAKER_00``, ``A``, ``Speaker 2``) who is the
   facilitator by rules 3-4 in at least two other transcripts, and in most of those they speak
   in, is the facilitator where they speak and detection was unsure (one interviewer, seven
   interviews: the two where the participant asked many questions too);
6. ``none``: everyone is a participant.

Each transcript gets ``roles`` (speaker -> role), ``roles_from`` (the rule), ``roles_evidence``
(the numbers, in words) and ``roles_uncertain``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from cppthemes.ingest.nonspeech import strip_nonspeech
from cppthemes.records import Transcript

MIN_QUESTIONS = 3  # asking turns the facilitator must have at least (2 in a short session)
SHORT_SESSION = 12  # turns; below this two asking turns are enough
MIN_SHARE = 0.3  # share of their turns that ask
MARGIN = 2.0  # at least this many times the asking turns of the next speaker
UNSURE_MARGIN = 1.4  # between this and MARGIN the asker is taken, flagged uncertain
MAX_WORD_SHARE = 0.4  # in a two-speaker session the asker says clearly less than the other
UNSURE_WORD_SHARE = 0.5  # up to this share the asker is taken, flagged uncertain
PROMPT_WORDS = 12  # a prompt is at most this long ...
ANSWER_WORDS = 20  # ... and is followed by another speaker's turn at least this long

_NUMBER = re.compile(r"[\s_\-.#]*\d+[a-z]?$")
_BRACKETS = re.compile(r"\s*\([^()]*\)\s*$")
# Labels that say "a participant": the other speaker of such a session is the one who asks.
_PARTICIPANT = re.compile(
    r"^(?:participant|respondent|interviewee|client|patient|informant|deltaker|"
    r"klient|pasient|resp|part|pt|cl|c|p|r|ip)(?:[\s_\-.#]*\d+[a-z]?)?$"
)
# Labels that name a position in the recording, not a person: never carried across files.
_GENERIC = re.compile(
    r"^(?:speaker|spk|person|voice|unknown|talker|channel|s)?[\s_\-.#]*(?:\d+|[a-z])$"
)
# Openings of a question without a question mark (transcribers drop them), en and nb.
_ASKING = re.compile(
    r"^(?:what|how|why|when|where|who|which|can you|could you|would you|do you|did you|"
    r"are you|is there|have you|tell me|talk me through|describe|say more|hva|hvordan|"
    r"hvorfor|når|hvor|hvem|kan du|kunne du|fortell|har du|er det)\b",
    re.IGNORECASE,
)
_LAST_SENTENCE = re.compile(r"[^.!?]*[.!?]*\s*$")
# Reflections, the counsellor's other way of asking ("It sounds like you felt alone."): a
# turn opening like this, answered by the other speaker, is a prompt at any length.
_REFLECTING = re.compile(
    r"^(?:so\s+)?(?:it sounds like|sounds like|it seems|you feel|you're feeling|you felt|"
    r"you're saying|what i'm hearing|i'm hearing|so you|det høres ut som|du føler|"
    r"så du)\b",
    re.IGNORECASE,
)
# A tag at the end of a statement ("..., isn't it?", "you know?") seeks agreement, not an
# answer: equals in a conversation use them as often as interviewers ask.
_TAG_QUESTION = re.compile(
    r"(?:\b(?:isn't it|is it|wasn't it|aren't they|don't you think|didn't they|right|you know|"
    r"innit|eh|huh|ok|okay|yeah|ikke sant|sant|ikke|vel|eller)\s*\?+)$",
    re.IGNORECASE,
)


def _key(name: str) -> str:
    return " ".join(name.lower().split())


def _base(name: str) -> str:
    """'Interviewer (Dan)' -> 'interviewer'; 'Interviewer 2' -> 'interviewer'."""
    key = _BRACKETS.sub("", _key(name))
    return _NUMBER.sub("", key) or key


def is_generic(name: str) -> bool:
    """A positional label (``SPEAKER_00``, ``A``, ``Speaker 2``): not one person across files."""
    return bool(_GENERIC.match(_key(name)))


def _is_participant_label(name: str) -> bool:
    return bool(_PARTICIPANT.match(_key(name)) or _PARTICIPANT.match(_base(name)))


def asks(text: str, *, stripped: str | None = None) -> bool:
    """True when a turn ends by asking: a final question mark, or a question's opening words.

    ``stripped``: ``strip_nonspeech(text)`` when the caller has it already."""
    talk = (strip_nonspeech(text) if stripped is None else stripped).strip()
    talk = talk.rstrip("\"'”’)»").rstrip()
    if not talk:
        return False
    if talk.endswith("?"):
        return not _TAG_QUESTION.search(talk)
    sentence = last_sentence(talk).strip()
    return bool(_ASKING.match(sentence)) and len(sentence.split()) >= 3


def last_sentence(text: str) -> str:
    """What ``_LAST_SENTENCE.search(text)`` matches, found from the end in linear time.

    The pattern (no end mark, end marks, spaces, the end) matches from just after the last
    end mark before the text's closing marks and spaces; ``re.search`` finds that by trying
    every start, which took seconds on transcripts with long unpunctuated turns.
    tests/test_rerun_caches.py checks it against the pattern.
    """
    end = len(text)
    while end and text[end - 1].isspace():
        end -= 1
    stop = end
    while stop and text[stop - 1] in ".!?":
        stop -= 1
    start = max(text.rfind(".", 0, stop), text.rfind("!", 0, stop), text.rfind("?", 0, stop))
    return text[start + 1 :]


def _prompt_words(talk: str, backchannel: frozenset[str]) -> int:
    """Words of ``talk`` (non-speech stripped) that are not back-channel words."""
    words = [w.strip(".,!?;:'\"").lower() for w in talk.split()]
    return sum(1 for w in words if w and w not in backchannel)


@dataclass(frozen=True)
class SpeakerTalk:
    """What one speaker's own talk in one transcript says about their role."""

    speaker: str
    turns: int
    words: int
    questions: int
    prompts: int

    @property
    def asking(self) -> int:
        return self.questions + self.prompts


def talk_profile(transcript: Transcript) -> dict[str, SpeakerTalk]:
    """Per speaker: turns, words, turns that ask, and short prompts answered at length.

    A back-channel ("Uh-huh.", "Yeah, right.") before a long turn is listening, not a prompt:
    a prompt needs two words beyond back-channel words ("Go on.", "Say more about that.").
    """
    from cppthemes.segment import BACKCHANNEL as backchannel  # segment imports ingest

    turns = transcript.turns
    talks = [strip_nonspeech(t.text) for t in turns]
    lengths = [len(talk.split()) for talk in talks]
    count: Counter[str] = Counter()
    words: Counter[str] = Counter()
    questions: Counter[str] = Counter()
    prompts: Counter[str] = Counter()
    for i, turn in enumerate(turns):
        count[turn.speaker] += 1
        words[turn.speaker] += lengths[i]
        if asks(turn.text, stripped=talks[i]):
            questions[turn.speaker] += 1
        elif i + 1 < len(turns) and turns[i + 1].speaker != turn.speaker:
            short = (
                lengths[i] <= PROMPT_WORDS
                and lengths[i + 1] >= ANSWER_WORDS
                and _prompt_words(talks[i], backchannel) >= 2
            )
            if short or _REFLECTING.match(talks[i].strip()):
                prompts[turn.speaker] += 1
    return {
        s: SpeakerTalk(s, count[s], words[s], questions[s], prompts[s])
        for s in dict.fromkeys(t.speaker for t in turns)
    }


@dataclass(frozen=True)
class Detection:
    """The asker of one transcript (or None), how sure, and the numbers in words."""

    speaker: str | None
    uncertain: bool
    evidence: str


def _describe(p: SpeakerTalk, total_words: int) -> str:
    share = p.words / total_words if total_words else 0.0
    return (
        f"{p.speaker} asks in {p.asking} of {p.turns} turns "
        f"({p.questions} questions, {p.prompts} prompts), {share:.0%} of words"
    )


def detect_asker(
    transcript: Transcript, profile: Mapping[str, SpeakerTalk] | None = None
) -> Detection:
    """The speaker who asks, from their own talk (module docstring, rule 4); ``profile``:
    its ``talk_profile`` when the caller has it already."""
    profile = talk_profile(transcript) if profile is None else profile
    total_words = sum(p.words for p in profile.values())
    ranked = sorted(profile.values(), key=lambda p: (-p.asking, -p.asking / p.turns, p.speaker))
    if len(ranked) < 2:
        return Detection(None, False, "one speaker")
    top, second = ranked[0], ranked[1]
    evidence = f"{_describe(top, total_words)}; {_describe(second, total_words)}"
    minimum = 2 if len(transcript.turns) < SHORT_SESSION else MIN_QUESTIONS
    if top.asking < minimum or top.asking < MIN_SHARE * top.turns:
        return Detection(None, False, evidence)
    margin = top.asking / max(second.asking, 0.5)
    word_share = top.words / total_words if total_words else 0.0
    two = len(profile) == 2
    quiet = not two or word_share < MAX_WORD_SHARE
    if margin >= MARGIN and quiet:
        return Detection(top.speaker, False, evidence)
    if margin >= UNSURE_MARGIN and (not two or word_share < UNSURE_WORD_SHARE):
        return Detection(top.speaker, True, evidence)
    return Detection(None, False, evidence)


def _by_name(
    speakers: list[str], known: set[str], profile: Mapping[str, SpeakerTalk]
) -> tuple[set[str], str]:
    named = {s for s in speakers if _key(s) in known or _base(s) in known}
    if named:
        return named, "label in ingest.facilitator_labels: " + ", ".join(sorted(named))
    others = [s for s in speakers if not _is_participant_label(s)]
    if len(others) == 1 and len(speakers) > 1 and profile[others[0]].asking >= 1:
        listed = ", ".join(s for s in speakers if s != others[0])
        return {others[0]}, f"the only speaker not labelled as a participant ({listed})"
    return set(), ""


def assign_roles(
    transcripts: Sequence[Transcript],
    *,
    known: Iterable[str],
    given: Iterable[str] = (),
    per_transcript: Mapping[str, Sequence[str]] | None = None,
    detect: bool = True,
) -> list[Transcript]:
    """Transcripts with ``roles``, ``roles_from``, ``roles_evidence`` and ``roles_uncertain``."""
    known_names = {_key(n) for n in known} | {_base(n) for n in known}
    given_names = {_key(n) for n in given}
    per_transcript = per_transcript or {}
    decided: list[tuple[set[str], str, str, bool]] = []
    for transcript in transcripts:
        speakers = list(dict.fromkeys(t.speaker for t in transcript.turns))
        profile = talk_profile(transcript)
        from_manifest = {_key(n) for n in per_transcript.get(transcript.id, ())}
        facilitators: set[str] = set()
        basis, evidence, uncertain = "none", "", False
        for names, label, what in (
            (from_manifest, "manifest", "named in the manifest"),
            (given_names, "given", "named with --facilitator"),
        ):
            facilitators = {s for s in speakers if _key(s) in names}
            if facilitators:
                basis, evidence = label, f"{what}: {', '.join(sorted(facilitators))}"
                break
        if not facilitators:
            facilitators, evidence = _by_name(speakers, known_names, profile)
            basis = "name" if facilitators else "none"
        if not facilitators and detect:
            found = detect_asker(transcript, profile)
            evidence = found.evidence
            if found.speaker is not None:
                facilitators, basis, uncertain = {found.speaker}, "questions", found.uncertain
        decided.append((facilitators, basis, evidence, uncertain))
    if detect:
        decided = _across_corpus(transcripts, decided)
    out: list[Transcript] = []
    for transcript, (facilitators, basis, evidence, uncertain) in zip(
        transcripts, decided, strict=True
    ):
        speakers = list(dict.fromkeys(t.speaker for t in transcript.turns))
        roles = {s: "facilitator" if s in facilitators else "participant" for s in speakers}
        out.append(
            replace(
                transcript,
                roles=roles,
                roles_from=basis,
                roles_evidence=evidence,
                roles_uncertain=uncertain,
            )
        )
    return out


def _across_corpus(
    transcripts: Sequence[Transcript], decided: list[tuple[set[str], str, str, bool]]
) -> list[tuple[set[str], str, str, bool]]:
    """Rule 5: a named facilitator of other transcripts, where detection was unsure."""
    sure: Counter[str] = Counter()
    present: Counter[str] = Counter()
    for transcript, (facilitators, basis, _, uncertain) in zip(transcripts, decided, strict=True):
        speakers = {_key(t.speaker) for t in transcript.turns}
        present.update(speakers)
        if basis in ("name", "questions") and not uncertain:
            sure.update(_key(s) for s in facilitators if not is_generic(s))
    out = []
    for transcript, entry in zip(transcripts, decided, strict=True):
        facilitators, basis, evidence, uncertain = entry
        if basis in ("manifest", "given", "name") or (basis == "questions" and not uncertain):
            out.append(entry)
            continue
        names = list(dict.fromkeys(t.speaker for t in transcript.turns))
        usual = [
            s
            for s in names
            if not is_generic(s)
            and sure[_key(s)] >= 2
            and sure[_key(s)] > (present[_key(s)] - 1) / 2
        ]
        if len(usual) == 1 and len(names) > 1:
            name = usual[0]
            note = (
                f"{name} is the facilitator in {sure[_key(name)]} of the "
                f"{present[_key(name)] - 1} other transcripts they speak in"
            )
            out.append(({name}, "corpus", f"{note}; here: {evidence}" if evidence else note, False))
        else:
            out.append(entry)
    return out
