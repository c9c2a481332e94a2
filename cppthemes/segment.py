"""Segment: turn transcripts into passages worth coding.

Three strategies (``segment.strategy``), because a code applies to different stretches of talk
in different kinds of data:

- ``turn`` (default): one passage per substantive participant turn. Interviews and focus groups
  are organised in turns, and a turn is what an analyst usually codes.
- ``window``: ``window_sentences`` sentences at a time across one speaker's consecutive talk,
  for long monologues (narrative interviews, think-aloud) whose turns run for pages.
- ``topic``: TextTiling-style topic segmentation over turn embeddings; a passage is the
  participants' talk within one topical stretch, up to the next facilitator turn. For meetings
  and unstructured interviews, where a topic spans many short turns.

Every strategy keeps the same invariants (tested with hypothesis): passages never overlap, no
facilitator word is ever in a passage, every participant word is in exactly one passage or in a
turn counted as non-substantive, and a passage's char span slices ``plain_text`` to its text.
Windows therefore never overlap: the stride is the window (a smaller stride would code the same
words twice and make line-level agreement ambiguous; a larger one would skip talk).

Facilitator turns are not coded but travel with the passages that answer them as ``context``.
Back-channels ("Mm.", "Yeah, yeah.") carry no content of their own and would form a junk
cluster: they are dropped (counted) or, with ``backchannels = "merge"``, folded into the
neighbouring passage. Anything longer than the embedding model's window is embedded in
sentence-aligned chunks (:func:`embedding_chunks`), because the model silently ignores
everything past its window.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from cppthemes.config import FACILITATOR_LABELS, SegmentConfig
from cppthemes.errors import ConfigError
from cppthemes.ingest.nonspeech import strip_nonspeech
from cppthemes.records import Passage, Role, SegmentStats, Transcript, Turn, passage_id
from cppthemes.segment_text import (
    Sentencizer,
    TokenCounter,
    embedding_chunks,
    embedding_texts,
    fit_sentence,
    pack_text,
    sentence_spans,
    spacy_sentences,
    word_count,
)
from cppthemes.segment_tiling import depth_boundaries

__all__ = [
    "BACKCHANNEL",
    "Sentencizer",
    "TokenCounter",
    "depth_boundaries",
    "embedding_chunks",
    "embedding_texts",
    "is_substantive",
    "pack_text",
    "role_of",
    "segment",
    "spacy_sentences",
    "speaker_role",
]

EmbedFn = Callable[[Sequence[str]], np.ndarray]

WORD = re.compile(r"[^\W\d_][\w'’\-]*")

# Words that make up back-channels and filler turns; a turn needs ``min_words`` words outside
# this set to count as substantive.
BACKCHANNEL = frozenset(
    (  # noqa: SIM905 - a word list reads better as text
        "yeah yes yep yup no nope mm mmm mhm mm-hmm mm-mm uh-huh uh huh um umm er erm hmm ah oh "
        "okay ok right exactly sure true totally absolutely indeed agree agreed definitely "
        "good great nice wow cool fine so and but well i me too same laughs laughter "
        "crosstalk inaudible pause sighs that's thats that it is was really"
        # Norwegian back-channels ("Ja nei, helt enig.", "Mm, ikke sant."): only words that
        # are not English words too, so English turns are counted as before.
        " ja jaa jo nei neida jada jaja mhm ehm eh hm øh altså liksom lissom ikke sant enig "
        "greit akkurat nettopp stemmer riktig absolutt helt klart fint bra også samme det jeg "
        "meg og så er ler latter takk okei"
    ).split()
)


_FACILITATOR_KEYS = frozenset(n.lower() for n in FACILITATOR_LABELS)


def role_of(speaker: str, cfg: SegmentConfig | None = None) -> Role:
    """Facilitator if the speaker label is a facilitator label (``FACILITATOR_LABELS``, any
    case): for turns of records built without ingest, which decides every speaker's role."""
    return "facilitator" if speaker.strip().lower() in _FACILITATOR_KEYS else "participant"


