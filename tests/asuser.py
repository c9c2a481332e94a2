"""Run a piece of a test as an unprivileged user, so file permissions really apply.

Root ignores file modes: a folder chmod 000 is still listed, a read-only cache folder still
written. Under root, `as_unprivileged` forks, drops the child to ``nobody`` (uid/gid 65534)
with ``os.setgid``/``os.setuid``, runs the function there and sends back what it returned;
for any other user it simply calls the function (the modes already apply). A caller runs the
same command once beforehand as itself, so that every module the command imports lazily is
loaded before the child loses access to the interpreter's own files (which may live under
/root, out of the unprivileged user's reach).
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
NOBODY = 65534


def is_root() -> bool:
    return os.geteuid() == 0


def give_to_nobody(*paths: Path) -> None:
    """Make ``paths`` (recursively) the unprivileged user's, when the tests run as root."""
    if not is_root():
        return
    for path in paths:
        for item in [path, *path.rglob("*")] if path.is_dir() else [path]:
            os.chown(item, NOBODY, NOBODY, follow_symlinks=False)


def reachable(folder: Path) -> None:
    """Let the unprivileged user walk down to ``folder`` (pytest's tmp dirs are 0700)."""
    if not is_root():
        return
    for parent in [folder, *folder.parents]:
        if parent == Path("/"):
            break
        mode = parent.stat().st_mode & 0o777
        if not mode & 0o001:
            os.chmod(parent, mode | 0o711)


def as_unprivileged(fn: Callable[[], T]) -> T:
    """``fn()``, run as uid/gid 65534 in a forked child when root; else run here."""
    if not is_root():
        return fn()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop privileges for good, run, report, exit at once
        os.close(read_end)
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            payload = pickle.dumps(("ok", fn()))
        except BaseException as exc:  # sent back to the parent, raised there
            payload = pickle.dumps(("error", f"{type(exc).__name__}: {exc}"))
        with os.fdopen(write_end, "wb") as fh:
            fh.write(payload)
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as fh:
        data = fh.read()
    os.waitpid(pid, 0)
    status, value = pickle.loads(data)
    if status != "ok":
        raise AssertionError(f"as the unprivileged user: {value}")
    return value  # type: ignore[no-any-return]
