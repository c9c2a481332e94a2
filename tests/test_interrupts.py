"""Ctrl-C while the settings' models are built is held, then raised (cppthemes/interrupts.py)."""

from __future__ import annotations

import os
import signal

import pytest

from cppthemes.interrupts import Held


def test_a_held_interrupt_is_raised_at_release_and_the_handler_restored() -> None:
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    held = Held()
    os.kill(os.getpid(), signal.SIGINT)  # delivered now: noted, not raised
    assert held.got
    with pytest.raises(KeyboardInterrupt):
        held.release()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    held.release()  # nothing more to raise


def test_nothing_is_raised_without_an_interrupt() -> None:
    held = Held()
    held.release()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_programs_own_handler_is_left_alone() -> None:
    seen: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda s, f: seen.append(s))
    try:
        held = Held()
        os.kill(os.getpid(), signal.SIGINT)
        assert seen == [signal.SIGINT] and not held.got
        held.release()
    finally:
        signal.signal(signal.SIGINT, previous)
