"""Quotes worth reading, and the sentence that says what a code is about.

A quote is what an analyst pastes into a report, so the rule is strict (docs/labels.md):

- it is one speaker's words: a passage that took in another speaker's back-channel ("...
  Erik: Wow.") is quoted without it, and the left-out words are kept beside the quote
  (``Quote.omitted``) so the reader knows someone spoke;
- it has at least six content words (`procedural.QUOTE_MIN_WORDS`) and is not a greeting,
  goodbye, thanks, mask or other procedural talk (`procedural.kind_of`);
- it cites the full line range it covers (``line`` to ``line_end``).

A code whose passages give no such quote gets fewer quotes, never a bad one. The code's
*central sentence* is, among the sentences of the passages closest to its centre, the one whose
embedding is closest to the centre: verbatim, with its place, it describes the code in the
participants' own words.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

import numpy as np

from cppthemes import procedural
from cppthemes.own_words import Turns, own_span
from cppthemes.provenance import kind_of
from cppthemes.records import Passage, Quote

# Quote candidates per code: the passages closest to its centre.
QUOTE_POOL = 1000
# Passages whose sentences compete for the central sentence, and the longest sentence taken.
CENTRAL_PASSAGES = 5
CENTRAL_MAX_WORDS = 40
SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+|\n+")

Embed = Callable[[Sequence[str]], np.ndarray]


def trim_courtesies(
    passage: Passage, span: tuple[int, int, tuple[str, ...]], blocked: frozenset[str]
) -> tuple[int, int, tuple[str, ...]]:
    """The span without opening or closing sentences that are procedural on their own.

    "Thank you, Madam Chair. Small businesses have been hit hard..." is quoted from "Small":
    the courtesy is talk, not the point. A sentence is dropped only from the ends, only while
    what is left still passes the quote rule, so the quote stays one verbatim stretch.
    """
    c0, c1, omitted = span
    text = passage.text[c0 - passage.char_start : c1 - passage.char_start]
    parts = sentences(text)
    while len(parts) > 1 and procedural.kind_of(text[parts[0][0] : parts[0][1]], blocked):
        if not procedural.quotable(text[parts[1][0] : parts[-1][1]], blocked):
            break
        parts = parts[1:]
    while len(parts) > 1 and procedural.kind_of(text[parts[-1][0] : parts[-1][1]], blocked):
        if not procedural.quotable(text[parts[0][0] : parts[-2][1]], blocked):
            break
        parts = parts[:-1]
    if not parts:
        return span
    return c0 + parts[0][0], c0 + parts[-1][1], omitted


def _lines(text: str) -> list[int]:
    return [m.start() for m in re.finditer("\n", text)]


def make_quote(
    passage: Passage,
    plain_text: str | None,
    span: tuple[int, int, tuple[str, ...]],
    similarity: float,
) -> Quote:
    """A verbatim quote of ``span`` in its transcript, with the lines it covers."""
    c0, c1, omitted = span
    if plain_text is None:  # hand-built records: the passage's own text and lines
        text = passage.text[c0 - passage.char_start : c1 - passage.char_start]
        line, line_end = passage.line_start, passage.line_end
    else:
        text = plain_text[c0:c1]
        newlines = _lines(plain_text)
        line = bisect.bisect_left(newlines, c0) + 1
        line_end = bisect.bisect_left(newlines, max(c0, c1 - 1)) + 1
    # A text file's lines are the plain text's; other formats get their place from
    # provenance.place (the pipeline's _quotes_placed).
    is_text = kind_of(passage.source) == "text"
    where = f"lines {line}-{line_end}" if is_text and line_end > line else ""
    return Quote(
        passage_id=passage.id,
        text=text,
        source=passage.source,
        transcript_id=passage.transcript_id,
        speaker=passage.speaker,
        line=line,
        char_start=c0,
        char_end=c1,
        similarity=round(similarity, 4),
        metadata=dict(passage.metadata),
        where=where,
        line_end=line_end,
        omitted=omitted,
    )


def pick_quotes(
    members: Sequence[int],
    passages: Sequence[Passage],
    vectors: np.ndarray,
    centroid: np.ndarray,
    n: int,
    diversity: float = 0.3,
    spread: float = 0.1,
    *,
    turns: Turns | None = None,
    texts: Mapping[str, str] | None = None,
) -> list[Quote]:
    """Exemplars close to the centroid, unlike each other, from different speakers and files.

    Only quotable passages compete (see the module). Maximal marginal relevance: each pick
    maximises closeness to the centroid minus similarity to quotes already picked, minus
    ``spread`` for repeating a speaker and ``spread`` again for repeating a transcript, so an
    analyst sees the idea voiced by several people and groups. ``turns`` (transcript id ->
    turns) lets a quote leave out other speakers' back-channels; ``texts`` (transcript id ->
    plain text) gives the quoted text and its lines.
    """
    sims = {i: float(vectors[i] @ centroid) for i in members}
    blocked = procedural.blocked_words()
    spans = {}
    for i in sorted(members, key=lambda i: (-sims[i], passages[i].id)):
        span = trim_courtesies(passages[i], own_span(passages[i], turns), blocked)
        own = passages[i].text[span[0] - passages[i].char_start : span[1] - passages[i].char_start]
        if procedural.quotable(own, blocked):
            spans[i] = span
        if len(spans) >= QUOTE_POOL:  # a quote should be typical: the closest compete
            break
    remaining = list(spans)
    chosen: list[int] = []
    while remaining and len(chosen) < n:

        def score(i: int) -> float:
            redundancy = max((float(vectors[i] @ vectors[j]) for j in chosen), default=0.0)
            same_speaker = any(
                (passages[j].transcript_id, passages[j].speaker)
                == (passages[i].transcript_id, passages[i].speaker)
                for j in chosen
            )
            same_file = any(passages[j].transcript_id == passages[i].transcript_id for j in chosen)
            return (
                (1 - diversity) * sims[i]
                - diversity * redundancy
                - spread * same_speaker
                - spread * same_file
            )

        # The first of equal scores wins (closest to the centre), as a stable order demands.
        at = max(range(len(remaining)), key=lambda k: (score(remaining[k]), -k))
        chosen.append(remaining.pop(at))
    plain = texts or {}
    return [
        make_quote(passages[i], plain.get(passages[i].transcript_id), spans[i], sims[i])
        for i in chosen
    ]


def sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans of ``text`` (end punctuation or a line break), stripped of spaces."""
    spans, start = [], 0
    for m in SENTENCE_END.finditer(text):
        spans.append((start, m.start()))
        start = m.end()
    spans.append((start, len(text)))
    out = []
    for a, b in spans:
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if b > a:
            out.append((a, b))
    return out


