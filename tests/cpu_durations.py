"""CPU seconds per test phase, for comparing suites on a shared machine (wall time is not).

    python -m pytest -p tests.cpu_durations   # writes CPPTHEMES_CPU_DURATIONS or cpu-durations.txt

Each setup, call and teardown is charged the CPU seconds (user + system) this process and the
children it reaped spent in it: a subprocess is charged when it is waited for, so a server
fixture's process shows up in the teardown that stops it. The first line is the session's total.
Under pytest-xdist each worker writes its own file, the path with ``.gwN`` added (the
controller, which runs no test, writes none).
"""

from __future__ import annotations

import os
import resource
from collections.abc import Iterator

import pytest

_rows: list[tuple[float, str, str]] = []


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _charged(phase: str, item: pytest.Item) -> Iterator[None]:
    start = _cpu()
    yield
    _rows.append((_cpu() - start, phase, item.nodeid))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    yield from _charged("setup", item)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    yield from _charged("call", item)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    yield from _charged("teardown", item)


def pytest_sessionfinish(session: pytest.Session) -> None:
    path = os.environ.get("CPPTHEMES_CPU_DURATIONS", "cpu-durations.txt")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker is not None:
        path = f"{path}.{worker}"
    elif session.config.getoption("numprocesses", None):
        return  # the xdist controller: the workers ran the tests
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(f"total_cpu_s {_cpu():.1f}\n")
        for seconds, phase, nodeid in sorted(_rows, reverse=True):
            fh.write(f"{seconds:8.2f} {phase:8s} {nodeid}\n")
