"""SHA-256 digests of model files, remembered by file identity so a rerun need not reread them.

A model's fingerprint (run.json, the embedding cache's key) is a SHA-256 over its weights: 90 MB
for the packaged MiniLM, and as much again for its ONNX export, about 0.1 s each on an idle
machine and several times that on a busy one, on every run. The digest is remembered in the
user cache beside the size, modification time (ns) and inode of every file it covered; any
change to any of them and the files are read again. A memo that cannot be read or written only
costs the reread.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path

MEMO_FILE = "digests.json"
MAX_ENTRIES = 64


def _identity(paths: Sequence[Path]) -> list[list[object]]:
    out: list[list[object]] = []
    for path in paths:
        st = path.stat()
        out.append([str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ino])
    return out


def remembered(
    paths: Sequence[Path], compute: Callable[[], str], memo_dir: Path | None = None
) -> str:
    """``compute()``, or the digest remembered for exactly these files as they are now."""
    if memo_dir is None:
        from cppthemes.embed.embedder import default_cache_dir

        memo_dir = default_cache_dir()
    try:
        identity = _identity(paths)
    except OSError:
        return compute()
    key = json.dumps(identity)
    memo_path = memo_dir / MEMO_FILE
    try:
        memo = json.loads(memo_path.read_text(encoding="utf-8"))
        if not isinstance(memo, dict):
            memo = {}
    except (OSError, ValueError):
        memo = {}
    found = memo.get(key)
    if isinstance(found, str) and len(found) == 64:
        return found
    digest = compute()
    memo[key] = digest
    while len(memo) > MAX_ENTRIES:
        memo.pop(next(iter(memo)))
    try:
        memo_dir.mkdir(parents=True, exist_ok=True)
        tmp = memo_path.with_name(f"{MEMO_FILE}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(memo), encoding="utf-8")
        os.replace(tmp, memo_path)
    except OSError:
        pass  # a read-only cache: the digest is simply computed again next time
    return digest
