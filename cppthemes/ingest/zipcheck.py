"""Checks on ``.docx`` and ``.xlsx`` files (zip archives of XML) before a reader opens them.

A damaged or hostile archive must cost one skipped file, not the machine: a zip bomb (a few
kilobytes that unpack to gigabytes) is refused from the sizes in its directory before any
member is unpacked, and an XML part that declares a DTD (where "billion laughs" entity bombs
and external entities live; Office files never have one) is refused by parsing its prolog
with defusedxml.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

from cppthemes.errors import InputError

MAX_MEMBERS = 10_000
MAX_MEMBER_BYTES = 512 * 1024 * 1024  # one unpacked part (a long transcript's XML is ~100 MB)
MAX_TOTAL_BYTES = 1024 * 1024 * 1024
MAX_RATIO = 250  # unpacked / packed; XML packs ~5-30x, zip bombs ~1,000x and more
RATIO_FROM_BYTES = 10 * 1024 * 1024  # small parts may pack very well; only big ones count


def _xml_prolog_is_safe(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    """Parse up to the root element with defusedxml: False when a DTD is declared."""
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import iterparse

    try:
        with archive.open(info) as fh:
            for _ in iterparse(fh, events=("start",), forbid_dtd=True):
                break  # the root element opened: the prolog is behind us
    except DefusedXmlException:
        return False
    except (ParseError, zipfile.BadZipFile, zlib.error, EOFError, ValueError, RuntimeError,
            NotImplementedError, OSError):  # fmt: skip
        return True  # a damaged part: the reader reports the file as damaged
    return True


def check_archive(path: Path, kind: str) -> None:
    """Raise ``InputError`` unless ``path`` is a zip archive that is safe to unpack."""
    try:
        archive = zipfile.ZipFile(path)
    except OSError as exc:
        raise InputError(path, f"cannot read file ({exc.strerror or exc})") from None
    except (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError, RuntimeError):
        return  # not a readable zip: nothing to unpack; the reader names it a damaged file
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_MEMBERS:
            raise InputError(path, f"{kind} with {len(infos):,} parts (more than {MAX_MEMBERS:,})")
        total = 0
        for info in infos:
            total += info.file_size
            packed = max(info.compress_size, 1)
            if (
                info.file_size > MAX_MEMBER_BYTES
                or total > MAX_TOTAL_BYTES
                or (info.file_size > RATIO_FROM_BYTES and info.file_size / packed > MAX_RATIO)
            ):
                raise InputError(
                    path,
                    f"{kind} part {info.filename!r} would unpack to {info.file_size:,} bytes "
                    f"from {info.compress_size:,} (a zip bomb?); refused",
                )
        for info in infos:
            if info.filename.endswith((".xml", ".rels")) and not _xml_prolog_is_safe(archive, info):
                raise InputError(
                    path, f"{kind} part {info.filename!r} declares a DTD (entities); refused"
                )
