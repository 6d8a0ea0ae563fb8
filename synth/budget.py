"""A time budget for sampling: `with Budget(seconds).active(): model.sample(...)` stops the work
at the next block once the deadline passes or `cancel()` is called (a client that went away),
raising BudgetExceeded. The sampling loops call `check_budget()` between blocks, so a server
can bound what one request costs without killing the thread that does the work.

The budget lives in a context variable: it applies to the code inside `active()` in this
thread (or task) only, never to other requests that share the model."""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from synth.errors import BudgetExceeded

_CURRENT: contextvars.ContextVar[Budget | None] = contextvars.ContextVar(
    "raysynth_budget", default=None)


class Budget:
    """`seconds` of work from now (None: no deadline, only cancellation)."""

    def __init__(self, seconds: float | None = None) -> None:
        if seconds is not None and not seconds > 0:
            raise ValueError(f"a time budget must be > 0 seconds, got {seconds!r}")
        self.seconds = seconds
        self.deadline = None if seconds is None else time.monotonic() + seconds
        self._cancelled = threading.Event()

    def cancel(self) -> None:
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def check(self) -> None:
        if self._cancelled.is_set():
            raise BudgetExceeded("the work was cancelled (the client went away)")
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise BudgetExceeded(f"the work ran past its time budget of {self.seconds:g} s; "
                                 "ask for fewer rows or fewer distinct conditions")

    @contextmanager
    def active(self) -> Iterator[Budget]:
        token = _CURRENT.set(self)
        try:
            yield self
        finally:
            _CURRENT.reset(token)


def check_budget() -> None:
    """Raise BudgetExceeded when the active budget (if any) is spent or cancelled."""
    budget = _CURRENT.get()
    if budget is not None:
        budget.check()
