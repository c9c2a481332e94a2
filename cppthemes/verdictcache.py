"""The procedural verdicts of a run (content words, kind per text), kept for the next run.

The procedural bin and the quote rule (cppthemes/procedural.py, quotes.py) judge every
passage, its own speaker's span and the sentences at its ends: about a second of a rerun on
swda-small on the 2-core machine, for verdicts that are a pure function of the text, the
blocked words and the rule's code. A run's verdicts are stored under ``verdicts/`` in the
cache folder, in a file keyed by a SHA-256 over the passage texts and the rule's own source
files (procedural.py and the non-speech markers it strips), so a change to the rule is a new
key; inside, each blocked-word set has its own table (keyed by the set's words). A rerun on
the same passages loads the tables before the bin is made and judges only texts it has not
seen. A cache that cannot be read or written only costs the judging.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from contextlib import suppress
from pathlib import Path

from cppthemes import cachefiles, procedural

FORMAT = "verdicts-v1"
FOLDER = "verdicts"
KEEP = 8


def _rule_source() -> bytes:
    from cppthemes.ingest import nonspeech

    out = b""
    for module in (procedural, nonspeech):
        try:
            out += Path(str(module.__file__)).read_bytes()
        except OSError:
            out += str(module.__name__).encode()
    return out


def key(texts: Iterable[str]) -> str:
    digest = hashlib.sha256(FORMAT.encode())
    digest.update(hashlib.sha256(_rule_source()).digest())
    for text in texts:
        digest.update(hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest())
    return digest.hexdigest()


def load(folder: Path, name: str) -> bool:
    """Give procedural.py the stored verdicts of ``name``; False when there are none."""
    path = folder / FOLDER / f"{name}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        tables = {
            str(words): (
                {str(h): (None if k is None else str(k)) for h, k in entry["kinds"].items()},
                {str(h): int(n) for h, n in entry["counts"].items()},
            )
            for words, entry in data["tables"].items()
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False
    procedural.remember(tables)
    with suppress(OSError):
        os.utime(path)  # recently used: kept by the pruning in ``store``
    return True


def store(folder: Path, name: str) -> None:
    """Write this process's verdicts atomically as ``name``; keep the ``KEEP`` newest."""
    tables = {
        words: {"kinds": kinds, "counts": counts}
        for words, (kinds, counts) in procedural.verdicts().items()
    }
    text = json.dumps({"tables": tables}, ensure_ascii=False)
    cachefiles.store(
        folder / FOLDER, name, ".json", lambda tmp: tmp.write_text(text, encoding="utf-8"), KEEP
    )
