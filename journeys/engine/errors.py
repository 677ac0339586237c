"""The engine's signals and errors. The bottom layer: it imports nothing of the project,
so every other engine module may raise or catch these."""

from __future__ import annotations

from datetime import datetime


class Suspend(Exception):
    """The run must wait: park it until `wake_at` (or the awaited event)."""

    def __init__(
        self,
        *,
        wake_at: datetime,
        step: str,
        waiting_event: str = "",
        deadline: datetime | None = None,
    ) -> None:
        super().__init__(step)
        self.wake_at, self.step = wake_at, step
        self.waiting_event, self.deadline = waiting_event, deadline


class RunExited(Exception):
    """The run row is terminal (exited/cancelled): stop without side effects."""


class ExitRequested(BaseException):
    """`ctx.exit()`: the runner writes the exit and stops the run.

    A BaseException, so journey code catching `Exception` cannot swallow the exit."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Deferred(BaseException):
    """The run asked for I/O its batch does for all runs at once; it executes again.

    A BaseException, so journey code catching `Exception` around a send (a
    best-effort email) cannot swallow it.
    """


class JourneyChanged(Exception):
    """The code no longer matches the journal of a live run."""


class DuplicateLabel(ValueError):
    pass
