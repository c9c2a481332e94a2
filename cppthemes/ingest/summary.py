"""What ``cppthemes ingest`` shows and writes: a row per transcript, and the turns as JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence

from cppthemes.ingest.nonspeech import strip_nonspeech
from cppthemes.records import Transcript


def word_count(text: str) -> int:
    """Words said: whitespace-separated tokens once non-speech markers are taken out."""
    return len(strip_nonspeech(text).split())


def facilitator_cell(transcript: Transcript) -> str:
    """``Name (how it was decided)``, or ``-`` when nobody is the facilitator."""
    names = [s for s, role in transcript.roles.items() if role == "facilitator"]
    if not names:
        return "-"
    basis = transcript.roles_from + (", uncertain" if transcript.roles_uncertain else "")
    return f"{', '.join(names)} ({basis})"


def summarise(transcripts: Sequence[Transcript]) -> list[tuple[str, ...]]:
    """One row per transcript: source, format, turns, speakers, facilitator, words, metadata."""
    rows: list[tuple[str, ...]] = []
    for t in transcripts:
        speakers = sorted({turn.speaker for turn in t.turns})
        meta = ", ".join(f"{k}={v}" for k, v in sorted(t.metadata.items()))
        words = sum(word_count(turn.text) for turn in t.turns)
        rows.append(
            (
                t.source,
                t.format,
                str(len(t.turns)),
                ", ".join(speakers),
                facilitator_cell(t),
                str(words),
                meta,
            )
        )
    return rows


def turns_jsonl(transcripts: Sequence[Transcript]) -> str:
    """Every turn as one JSON line, with its transcript's source, metadata and the role."""
    rows = [
        json.dumps(
            {
                "source": t.source,
                "transcript": t.id,
                "format": t.format,
                "metadata": t.metadata,
                "index": turn.index,
                "speaker": turn.speaker,
                "role": t.roles.get(turn.speaker, ""),
                "text": turn.text,
                "line_start": turn.line_start,
                "line_end": turn.line_end,
                "char_start": turn.char_start,
                "char_end": turn.char_end,
                "start_s": turn.start_s,
                "end_s": turn.end_s,
                "ref_line": turn.ref_line,
                "ref_row": turn.ref_row,
            },
            ensure_ascii=False,
        )
        for t in transcripts
        for turn in t.turns
    ]
    return "\n".join(rows) + "\n" if rows else ""
