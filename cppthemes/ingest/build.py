"""Build a transcript's plain text from rows of (speaker, text) for formats that are not text.

Word tables, subtitles, speech-to-text JSON and spreadsheets carry turns, not a text file that
offsets could refer to. For them the plain text is written here, one ``Speaker: text`` line per
turn, and every turn's char span and line numbers refer to that text. A turn's text may hold
line breaks (a spreadsheet cell with several lines), so lines are counted, not assumed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cppthemes.records import Transcript, Turn


def clean_cell(text: str) -> str:
    """Normalise line ends and trim a cell or cue; tabs and odd spaces become plain spaces."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\v", "\n")
    text = text.replace("\t", " ").replace("\u00a0", " ")
    return "\n".join(line.strip() for line in text.split("\n")).strip()


@dataclass
class _Pending:
    speaker: str
    parts: list[str]
    start_s: float | None
    end_s: float | None
    ref_line: int | None = None
    ref_row: int | None = None


@dataclass
class PlainTextBuilder:
    """Collect turns, then write the plain text and turns with matching offsets."""

    transcript_id: str
    join_with: str = " "
    _pending: list[_Pending] = field(default_factory=list)

    def add(
        self,
        speaker: str,
        text: str,
        start_s: float | None = None,
        end_s: float | None = None,
        *,
        join_same_speaker: bool = False,
        ref_line: int | None = None,
        ref_row: int | None = None,
    ) -> None:
        """Add a turn; with ``join_same_speaker`` a repeat of the last speaker extends it.

        ``ref_line``/``ref_row`` say where the turn is in the original file (a cue's line, a
        sheet row); a joined turn keeps those of its first part.
        """
        text = clean_cell(text)
        speaker = " ".join(speaker.split())
        if not text or not speaker:
            return
        last = self._pending[-1] if self._pending else None
        if join_same_speaker and last is not None and last.speaker == speaker:
            last.parts.append(text)
            if end_s is not None:
                last.end_s = end_s
            if last.start_s is None:
                last.start_s = start_s
            return
        self._pending.append(_Pending(speaker, [text], start_s, end_s, ref_line, ref_row))

    def extend_last(self, text: str, end_s: float | None = None) -> bool:
        """Continue the last turn (a row without a speaker); False when there is none."""
        text = clean_cell(text)
        if not self._pending or not text:
            return False
        self._pending[-1].parts.append(text)
        if end_s is not None:
            self._pending[-1].end_s = end_s
        return True

    def __len__(self) -> int:
        return len(self._pending)

    def build(self) -> tuple[str, tuple[Turn, ...]]:
        """The plain text (``Speaker: text`` lines, LF) and the turns pointing into it."""
        lines: list[str] = []
        turns: list[Turn] = []
        offset = 0
        line_no = 1
        for index, pending in enumerate(self._pending):
            text = self.join_with.join(pending.parts)
            prefix = f"{pending.speaker}: "
            line = prefix + text
            start = offset + len(prefix)
            end = start + len(text)
            n_lines = text.count("\n")
            turns.append(
                Turn(
                    transcript_id=self.transcript_id,
                    index=index,
                    speaker=pending.speaker,
                    text=text,
                    line_start=line_no,
                    line_end=line_no + n_lines,
                    char_start=start,
                    char_end=end,
                    start_s=pending.start_s,
                    end_s=pending.end_s,
                    ref_line=pending.ref_line,
                    ref_row=pending.ref_row,
                )
            )
            lines.append(line)
            offset += len(line) + 1
            line_no += n_lines + 1
        plain = "\n".join(lines) + "\n" if lines else ""
        return plain, tuple(turns)

    def transcript(self, source: str, path: str, fmt: str) -> Transcript:
        plain, turns = self.build()
        return Transcript(
            id=self.transcript_id,
            source=source,
            path=path,
            format=fmt,
            plain_text=plain,
            turns=turns,
        )
