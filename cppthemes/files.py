"""Writing files so that a failed run never leaves a half-written output behind."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file beside ``path``, then rename it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Write text as UTF-8 with LF line ends, atomically (see ``atomic_write_bytes``)."""
    atomic_write_bytes(path, text.encode("utf-8"))


def write_all(out_dir: Path, files: Mapping[str, str | bytes]) -> None:
    """Write every rendered output; rendering happens before, so errors there write nothing."""
    for name, content in files.items():
        data = content.encode("utf-8") if isinstance(content, str) else content
        atomic_write_bytes(out_dir / name, data)
