"""Word ``.docx`` transcripts (python-docx): paragraphs in the text conventions, and tables.

The plain text is the document's text in reading order: one line per paragraph (a manual line
break inside a paragraph starts a new line), and one ``Speaker: text`` line per table row that
holds a turn. Paragraphs are read with the same speaker conventions as text files; tables of
two or three columns (speaker | text, time | speaker | text, or named headers) give one turn
per row. ``line`` is the line in that plain text: for a document of paragraphs only, the
paragraph number. ``ref_line`` is always the paragraph number (counting paragraphs only), and
``ref_row`` a table turn's row in its table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from cppthemes.errors import InputError
from cppthemes.ingest.table import find_columns, transcripts_from_rows
from cppthemes.ingest.text import CONVENTIONS, detect_convention, parse_turns, scan
from cppthemes.records import Transcript, Turn


def _blocks(path: Path) -> list[str | list[list[str]]]:
    """The document body in order: paragraph texts and tables (rows of cell texts)."""
    import docx
    from docx.table import Table

    from cppthemes.ingest.zipcheck import check_archive

    check_archive(path, ".docx document")
    try:
        document = docx.Document(str(path))
        blocks: list[str | list[list[str]]] = []
        for item in document.iter_inner_content():
            if isinstance(item, Table):
                rows = []
                for row in item.rows:
                    cells: list[str] = []
                    previous = None
                    for cell in row.cells:
                        if cell._tc is not previous:  # a merged cell repeats; keep it once
                            cells.append(cell.text)
                        previous = cell._tc
                    rows.append(cells)
                blocks.append(rows)
            else:
                blocks.append(item.text)
        return blocks
    except OSError as exc:
        raise InputError(path, f"cannot read file ({exc.strerror or exc})") from None
    except Exception as exc:  # python-docx and lxml raise many types on damaged files
        raise InputError(
            path, f"not a readable .docx document ({type(exc).__name__}); damaged or truncated?"
        ) from None


def _shift(turn: Turn, chars: int, lines: int, transcript_id: str) -> Turn:
    return replace(
        turn,
        transcript_id=transcript_id,
        char_start=turn.char_start + chars,
        char_end=turn.char_end + chars,
        line_start=turn.line_start + lines,
        line_end=turn.line_end + lines,
    )


def _table_transcript(
    block: list[list[str]],
    columns: Mapping[str, str],
    path: Path,
    transcript_id: str,
    source: str,
) -> Transcript | None:
    """A table of talk (speaker and text columns) as turns; None for a layout table."""
    rows = [row for row in block if any(c.strip() for c in row)]
    try:
        found = find_columns(rows, columns, path)
    except InputError:
        return None  # a layout table (title block, participant list): not talk
    try:
        (table,) = transcripts_from_rows(
            rows,
            replace(found, file=None),
            transcript_id=transcript_id,
            source=source,
            path=path,
            fmt="docx",
        )
    except InputError:
        return None  # a header row and nothing under it
    return table


def read_docx(
    path: Path, transcript_id: str, source: str, columns: Mapping[str, str]
) -> list[Transcript]:
    """Read one Word document into one transcript."""
    blocks = _blocks(path)
    paragraph_lines = [
        line for b in blocks if isinstance(b, str) for line in b.replace("\r", "\n").split("\n")
    ]
    convention = detect_convention(paragraph_lines)
    # Labels are inferred over the whole document, not region by region (a table between
    # paragraphs must not make a recurring "client:" a one-off on either side of it).
    labels = scan(CONVENTIONS[convention], paragraph_lines).labels
    # The paragraph each plain-text line of paragraphs comes from (a manual line break makes
    # two lines of one paragraph): what a reader of the .docx can find.
    paragraph_of: list[int] = []
    paragraph = 0
    pieces: list[str] = []
    turns: list[Turn] = []
    chars = lines = 0
    pending: list[str] = []

    def add_region(text: str, region_turns: list[Turn] | tuple[Turn, ...]) -> None:
        nonlocal chars, lines
        turns.extend(_shift(t, chars, lines, transcript_id) for t in region_turns)
        pieces.append(text)
        chars += len(text)
        lines += text.count("\n")

    def flush() -> None:
        if pending:
            text = "\n".join(pending) + "\n"
            region = parse_turns(text, transcript_id, convention, labels)
            first = len(paragraph_of) - len(pending)
            add_region(
                text,
                [replace(t, ref_line=paragraph_of[first + t.line_start - 1]) for t in region],
            )
            pending.clear()

    for block in blocks:
        if isinstance(block, str):
            paragraph += 1
            split = block.replace("\r\n", "\n").replace("\r", "\n").split("\n")
            pending.extend(split)
            paragraph_of.extend([paragraph] * len(split))
            continue
        table = _table_transcript(block, columns, path, transcript_id, source)
        if table is None:
            continue
        flush()
        add_region(table.plain_text, table.turns)
    flush()
    if not turns:
        raise InputError(
            path,
            "no speaker turns found in paragraphs or tables "
            "(expected 'Name: text' paragraphs or a speaker | text table)",
        )
    return [
        Transcript(
            id=transcript_id,
            source=source,
            path=str(path),
            format="docx",
            plain_text="".join(pieces),
            turns=tuple(replace(t, index=i) for i, t in enumerate(turns)),
        )
    ]
