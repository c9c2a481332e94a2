"""Turn a file's bytes into the transcript's plain text: UTF-8, LF line ends.

Every offset the tool writes refers to this text, so the normalisation happens once, here.
Transcripts arrive as UTF-8 (with or without a BOM), as UTF-16 from Windows tools, and as
legacy single-byte files (Windows-1252 and friends) from older word processors; the last are
recognised with charset-normalizer rather than guessed by hand, Windows-1252 preferred over
rarer pages that read the file as cleanly. A file that mixes UTF-8 lines with legacy ones
(text pasted from two sources) is decoded line by line, and `mixed_encoding_note` says so.
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


# Code pages that are common for transcripts in their own right: when one of them reads a file
# best, it is kept. Any other single-byte page (DOS and Mac pages, Baltic cp775/cp1257, ...)
# that charset-normalizer ranks first while Windows-1252 reads the file just as cleanly loses
# to Windows-1252: short texts fit several pages, and cp775 turned "Chloé" into "Chloķ".
_COMMON = frozenset(
    (
        "cp1250", "cp1251", "cp1253", "cp1254", "cp1255", "cp1256", "koi8_r", "koi8_u",
        "latin_1", "iso8859_2", "iso8859_5", "iso8859_7", "iso8859_9", "iso8859_15",
    )
)  # fmt: skip
_MULTIBYTE = ("utf", "gb", "big5", "euc", "shift_jis", "cp932", "cp949", "cp950", "iso2022")


def legacy_encoding(raw: bytes) -> str | None:
    """The single-byte (or CJK) encoding charset-normalizer judges ``raw`` to be in, or None."""
    from charset_normalizer import from_bytes

    matches = from_bytes(raw)
    best = matches.best()
    if best is None:
        return None
    encoding = str(best.encoding)
    if encoding == "cp1252" or encoding in _COMMON or encoding.startswith(_MULTIBYTE):
        # Windows-1252 also wins an exact tie with a common page (the most common by far).
        tied = [m for m in matches if (m.chaos, m.coherence) == (best.chaos, best.coherence)]
        return "cp1252" if any(m.encoding == "cp1252" for m in tied) else encoding
    rival = next((m for m in matches if m.encoding == "cp1252"), None)
    return "cp1252" if rival is not None and rival.chaos <= best.chaos else encoding


def _legacy(raw: bytes) -> str | None:
    """Single-byte legacy encodings, as charset-normalizer judges them; None if it cannot."""
    encoding = legacy_encoding(raw)
    if encoding is None:
        return None
    try:
        text = raw.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None
    return None if "\x00" in text else text


def _line_kinds(raw: bytes) -> tuple[list[bool | None], int, int]:
    """Per line: True if UTF-8 with non-ASCII, False if not UTF-8, None if plain ASCII."""
    kinds: list[bool | None] = []
    for line in raw.split(b"\n"):
        if line.isascii():
            kinds.append(None)
            continue
        try:
            line.decode("utf-8")
            kinds.append(True)
        except UnicodeDecodeError:
            kinds.append(False)
    return kinds, kinds.count(True), kinds.count(False)


def _encoding_of(lines: list[bytes], kinds: list[bool | None]) -> str | None:
    """The legacy encoding of the lines that are not UTF-8."""
    return legacy_encoding(
        b"\n".join(line for line, k in zip(lines, kinds, strict=True) if k is False)
    )


def _mixed(raw: bytes) -> str | None:
    """A file whose lines are partly UTF-8, partly a legacy page: each line decoded on its own."""
    kinds, utf8, other = _line_kinds(raw)
    if not utf8 or not other:
        return None
    lines = raw.split(b"\n")
    encoding = _encoding_of(lines, kinds)
    encoding = encoding or "cp1252"
    try:
        return "\n".join(
            line.decode("utf-8" if k is not False else encoding)
            for line, k in zip(lines, kinds, strict=True)
        )
    except (UnicodeDecodeError, LookupError):
        return None


def mixed_encoding_note(raw: bytes) -> str | None:
    """The warning for a file that mixes UTF-8 lines with lines in a legacy encoding."""
    try:
        raw.decode("utf-8")
        return None
    except UnicodeDecodeError:
        pass
    if raw.startswith(tuple(b for b, _ in _BOMS)) or b"\x00" in raw:
        return None
    kinds, utf8, other = _line_kinds(raw)
    if not utf8 or not other:
        return None
    first = kinds.index(False) + 1
    lines = raw.split(b"\n")
    encoding = _encoding_of(lines, kinds)
    return (
        f"mixes encodings: {utf8} lines are UTF-8 and {other} are not (the first at line "
        f"{first}), read as {encoding or 'cp1252'}; each line was decoded on its own, so check "
        "accented letters there (re-save the file as UTF-8 to be sure)"
    )


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
            text = _mixed(raw) or _legacy(raw)
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
