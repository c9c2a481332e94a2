"""Sentence boundaries of long turns, remembered on disk so a rerun needs no spaCy.

Segmentation splits a turn into sentences only when it is longer than the model's window (two
turns of swda-small's 6,372), but that one split loads spaCy, whose import (with thinc, which
imports torch) took 7-10 s of a rerun on the busy 2-core machine. The spans are a pure function
of the text, the language and the spaCy version, so they are kept in one JSON file per
language and spaCy version in the cache folder and read back on the next run. Losing the file
only costs the recount.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

Spans = list[tuple[int, int]]
MAX_ENTRIES = 500_000  # beyond this the file starts afresh (a corpus of a million passages)


class CachedSentences:
    """A sentencizer (text -> character spans) backed by a file of earlier answers."""

    def __init__(self, split: Callable[[str], Spans], folder: Path, lang: str) -> None:
        self._split = split
        try:
            spacy_version = version("spacy")
        except PackageNotFoundError:
            spacy_version = ""
        self.path = folder / "sentences" / f"{lang}-spacy{spacy_version}.json"
        self._known: dict[str, Spans] | None = None
        self._new = 0

    def _table(self) -> dict[str, Spans]:
        if self._known is None:
            try:
                raw = json.loads(self.path.read_text(encoding="utf-8"))
                self._known = {k: [(int(s), int(e)) for s, e in v] for k, v in raw.items()}
            except (OSError, ValueError, TypeError, AttributeError):
                self._known = {}
        return self._known

    def __call__(self, text: str) -> Spans:
        table = self._table()
        key = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        found = table.get(key)
        if found is None:
            found = table[key] = [(int(s), int(e)) for s, e in self._split(text)]
            self._new += 1
        return list(found)

    def save(self) -> None:
        """Write the table if this run added to it (atomically; errors only cost a recount)."""
        if not self._new or self._known is None:
            return
        table = self._known if len(self._known) <= MAX_ENTRIES else {}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(table, separators=(",", ":")), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError:
            return
        self._new = 0