def speaker_role(transcript: Transcript, speaker: str, cfg: SegmentConfig) -> Role:
    """The role ingest decided for this speaker (names, questions, overrides), else by name."""
    role = transcript.roles.get(speaker)
    return "facilitator" if role == "facilitator" else role_of(speaker, cfg)


def is_substantive(text: str, min_words: int) -> bool:
    """True when the turn says something beyond back-channel words. Stops at the
    ``min_words``-th such word: segmentation and the accounts ask this of every turn."""
    if min_words <= 0:
        return True
    found = 0
    for match in WORD.finditer(strip_nonspeech(text)):
        word = match.group().lower().strip("'’-")
        if word and word not in BACKCHANNEL:
            found += 1
            if found >= min_words:
                return True
    return False


def _line_of(transcript: Transcript, char: int) -> int:
    # Bisect over the newline positions, not count("\n", 0, char) per passage: that was
    # quadratic, minutes for one 50 MB transcript (docs/robustness.md).
    return bisect.bisect_left(_newlines(transcript.plain_text), char) + 1


@lru_cache(maxsize=4)
def _newlines(text: str) -> list[int]:
    return [m.start() for m in re.finditer("\n", text)]


@dataclass
class _Span:
    """A passage under construction (absolute char offsets)."""

    c0: int
    c1: int
    speaker: str
    turn_start: int
    turn_end: int
    context: str | None


@dataclass
class _Counts:
    turns: int = 0
    participant: int = 0
    facilitator: int = 0
    dropped: int = 0
    split: int = 0
    merged: int = 0
    topics: int = 0


class _Merger:
    """Back-channel handling shared by ``turn`` and ``window``: drop, or fold into a neighbour.

    With ``merge`` a non-substantive participant turn joins the passage that ends right before
    it; failing that (the previous turn was the facilitator's), the passage that starts right
    after it. One with neither neighbour (between two facilitator turns) is dropped.
    """

    def __init__(self, merge: bool, counts: _Counts) -> None:
        self.merge = merge
        self.counts = counts
        self.pending: list[Turn] = []

    def backchannel(self, turns: Sequence[Turn], spans: list[_Span]) -> None:
        if not self.merge:
            self.counts.dropped += len(turns)
            return
        if not self.pending and spans and spans[-1].turn_end == turns[0].index - 1:
            spans[-1].c1 = turns[-1].char_end
            spans[-1].turn_end = turns[-1].index
            self.counts.merged += len(turns)
            return
        if self.pending and self.pending[-1].index != turns[0].index - 1:
            self.flush()  # something came between: the waiting ones have no neighbour
        self.pending.extend(turns)

    def start(self, span: _Span) -> _Span:
        """Prefix waiting back-channels to the passage that starts right after them."""
        if self.pending and self.pending[-1].index == span.turn_start - 1:
            span.c0 = self.pending[0].char_start
            span.turn_start = self.pending[0].index
            self.counts.merged += len(self.pending)
        else:
            self.counts.dropped += len(self.pending)
        self.pending = []
        return span

    def flush(self) -> None:
        self.counts.dropped += len(self.pending)
        self.pending = []


def _turn_spans(
    transcript: Transcript,
    cfg: SegmentConfig,
    counts: _Counts,
    count_tokens: TokenCounter,
    split: Sentencizer,
) -> list[_Span]:
    spans: list[_Span] = []
    merger = _Merger(cfg.backchannels == "merge", counts)
    context: str | None = None
    for turn in transcript.turns:
        if speaker_role(transcript, turn.speaker, cfg) == "facilitator":
            merger.flush()
            context = turn.text
            continue
        if not is_substantive(turn.text, cfg.min_words):
            merger.backchannel([turn], spans)
            continue
        chunks = pack_text(turn.text, count_tokens, cfg.max_tokens, split)
        counts.split += len(chunks) > 1
        for i, (r0, r1) in enumerate(chunks):
            span = _Span(
                turn.char_start + r0,
                turn.char_start + r1,
                turn.speaker,
                turn.index,
                turn.index,
                context,
            )
            spans.append(merger.start(span) if i == 0 else span)
    merger.flush()
    return spans


