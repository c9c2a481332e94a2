"""Non-speech markers that transcribers write into the talk: ``[laughter]``, ``(crosstalk)``.

They stay in the text (the quote is verbatim, and a laugh is part of what happened) but are not
words someone said: segmentation must not count them towards a substantive turn, and labels
must not pick them as keyphrases. Only brackets that open with a known marker word count, so
anonymised names in brackets (``[the clinic]``, ``[Name]``) stay speech.
"""

from __future__ import annotations

import re

MARKERS = (
    "laugh", "laughs", "laughter", "laughing", "chuckle", "chuckles", "giggles", "smiles",
    "crosstalk", "cross-talk", "cross talk", "overlapping", "overtalk", "talking over",
    "inaudible", "unintelligible", "indistinct", "incomprehensible", "unclear", "garbled",
    "pause", "long pause", "short pause", "silence", "sighs", "sigh", "coughs", "cough",
    "clears throat", "background noise", "noise", "music", "applause", "phone", "door",
    "groans", "groan", "nods", "shrugs", "taps", "knock", "knocking", "yawns", "sniffs",
    "interruption", "interrupted", "audio cuts out", "audio drops", "break in recording",
    "blank_audio", "no audio", "foreign language", "speaks in", "whispers", "claps",
)  # fmt: skip

_WORDS = "|".join(re.escape(m) for m in sorted(MARKERS, key=len, reverse=True))
NONSPEECH = re.compile(
    rf"\[\s*(?:{_WORDS})\b[^\[\]\n]{{0,60}}\]|\(\s*(?:{_WORDS})\b[^()\n]{{0,60}}\)",
    re.IGNORECASE,
)


def _bracketed(text: str) -> bool:
    """Whether ``text`` has an opening bracket: a marker needs one, and most turns have none
    (the test is a scan in C; the pattern's alternation of 70 words was tried at every
    character, a fifth of a rerun's ingest and labelling)."""
    return "[" in text or "(" in text


def nonspeech_spans(text: str) -> list[tuple[int, int]]:
    """Char spans of the non-speech markers in ``text``, in order."""
    if not _bracketed(text):
        return []
    return [m.span() for m in NONSPEECH.finditer(text)]


def strip_nonspeech(text: str) -> str:
    """``text`` with every non-speech marker replaced by one space (words stay apart)."""
    if not _bracketed(text):
        return text
    return NONSPEECH.sub(" ", text)


def is_nonspeech(text: str) -> bool:
    """True when ``text`` (stripped) is one marker and nothing else."""
    if not _bracketed(text):
        return False
    return NONSPEECH.fullmatch(text.strip()) is not None
