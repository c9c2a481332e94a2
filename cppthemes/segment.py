"""Segment: turn transcripts into passages worth coding.

One passage per substantive participant turn. Facilitator turns are not coded but travel with
the passages that answer them as ``context``. Back-channels ("Mm.", "Yeah, yeah.") are not made
into passages: they carry no content of their own and would form a junk cluster. A turn longer
than the embedding model's window is split at sentence boundaries, because the model would
silently ignore everything past its window.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache

from cppthemes.config import SegmentConfig
from cppthemes.ingest.nonspeech import strip_nonspeech
from cppthemes.records import Passage, Role, SegmentStats, Transcript, Turn, passage_id

TokenCounter = Callable[[str], int]

WORD = re.compile(r"[^\W\d_][\w'’\-]*")

# Words that make up back-channels and filler turns; a turn needs ``min_words`` words outside
# this set to count as substantive.
BACKCHANNEL = frozenset(
    (  # noqa: SIM905 - a word list reads better as text
        "yeah yes yep yup no nope mm mmm mhm mm-hmm mm-mm uh-huh uh huh um umm er erm hmm ah oh "
        "okay ok right exactly sure true totally absolutely indeed agree agreed definitely "
        "good great nice wow cool fine so and but well i me too same laughs laughter "
        "crosstalk inaudible pause sighs that's thats that it is was really"
    ).split()
)


def role_of(speaker: str, cfg: SegmentConfig) -> Role:
    """Facilitator if the speaker label is one of ``segment.facilitators`` (any case)."""
    names = {n.lower() for n in cfg.facilitators}
    return "facilitator" if speaker.strip().lower() in names else "participant"


def is_substantive(text: str, min_words: int) -> bool:
    """True when the turn says something beyond back-channel words."""
    words = [w.lower().strip("'’-") for w in WORD.findall(strip_nonspeech(text))]
    return sum(1 for w in words if w and w not in BACKCHANNEL) >= min_words


def _word_count(text: str) -> int:
    return len(text.split())


def _sentence_spans(
    text: str, sentencizer: Callable[[str], Iterable[tuple[int, int]]]
) -> list[tuple[int, int]]:
    spans = [(s, e) for s, e in sentencizer(text) if text[s:e].strip()]
    return spans or [(0, len(text))]


def spacy_sentences(lang: str = "en") -> Callable[[str], list[tuple[int, int]]]:
    """Sentence spans from spaCy's pipeline for ``lang`` (blank + sentencizer offline)."""
    from cppthemes.nlp import load_nlp

    nlp = load_nlp(lang)

    def split(text: str) -> list[tuple[int, int]]:
        return [(s.start_char, s.end_char) for s in nlp(text).sents]

    return split


def _pack(
    turn: Turn,
    count_tokens: TokenCounter,
    max_tokens: int,
    sentencizer: Callable[[str], Iterable[tuple[int, int]]],
) -> list[tuple[int, int]]:
    """Char spans (relative to the turn) of consecutive sentence groups that fit the window."""
    if count_tokens(turn.text) <= max_tokens:
        return [(0, len(turn.text))]
    chunks: list[tuple[int, int]] = []
    start: int | None = None
    end = 0
    for s, e in _sentence_spans(turn.text, sentencizer):
        if start is not None and count_tokens(turn.text[start:e]) > max_tokens:
            chunks.append((start, end))
            start = None
        if start is None:
            start = s
        end = e
    if start is not None:
        chunks.append((start, end))
    return chunks


def _line_of(transcript: Transcript, char: int) -> int:
    # Bisect over the newline positions, not count("\n", 0, char) per passage: that was
    # quadratic, minutes for one 50 MB transcript (docs/robustness.md).
    return bisect.bisect_left(_newlines(transcript.plain_text), char) + 1


@lru_cache(maxsize=4)
def _newlines(text: str) -> list[int]:
    return [m.start() for m in re.finditer("\n", text)]


def segment(
    transcripts: Sequence[Transcript],
    cfg: SegmentConfig,
    *,
    count_tokens: TokenCounter = _word_count,
    sentencizer: Callable[[str], Iterable[tuple[int, int]]] | None = None,
) -> tuple[list[Passage], SegmentStats]:
    """Passages of every transcript, in transcript and turn order, with segmentation counts."""
    split = sentencizer or spacy_sentences()
    passages: list[Passage] = []
    turns = participant = facilitator = dropped = split_turns = 0
    for transcript in transcripts:
        context: str | None = None
        for turn in transcript.turns:
            turns += 1
            if (transcript.roles.get(turn.speaker) or role_of(turn.speaker, cfg)) == "facilitator":
                facilitator += 1
                context = turn.text
                continue
            participant += 1
            if not is_substantive(turn.text, cfg.min_words):
                dropped += 1
                continue
            chunks = _pack(turn, count_tokens, cfg.max_tokens, split)
            split_turns += len(chunks) > 1
            for rel_start, rel_end in chunks:
                c0 = turn.char_start + rel_start
                c1 = turn.char_start + rel_end
                passages.append(
                    Passage(
                        id=passage_id(transcript.id, c0, c1),
                        transcript_id=transcript.id,
                        source=transcript.source,
                        speaker=turn.speaker,
                        role="participant",
                        text=transcript.plain_text[c0:c1],
                        turn_start=turn.index,
                        turn_end=turn.index,
                        line_start=_line_of(transcript, c0),
                        line_end=_line_of(transcript, c1 - 1),
                        char_start=c0,
                        char_end=c1,
                        context=context,
                        metadata=dict(transcript.metadata),
                    )
                )
    stats = SegmentStats(
        turns=turns,
        participant_turns=participant,
        facilitator_turns=facilitator,
        non_substantive_turns=dropped,
        split_turns=split_turns,
        passages=len(passages),
    )
    return passages, stats


def embedding_texts(passages: Sequence[Passage], cfg: SegmentConfig) -> list[str]:
    """What gets embedded: the passage, or the facilitator's prompt and the passage."""
    if not cfg.embed_context:
        return [p.text for p in passages]
    return [f"{p.context}\n{p.text}" if p.context else p.text for p in passages]
