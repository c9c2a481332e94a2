"""One speaker's words inside a passage that took in other speakers' back-channels.

Back-channels ("Mm.", "Erik: Wow.") are merged into the passage before or after them
(cppthemes/segment.py): that keeps their lines covered, but the passage then holds two
speakers. What is judged (the procedural bin) and what is quoted is the passage's own speaker's
stretch; the other speakers' words are listed beside it, not hidden.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from cppthemes.records import Passage, Turn

Turns = Mapping[str, Sequence[Turn]]


def own_span(passage: Passage, turns: Turns | None) -> tuple[int, int, tuple[str, ...]]:
    """The passage's longest run of its own speaker's consecutive turns, and what it leaves out.

    Returns the run's char span (clipped to the passage) and the other speakers' words in the
    passage ("Erik: Wow."). Back-channels sit at a passage's start or end, so the run is
    usually all of the speaker's words; where another speaker comes between, the longer side
    is kept (the first on a tie), so a quote never holds two speakers.
    """
    c0, c1 = passage.char_start, passage.char_end
    listed = turns.get(passage.transcript_id) if turns else None
    if not listed:
        return c0, c1, ()
    inside = [
        t
        for t in listed[passage.turn_start : passage.turn_end + 1]
        if t.char_end > c0 and t.char_start < c1
    ]
    if not inside or all(t.speaker == passage.speaker for t in inside):
        return c0, c1, ()
    runs: list[list[Turn]] = [[]]
    for t in inside:
        if t.speaker == passage.speaker:
            runs[-1].append(t)
        elif runs[-1]:
            runs.append([])
    best = max(runs, key=lambda run: sum(min(c1, t.char_end) - max(c0, t.char_start) for t in run))
    if not best:
        return c0, c1, ()
    start, end = max(c0, best[0].char_start), min(c1, best[-1].char_end)
    omitted = tuple(f"{t.speaker}: {t.text}" for t in inside if t.speaker != passage.speaker)
    return start, end, omitted


def own_text(passage: Passage, turns: Turns | None) -> str:
    """All of the passage's own speaker's words (every own turn, clipped), one line each."""
    c0, c1 = passage.char_start, passage.char_end
    listed = turns.get(passage.transcript_id) if turns else None
    if not listed:
        return passage.text
    own = [
        passage.text[max(c0, t.char_start) - c0 : min(c1, t.char_end) - c0]
        for t in listed[passage.turn_start : passage.turn_end + 1]
        if t.speaker == passage.speaker and t.char_end > c0 and t.char_start < c1
    ]
    return "\n".join(own) if own else passage.text
