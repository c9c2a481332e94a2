"""Progress bars for the CLI (rich, on stderr), fed by the library's ``on_progress`` callback.

The library only calls ``on_progress(stage, done, total)``; drawing is the CLI's business. Each
stage gets one line that starts when the stage is first announced and is finished when the next
stage starts; a stage that reports its own progress (embedding reports each chunk) shows a bar,
a rate and an ETA, the others a spinner and the elapsed time.

Without a terminal (CI logs, scripted batches, a log file) there is nothing to redraw: each
stage prints one line when it ends, with its count and its seconds ("embed: 3,187 passage
texts embedded in 12.3 s"), so a log says where the time went rather than that a stage began.
"""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

# What each stage's count counts (the pipeline's ``on_progress`` totals).
UNITS = {
    "ingest": " inputs",
    "segment": " transcripts",
    "embed": " passage texts embedded",
    "cluster": " passages",
    "label": " codes",
    "write": " files",
}


class StageProgress:
    """A context manager whose ``update`` method is a pipeline ``on_progress`` callback."""

    def __init__(self, console: Console, *, enabled: bool = True) -> None:
        self.enabled = enabled and console.is_terminal
        self.console = console
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description:<10}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("elapsed"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self._tasks: dict[str, TaskID] = {}
        self._current: str | None = None
        # Without a terminal (a log file, CI) one plain line per stage, when it ends.
        self._plain = enabled and not console.is_terminal
        self._plain_stage: str | None = None
        self._plain_total = 0
        self._plain_start = 0.0

    def __enter__(self) -> StageProgress:
        if self.enabled:
            self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._plain and self._plain_stage is not None and exc_type is None:
            self._plain_end()
        if self._current is not None and exc_type is None:
            self._finish(self._current)
        if self.enabled:
            self._progress.stop()

    def _finish(self, stage: str) -> None:
        task = self._tasks[stage]
        total = self._progress.tasks[task].total or 1
        self._progress.update(task, completed=total, total=total)
        self._progress.stop_task(task)

    def note(self, message: str) -> None:
        """A note or warning from the library (shown even with progress off)."""
        self.console.print(message, markup=False)

    def _plain_end(self) -> None:
        seconds = time.perf_counter() - self._plain_start
        unit = UNITS.get(str(self._plain_stage), "")
        count = f" {self._plain_total:,}{unit}" if self._plain_total > 1 or unit else ""
        self.console.print(f"{self._plain_stage}:{count} in {seconds:.1f} s", markup=False)

    def update(self, stage: str, done: int, total: int) -> None:
        """The ``on_progress`` callback: start, advance or finish a stage's line."""
        if self._plain:
            if stage != self._plain_stage:
                if self._plain_stage is not None:
                    self._plain_end()
                self._plain_stage = stage
                self._plain_start = time.perf_counter()
            self._plain_total = total
            return
        if not self.enabled:
            return
        if stage not in self._tasks:
            if self._current is not None:
                self._finish(self._current)
            self._tasks[stage] = self._progress.add_task(stage, total=max(total, 1))
            self._current = stage
        self._progress.update(self._tasks[stage], completed=done, total=max(total, 1))
