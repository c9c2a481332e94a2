"""Rendering on two cores (cppthemes/forkrender.py): the same files, in the same order, as one
process renders them; a child that fails only costs time; a failure here stops the child."""

from __future__ import annotations

import os
import sys

import pytest

from cppthemes import forkrender
from cppthemes.export.registry import Rendered


def _jobs(parent: int, *, fail_in_child: str = "", fail_here: str = "") -> list[forkrender.Job]:
    def job(name: str) -> forkrender.Job:
        def render() -> Rendered:
            here = os.getpid() == parent
            if (name == fail_in_child and not here) or (name == fail_here and here):
                raise ValueError(f"{name} failed")
            body = (name * 1000).encode() if name.endswith("x") else name * 3
            return {f"{name}.out": body, f"{name}.where": "here" if here else "child"}

        return name, render

    return [job(n) for n in ("a", "htmlx", "b", "xlsx", "c")]


@pytest.fixture
def forking(monkeypatch: pytest.MonkeyPatch) -> None:
    """This test process may hold a model runtime from other tests: allow the fork anyway
    (the jobs here touch none of it)."""
    monkeypatch.setattr(forkrender, "THREADED", ())
    monkeypatch.delenv("CPPTHEMES_SERIAL_WRITE", raising=False)
    if not forkrender.can_fork():
        pytest.skip("no fork or a single core here")


def _without_place(out: Rendered) -> dict[str, str | bytes]:
    return {k: v for k, v in out.items() if not k.endswith(".where")}


def test_the_child_renders_its_share_and_the_files_come_in_job_order(forking: None) -> None:
    me = os.getpid()
    serial = forkrender.render_all(_jobs(me), frozenset())
    split = forkrender.render_all(_jobs(me), frozenset({"htmlx", "xlsx"}))
    assert list(split) == list(serial)  # run.json lists outputs in this order
    assert _without_place(split) == _without_place(serial)
    assert split["htmlx.where"] == split["xlsx.where"] == "child"
    assert split["a.where"] == split["c.where"] == "here"
    assert serial["htmlx.where"] == "here"


def test_a_child_that_fails_costs_only_time(forking: None) -> None:
    me = os.getpid()
    out = forkrender.render_all(_jobs(me, fail_in_child="xlsx"), frozenset({"htmlx", "xlsx"}))
    assert out["xlsx.where"] == "here"  # rendered again in this process
    assert _without_place(out) == _without_place(forkrender.render_all(_jobs(me), frozenset()))


def test_a_failure_here_stops_the_child_and_reaches_the_caller(
    forking: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    me = os.getpid()
    children: list[int] = []
    fork_child = forkrender._fork_child

    def recorded(*args: object) -> tuple[int, int]:
        pid, fd = fork_child(*args)  # type: ignore[arg-type]
        children.append(pid)
        return pid, fd

    monkeypatch.setattr(forkrender, "_fork_child", recorded)
    with pytest.raises(ValueError, match="b failed"):
        forkrender.render_all(_jobs(me, fail_here="b"), frozenset({"htmlx", "xlsx"}))
    (child,) = children
    with pytest.raises(ChildProcessError):
        os.waitpid(child, os.WNOHANG)  # stopped and reaped: no zombie left behind


def test_an_error_of_an_offloaded_renderer_reaches_the_user_as_before(forking: None) -> None:
    me = os.getpid()
    jobs = _jobs(me, fail_in_child="xlsx", fail_here="xlsx")
    with pytest.raises(ValueError, match="xlsx failed"):
        forkrender.render_all(jobs, frozenset({"htmlx", "xlsx"}))


def test_no_fork_with_a_model_runtime_loaded_or_when_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CPPTHEMES_SERIAL_WRITE", raising=False)
    monkeypatch.setitem(sys.modules, "onnxruntime", sys.modules[__name__])
    assert not forkrender.can_fork()
    out = forkrender.render_all(_jobs(os.getpid()), frozenset({"htmlx", "xlsx"}))
    assert out["htmlx.where"] == "here"
    monkeypatch.delitem(sys.modules, "onnxruntime")
    monkeypatch.setattr(forkrender, "THREADED", ())
    monkeypatch.setenv("CPPTHEMES_SERIAL_WRITE", "1")
    assert not forkrender.can_fork()
