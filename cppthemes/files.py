"""Writing files so that a failed or interrupted run never leaves a half-written output behind.

Every output is first written in full to a temporary file beside its target (and flushed to
disk), and only when all of them are written are they renamed over the targets. A crash, a
Ctrl-C or a SIGKILL before the renames leaves the earlier outputs as they were (and stray
``.NAME.*.tmp`` files, removed by the next write); the renames themselves take microseconds.
A file the analyst edited (codebook.yaml) is copied to a backup before it is replaced.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path

from cppthemes.errors import RunDirError


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _oserror(path: Path, exc: OSError) -> RunDirError:
    # The message names the file and the system's reason, never the content being written.
    return RunDirError(f"{path}: cannot write ({exc.strerror or type(exc).__name__})")


def _stage(path: Path, data: bytes) -> Path:
    """Write ``data`` to a new temporary file beside ``path``, on disk; return its path."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise _oserror(path, exc) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise _oserror(path, exc) from None
        raise
    return Path(tmp)


def _sync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_bytes(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """Write to a temporary file beside ``path``, then rename it over ``path``.

    The file is created with mode 0600 (``tempfile.mkstemp``) unless ``mode`` says otherwise.
    """
    tmp = _stage(path, data)
    try:
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise _oserror(path, exc) from None
        raise
    _sync_dir(path.parent)


def atomic_write_text(path: Path, text: str, *, mode: int | None = None) -> None:
    """Write text as UTF-8 with LF line ends, atomically (see ``atomic_write_bytes``)."""
    atomic_write_bytes(path, text.encode("utf-8"), mode=mode)


def remove_stale_temps(out_dir: Path, names: Iterable[str]) -> None:
    """Delete temporary files an interrupted write left beside ``names`` in ``out_dir``."""
    if not out_dir.is_dir():
        return
    for name in names:
        for stale in out_dir.glob(f".{name}.*.tmp"):
            stale.unlink(missing_ok=True)


def backup_path(path: Path, now: datetime | None = None) -> Path:
    """``codebook.yaml.bak-20261127T062300Z`` beside ``path``; numbered if that exists."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    candidate = path.with_name(f"{path.name}.bak-{stamp}")
    number = 1
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{path.name}.bak-{stamp}-{number}")
    return candidate


def backup_if_edited(path: Path, last_written: str | None, new: bytes) -> Path | None:
    """Copy ``path`` to a backup when someone changed it since the tool last wrote it.

    ``last_written`` is the SHA-256 recorded when the tool wrote the file (None when unknown,
    e.g. a run folder from an older version: then any difference from ``new`` counts as an
    edit). Nothing is copied when the file is absent, unchanged, or already equal to ``new``.
    """
    try:
        current = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _oserror(path, exc) from None
    digest = sha256_bytes(current)
    if digest == last_written or current == new:
        return None
    target = backup_path(path)
    atomic_write_bytes(target, current)
    return target


def write_all(
    out_dir: Path,
    files: Mapping[str, str | bytes],
    *,
    last_written: Mapping[str, str | None] | None = None,
    on_backup: Callable[[Path], None] | None = None,
) -> None:
    """Write every rendered output: all staged first, then all renamed.

    ``last_written`` names files that people edit (codebook.yaml) with the SHA-256 the tool
    recorded for them; an edited one is backed up (``backup_if_edited``) before it is replaced.
    """
    remove_stale_temps(out_dir, files)
    payload = {
        name: content.encode("utf-8") if isinstance(content, str) else content
        for name, content in files.items()
    }
    staged: list[tuple[Path, Path]] = []
    try:
        for name, data in payload.items():
            staged.append((_stage(out_dir / name, data), out_dir / name))
        for name, recorded in (last_written or {}).items():
            if name in payload:
                backup = backup_if_edited(out_dir / name, recorded, payload[name])
                if backup is not None and on_backup is not None:
                    on_backup(backup)
        for tmp, target in staged:
            try:
                os.replace(tmp, target)
            except OSError as exc:
                raise _oserror(target, exc) from None
    finally:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
    _sync_dir(out_dir)
