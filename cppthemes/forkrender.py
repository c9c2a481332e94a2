"""Render a run's outputs on two cores: a forked child renders some, this process the rest.

Writing is the largest stage of a rerun (issue 20: about a third of it on swda-small), and
every renderer is a pure function of the run's ``Result``: report.html and tables.xlsx in a
child, codebook.yaml, the jsonl files, project.qdpx and the rest here, and the bytes are the
same as one process's (tests/test_forkrender.py). Threads would not help: the renderers are
Python and hold the GIL.

A fork copies only the thread that calls it: a lock another thread holds at that moment stays
held in the child. So it is used only where no model runtime is loaded (``can_fork``): a rerun,
which opens no model. A cold run has onnxruntime's or torch's thread pools and renders in one
process, as before. Anything that goes wrong in the child (an exception, a signal, a short
pipe) only costs time: this process renders the child's share itself, so a renderer's error
reaches the user as it always did. The child writes no file and leaves with ``os._exit`` (no
exit handlers, no flushing of the parent's buffers).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import sys
from collections.abc import Callable, Sequence

from cppthemes.export.registry import Rendered

Job = tuple[str, Callable[[], Rendered]]

# Libraries whose native thread pools may be busy or hold locks at a fork, or that complain
# about one (tokenizers prints a warning and turns its parallelism off). A run that loaded any
# of them (a cold run, an in-process test session with the real model) renders in one process.
THREADED = ("torch", "onnxruntime", "tokenizers", "sentence_transformers", "transformers")


def can_fork() -> bool:
    """True where forking is safe and pays: POSIX, two usable cores, no model runtime loaded.

    NumPy's OpenBLAS keeps idle worker threads; it shuts them down around a fork itself
    (pthread_atfork), which is why multiprocessing's default fork start method works with it.
    ``CPPTHEMES_SERIAL_WRITE=1`` renders in one process.
    """
    if not hasattr(os, "fork") or os.environ.get("CPPTHEMES_SERIAL_WRITE"):
        return False
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    return cores >= 2 and not any(name in sys.modules for name in THREADED)


def render_all(jobs: Sequence[Job], offload: frozenset[str]) -> Rendered:
    """Every job's files, in job order; the jobs named in ``offload`` rendered in a child."""
    if not offload or not can_fork():
        return _merge(jobs, {name: job() for name, job in jobs})
    pid, read_fd = _fork_child(jobs, offload)
    done: dict[str, Rendered] = {}
    theirs: dict[str, Rendered] | None = None
    try:
        for name, job in jobs:
            if name not in offload:
                done[name] = job()
        theirs = _collect(pid, read_fd)
        pid = 0
    finally:
        if pid:  # this process failed first: the child's work is not wanted
            _stop(pid, read_fd)
    for name, job in jobs:
        if name in offload:
            done[name] = theirs[name] if theirs is not None and name in theirs else job()
    return _merge(jobs, done)


def _merge(jobs: Sequence[Job], done: dict[str, Rendered]) -> Rendered:
    # Job order, whichever process finished first: run.json lists the outputs in this order.
    out: Rendered = {}
    for name, _ in jobs:
        out.update(done[name])
    return out


def _fork_child(jobs: Sequence[Job], offload: frozenset[str]) -> tuple[int, int]:
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child; its bytes are checked by the parent's tests
        code = 1
        try:
            os.close(read_fd)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            mine = {name: job() for name, job in jobs if name in offload}
            with os.fdopen(write_fd, "wb") as fh:
                pickle.dump(mine, fh, protocol=pickle.HIGHEST_PROTOCOL)
            code = 0
        finally:
            os._exit(code)
    os.close(write_fd)
    return pid, read_fd


def _collect(pid: int, read_fd: int) -> dict[str, Rendered] | None:
    """The child's renders, or None when it failed in any way (then they are made here)."""
    with os.fdopen(read_fd, "rb") as fh:
        data = fh.read()
    _, status = os.waitpid(pid, 0)
    if status != 0 or not data:
        return None
    try:
        got = pickle.loads(data)
    except (pickle.UnpicklingError, EOFError, ValueError):
        return None
    return got if isinstance(got, dict) else None


def _stop(pid: int, read_fd: int) -> None:
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        os.close(read_fd)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)
