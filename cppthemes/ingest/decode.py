"""Turn a file's bytes into the transcript's plain text: UTF-8, LF line ends.

Every offset the tool writes refers to this text, so the normalisation happens once, here.
"""

from __future__ import annotations

from pathlib import Path

from cppthemes.errors import InputError


def read_text(path: Path) -> str:
    """Decode ``path`` as UTF-8 (a BOM is dropped) and normalise CRLF/CR to LF."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(path, f"cannot read file ({exc.strerror})") from None
    if b"\x00" in raw[:8192]:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise InputError(path, "binary data, not a text transcript", line=line)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(path, "not UTF-8 text; re-save the file as UTF-8", line=line) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")