def central_sentence(
    quotes: Sequence[Quote], centroid: np.ndarray, embed: Embed | None
) -> Quote | None:
    """The sentence of the code's quotes closest to its centre, as a quote of its own.

    Candidates are the sentences of the first ``CENTRAL_PASSAGES`` quotes (already one
    speaker's words, typical of the code) with at least six content words and at most
    ``CENTRAL_MAX_WORDS`` words; without an embedder the first such sentence of the quote
    closest to the centre is taken.
    """
    return closest_candidate(central_candidates(quotes), centroid, embed)


def central_candidates(quotes: Sequence[Quote]) -> list[Quote]:
    """The sentences ``central_sentence`` chooses from, in its order.

    Apart so that a caller labelling many codes can embed every code's candidates in one
    batch (label.py) and pass each code's list to ``closest_candidate``.
    """
    blocked = procedural.blocked_words()
    found: list[Quote] = []
    for q in sorted(quotes, key=lambda q: -q.similarity)[:CENTRAL_PASSAGES]:
        for a, b in sentences(q.text):
            text = q.text[a:b]
            if len(text.split()) > CENTRAL_MAX_WORDS or not procedural.quotable(text, blocked):
                continue
            found.append(_sub_quote(q, a, b))
    return found


def closest_candidate(
    found: Sequence[Quote], centroid: np.ndarray, embed: Embed | None
) -> Quote | None:
    """The candidate closest to ``centroid`` (the first without an embedder), its similarity
    rounded as quotes' are; None without candidates."""
    if not found:
        return None
    if embed is None:
        return found[0]
    sims = np.asarray(embed([q.text for q in found]), dtype=np.float64) @ centroid
    best = int(np.argmax(sims))  # the first of equal scores: a stable choice
    return replace(found[best], similarity=round(float(sims[best]), 4))


def _sub_quote(q: Quote, a: int, b: int) -> Quote:
    """The part ``[a, b)`` of a quote's text, as a quote with its own lines."""

    line = q.line + q.text.count("\n", 0, a)
    line_end = line + q.text.count("\n", a, b)
    where = q.where  # a place in another format (a time, a row) stays the quote's
    if kind_of(q.source) == "text":
        where = f"lines {line}-{line_end}" if line_end > line else ""
    return replace(
        q,
        text=q.text[a:b],
        char_start=q.char_start + a,
        char_end=q.char_start + b,
        line=line,
        line_end=line_end,
        where=where,
        omitted=(),
    )
