"""Two lanes of work in one model replica, so that a few expensive requests cannot starve the
cheap ones: light requests (no conditions, rows within one chunk) start at once; heavy ones
(any conditions, or a streamed body) run at most `heavy` at a time and wait for a slot no
longer than MAX_WAIT_S (or their time budget), then are refused (503 with Retry-After), never
queued forever."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from serving.schemas import GenerateRequest
from synth.budget import Budget

RETRY_AFTER_S = 2
MAX_WAIT_S = 5.0  # a waiting heavy request holds one of the replica's request slots: bounded


class Overloaded(Exception):
    """No slot for a heavy request within its budget (HTTP 503, Retry-After)."""


def is_heavy(req: GenerateRequest, chunk_rows: int) -> bool:
    return req.conditions is not None or req.num_samples > chunk_rows \
        or req.output_format in ("parquet", "zip")


class Lanes:
    def __init__(self, heavy: int) -> None:
        self.heavy = heavy
        self._slots: asyncio.Semaphore | None = None

    @asynccontextmanager
    async def slot(self, heavy: bool, budget: Budget) -> AsyncIterator[None]:
        if not heavy:
            yield
            return
        if self._slots is None:  # made in the replica's event loop
            self._slots = asyncio.Semaphore(self.heavy)
        wait = MAX_WAIT_S if budget.deadline is None else \
            min(MAX_WAIT_S, max(budget.deadline - time.monotonic(), 0))
        try:
            await asyncio.wait_for(self._slots.acquire(), wait)
        except TimeoutError:
            raise Overloaded(f"busy: {self.heavy} heavy requests (conditions or large bodies) "
                             "are running on this replica; retry later") from None
        try:
            yield
        finally:
            self._slots.release()