def _same_speaker_runs(
    transcript: Transcript, cfg: SegmentConfig
) -> list[tuple[list[Turn], str | None]]:
    """Consecutive participant turns of one speaker, each with the last facilitator turn."""
    runs: list[tuple[list[Turn], str | None]] = []
    context: str | None = None
    current: list[Turn] = []
    for turn in transcript.turns:
        if speaker_role(transcript, turn.speaker, cfg) == "facilitator":
            if current:
                runs.append((current, context))
                current = []
            context = turn.text
            continue
        if current and current[-1].speaker != turn.speaker:
            runs.append((current, context))
            current = []
        current.append(turn)
    if current:
        runs.append((current, context))
    return runs


def _window_spans(
    transcript: Transcript,
    cfg: SegmentConfig,
    counts: _Counts,
    count_tokens: TokenCounter,
    split: Sentencizer,
) -> list[_Span]:
    spans: list[_Span] = []
    merger = _Merger(cfg.backchannels == "merge", counts)
    text = transcript.plain_text
    for run, context in _same_speaker_runs(transcript, cfg):
        if not is_substantive(" ".join(t.text for t in run), cfg.min_words):
            merger.backchannel(run, spans)
            continue
        sentences = [
            (turn.char_start + s, turn.char_start + e, turn.index)
            for turn in run
            for sentence in sentence_spans(turn.text, split)
            for s, e in fit_sentence(turn.text, *sentence, count_tokens, cfg.max_tokens)
        ]
        windows: list[list[tuple[int, int, int]]] = []
        for sentence in sentences:
            current = windows[-1] if windows else None
            if (
                current is None
                or len(current) >= cfg.window_sentences
                or count_tokens(text[current[0][0] : sentence[1]]) > cfg.max_tokens
            ):
                windows.append([sentence])
            else:
                current.append(sentence)
        # A window of back-channel words alone ("Yeah. Right.") joins its neighbour.
        kept: list[list[tuple[int, int, int]]] = []
        carry: list[tuple[int, int, int]] = []
        for window in windows:
            window = carry + window
            if is_substantive(text[window[0][0] : window[-1][1]], cfg.min_words):
                kept.append(window)
                carry = []
            elif kept:
                kept[-1].extend(window)
                carry = []
            else:
                carry = window
        if carry:
            kept.append(carry)
        counts.split += len(kept) > 1
        for i, window in enumerate(kept):
            span = _Span(
                window[0][0], window[-1][1], run[0].speaker, window[0][2], window[-1][2], context
            )
            spans.append(merger.start(span) if i == 0 else span)
    merger.flush()
    return spans


def _topic_starts(
    transcripts: Sequence[Transcript], cfg: SegmentConfig, embed: EmbedFn
) -> list[set[int]]:
    """Per transcript, the turn indices where a new topic segment begins."""
    units = [[t for t in tr.turns if is_substantive(t.text, cfg.min_words)] for tr in transcripts]
    texts = [t.text for us in units for t in us]
    vectors = embed(texts) if texts else np.zeros((0, 1), dtype=np.float32)
    starts: list[set[int]] = []
    offset = 0
    for us in units:
        vs = vectors[offset : offset + len(us)]
        offset += len(us)
        starts.append(
            {us[j].index for j in depth_boundaries(vs, cfg.topic_block, cfg.topic_cutoff)}
        )
    return starts


