"""How long this process has been running: start-up (interpreter, imports) is part of a run.

run.json's timings cover the whole wall time of the `cppthemes` command, and the seconds before
the first line of our code runs (Python starting, importing) are the user's seconds too. On
Linux the process's start comes from /proc; elsewhere the import of this module stands in.
"""

from __future__ import annotations

import os
import time

_IMPORTED = time.time()


def _started() -> float:
    try:
        with open("/proc/self/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        ticks = int(fields[19])  # field 22 of stat(5): start time in clock ticks after boot
        with open("/proc/uptime", encoding="ascii") as fh:
            uptime = float(fh.read().split()[0])  # /proc/stat's btime is whole seconds only
        return time.time() - (uptime - ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return _IMPORTED


STARTED = min(_started(), _IMPORTED)


def age() -> float:
    """Seconds since this process started."""
    return max(0.0, time.time() - STARTED)
