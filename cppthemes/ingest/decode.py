"""Turn a file's bytes into the transcript's plain text: UTF-8, LF line ends.

Every offset the tool writes refers to this text, so the normalisation happens once, here.
Transcripts arrive as UTF-8 (with or without a BOM), as UTF-16 from Windows tools, and as
legacy single-byte files (Windows-1252 and friends) from older word processors; the last are
recognised with charset-normalizer rather than guessed by hand.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from cppthemes.errors import InputError

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def read_bytes(path: Path) -> bytes:
    """The file's bytes; an unreadable file is an ``InputError`` naming it."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(path, f"cannot read file ({exc.strerror or exc})") from None


def _utf16_without_bom(raw: bytes) -> str | None:
    """UTF-16 text without a BOM shows NUL in every other byte of ASCII characters."""
    if len(raw) < 4 or len(raw) % 2:
        return None
    sample = raw[:4096]
    even_nul = sample[0::2].count(0) / (len(sample) / 2)
    odd_nul = sample[1::2].count(0) / (len(sample) / 2)
    encoding = "utf-16-le" if odd_nul > 0.3 and even_nul < 0.05 else None
    if encoding is None and even_nul > 0.3 and odd_nul < 0.05:
        encoding = "utf-16-be"
    if encoding is None:
        return None
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError:
        return None
    return None if "\x00" in text else text


def _legacy(raw: bytes) -> str | None:
    """Single-byte legacy encodings, as charset-normalizer judges them; None if it cannot."""
    from charset_normalizer import from_bytes

    matches = from_bytes(raw)
    best = matches.best()
    if best is None:
        return None
    # Short texts often fit several code pages equally well; Windows-1252 is by far the most
    # common legacy encoding of transcripts, so it wins a tie.
    tied = [m for m in matches if (m.chaos, m.coherence) == (best.chaos, best.coherence)]
    best = next((m for m in tied if m.encoding == "cp1252"), best)
    text = str(best)
    return None if "\x00" in text else text


def decode_bytes(path: Path, raw: bytes) -> str:
    """Decode ``raw`` (from ``path``) to text with LF line ends; errors name file and line."""
    if not raw.strip():
        raise InputError(path, "empty file")
    text: str | None = None
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            try:
                text = raw[len(bom) :].decode(encoding)
            except UnicodeDecodeError as exc:
                line = raw[: exc.start].count(b"\n") + 1
                raise InputError(path, f"damaged {encoding} text", line=line) from None
            break
    if text is None and b"\x00" in raw:
        text = _utf16_without_bom(raw)
        if text is None:
            line = raw[: raw.index(b"\x00")].count(b"\n") + 1
            raise InputError(path, "binary data, not a text transcript", line=line)
    if text is None:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            text = _legacy(raw)
            if text is None:
                line = raw[: exc.start].count(b"\n") + 1
                raise InputError(
                    path, "not text in a known encoding; re-save the file as UTF-8", line=line
                ) from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise InputError(path, "binary data, not a text transcript", line=line)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_text(path: Path) -> str:
    """Read ``path`` as text in whatever encoding it is in; normalise line ends to LF."""
    return decode_bytes(path, read_bytes(path))
