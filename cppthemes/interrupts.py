"""Ctrl-C held back while pydantic builds the settings' validators, then delivered.

pydantic-core builds each model's validator in Rust and calls back into Python while it does.
A KeyboardInterrupt raised inside such a callback cannot propagate: Python prints it as
"Exception ignored ... Traceback" and the import goes on, so a run interrupted at that moment
printed a traceback and then finished anyway (the kill tests, scripts/fuzz.py, caught it).
While cppthemes/config.py defines its models, SIGINT only sets a flag; at the end of that
module the interrupt is raised as an ordinary KeyboardInterrupt, which every caller handles.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any


class Held:
    """From construction to ``release``: SIGINT noted, not raised (main thread, default
    handler only: a program that set its own handler keeps it)."""

    def __init__(self) -> None:
        self.got = False
        self._previous: Any = None
        if (
            threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler
        ):
            self._previous = signal.signal(signal.SIGINT, self._note)

    def _note(self, signum: int, frame: FrameType | None) -> None:
        self.got = True

    def release(self) -> None:
        """Put the handler back; raise KeyboardInterrupt if Ctrl-C came meanwhile."""
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None
        if self.got:
            self.got = False
            raise KeyboardInterrupt
