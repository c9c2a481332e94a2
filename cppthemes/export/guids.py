"""Deterministic GUIDs for the REFI-QDA project: the same run gives the same ids.

Every project file holds a GUID per source, passage, coding and case; QDA programs match
them on import, so a run exported twice must give the same ones (uuid5 within a namespace
derived from the corpus' file hashes).
"""

from __future__ import annotations

import hashlib
import uuid

from cppthemes.records import Result

_BASE = uuid.uuid5(uuid.NAMESPACE_URL, "cppthemes:refi-qda")


class Guids:
    """Deterministic GUIDs: uuid5 within a namespace derived from the corpus' file hashes."""

    def __init__(self, result: Result) -> None:
        fingerprint = hashlib.sha256(
            "\n".join(sorted(f"{t.source}\0{t.sha256}" for t in result.transcripts)).encode()
        ).hexdigest()
        self._ns = uuid.uuid5(_BASE, fingerprint)
        self._prefix = self._ns.bytes
        self._memo: dict[str, str] = {}

    def __call__(self, kind: str, *parts: str) -> str:
        name = "\0".join((kind, *parts))
        found = self._memo.get(name)
        if found is None:
            found = self._memo[name] = fast_uuid5(self._prefix, name)
        return found


def fast_uuid5(namespace: bytes, name: str) -> str:
    """``str(uuid.uuid5(UUID(bytes=namespace), name))``, without building UUID objects.

    A project file holds a GUID per passage, coding and case (16,000 on swda-small): the
    objects were half of rendering it. tests/test_rerun_caches.py compares with uuid5.
    """
    digest = hashlib.sha1(namespace + name.encode("utf-8")).digest()
    version = (digest[6] & 0x0F) | 0x50  # version 5
    variant = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = (digest[:6] + bytes((version,)) + digest[7:8] + bytes((variant,)) + digest[9:16]).hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
