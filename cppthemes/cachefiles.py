"""Writing one file of a content-keyed cache: atomically, keeping only the newest few.

The phrase counts (termcache), Ward trees (cluster/linkcache) and procedural verdicts
(verdictcache) each keep files named by a content key in a folder of the user cache. Each is
written to a temporary file and renamed (a reader never sees half a file, two runs never mix
theirs), and only the ``keep`` most recently used files stay (reads touch theirs). A folder
that cannot be written is not an error: the work is done again next time.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any


def store(folder: Path, name: str, suffix: str, write: Callable[[Path], Any], keep: int) -> None:
    """``write(tmp)`` a temporary file, rename it to ``folder/name+suffix``, prune to ``keep``."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f"{name}.{os.getpid()}.tmp{suffix}"
        write(tmp)
        os.replace(tmp, folder / f"{name}{suffix}")
        kept = sorted(folder.glob(f"*{suffix}"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in kept[keep:]:
            if ".tmp." not in old.name:
                old.unlink(missing_ok=True)
    except OSError:
        return  # read-only or full: the cached work is done again next time