def _topic_spans(
    transcript: Transcript, cfg: SegmentConfig, counts: _Counts, starts: set[int]
) -> list[_Span]:
    """Participants' talk within one topic segment, cut at facilitator turns."""
    spans: list[_Span] = []
    counts.topics += len(starts) + 1
    context: str | None = None
    run: list[Turn] = []
    run_context: str | None = None

    def close() -> None:
        if not run:
            return
        substantive = [t for t in run if is_substantive(t.text, cfg.min_words)]
        if not substantive:
            counts.dropped += len(run)
        else:
            counts.merged += len(run) - len(substantive)
            speakers = list(dict.fromkeys(t.speaker for t in run))
            spans.append(
                _Span(
                    run[0].char_start,
                    run[-1].char_end,
                    ", ".join(speakers),
                    run[0].index,
                    run[-1].index,
                    run_context,
                )
            )
        run.clear()

    for turn in transcript.turns:
        if turn.index in starts:
            close()
        if speaker_role(transcript, turn.speaker, cfg) == "facilitator":
            close()
            context = turn.text
            continue
        if not run:
            run_context = context
        run.append(turn)
    close()
    return spans


def segment(
    transcripts: Sequence[Transcript],
    cfg: SegmentConfig,
    *,
    count_tokens: TokenCounter = word_count,
    sentencizer: Sentencizer | None = None,
    embed: EmbedFn | None = None,
) -> tuple[list[Passage], SegmentStats]:
    """Passages of every transcript, in transcript and turn order, with segmentation counts.

    ``embed`` (texts -> unit vectors) is needed by the ``topic`` strategy only; the pipeline
    passes one backed by the embedding cache, so the turn vectors are computed once.
    """
    split = sentencizer or spacy_sentences()
    counts = _Counts()
    starts: list[set[int]] = []
    if cfg.strategy == "topic":
        if embed is None:
            raise ConfigError("segment.strategy='topic' needs embeddings; none were given")
        starts = _topic_starts(transcripts, cfg, embed)
    passages: list[Passage] = []
    for n, transcript in enumerate(transcripts):
        for turn in transcript.turns:
            counts.turns += 1
            if speaker_role(transcript, turn.speaker, cfg) == "facilitator":
                counts.facilitator += 1
            else:
                counts.participant += 1
        if cfg.strategy == "topic":
            spans = _topic_spans(transcript, cfg, counts, starts[n])
        elif cfg.strategy == "window":
            spans = _window_spans(transcript, cfg, counts, count_tokens, split)
        else:
            spans = _turn_spans(transcript, cfg, counts, count_tokens, split)
        # One metadata mapping per transcript, shared by its passages (records never mutate
        # it): a copy per passage cost about 200 bytes each, 200 MB per million passages.
        metadata = dict(transcript.metadata)
        for s in spans:
            first = transcript.turns[s.turn_start] if s.turn_start < len(transcript.turns) else None
            line_start = _line_of(transcript, s.c0)
            passages.append(
                Passage(
                    id=passage_id(transcript.id, s.c0, s.c1),
                    transcript_id=transcript.id,
                    source=transcript.source,
                    speaker=s.speaker,
                    role="participant",
                    text=transcript.plain_text[s.c0 : s.c1],
                    turn_start=s.turn_start,
                    turn_end=s.turn_end,
                    line_start=line_start,
                    line_end=_line_of(transcript, s.c1 - 1),
                    char_start=s.c0,
                    char_end=s.c1,
                    context=s.context,
                    metadata=metadata,
                    # Where it starts in the original file: for text the line itself (a long
                    # turn split in two gives two lines); else the place of its first turn.
                    ref_line=line_start
                    if transcript.format == "text"
                    else (first.ref_line if first else None),
                    ref_row=first.ref_row if first else None,
                    start_s=first.start_s if first else None,
                )
            )
    stats = SegmentStats(
        turns=counts.turns,
        participant_turns=counts.participant,
        facilitator_turns=counts.facilitator,
        non_substantive_turns=counts.dropped,
        split_turns=counts.split,
        passages=len(passages),
        strategy=cfg.strategy,
        merged_turns=counts.merged,
        topic_segments=counts.topics,
    )
    return passages, stats
