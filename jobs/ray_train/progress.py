"""Epoch progress of a Ray Train run on the driver's terminal. The workers' own output stays in
Ray's logs (quiet runs do not forward it), so rank 0 posts each epoch's numbers to a small
actor and a thread on the driver draws them as one tqdm bar: epochs, loss, the latest
validation score."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from tqdm.auto import tqdm

SHOWN = ("loss", "loss_d", "loss_g", "validation", "score")  # what the bar's postfix carries


class Board:
    """Epoch reports from rank 0, taken in order by the driver (a Ray actor)."""

    def __init__(self) -> None:
        self._events: list[dict[str, Any]] = []

    def post(self, event: dict[str, Any]) -> None:
        self._events.append(event)

    def take(self) -> list[dict[str, Any]]:
        events, self._events = self._events, []
        return events


def event(metrics: dict[str, Any], epoch: int, epochs: int) -> dict[str, Any]:
    """What rank 0 posts: the epoch, the planned epochs and the numbers worth showing."""
    shown = {k: float(v) for k, v in metrics.items()
             if k in SHOWN and isinstance(v, int | float)}
    return {"epoch": int(epoch), "epochs": int(epochs), **shown}


class EpochBar:
    """Draws the posted epochs; `update` is called by the polling thread and once at the end."""

    def __init__(self, name: str) -> None:
        self.bar: Any = None
        self.name = name
        self.last: dict[str, float] = {}

    def update(self, events: list[dict[str, Any]]) -> None:
        for e in events:
            if self.bar is None:
                self.bar = tqdm(total=e["epochs"], initial=e["epoch"] - 1, unit="epoch",
                                desc=self.name, dynamic_ncols=True)
            self.last.update({k: v for k, v in e.items() if k in SHOWN})
            self.bar.update(e["epoch"] - self.bar.n)
            self.bar.set_postfix({k: f"{v:.4g}" for k, v in self.last.items()}, refresh=False)
            self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


@contextlib.contextmanager
def epoch_progress(name: str, poll_s: float = 0.5) -> Iterator[Any]:
    """Yields the Board actor's handle for the workers; draws its epochs until the block ends."""
    import ray

    board = ray.remote(num_cpus=0)(Board).remote()
    bar, stop = EpochBar(name), threading.Event()

    def poll() -> None:
        while not stop.wait(poll_s):
            with contextlib.suppress(Exception):  # progress must never break a run
                bar.update(ray.get(board.take.remote(), timeout=10))

    thread = threading.Thread(target=poll, daemon=True, name="epoch-progress")
    thread.start()
    try:
        yield board
    finally:
        stop.set()
        thread.join(timeout=15)
        with contextlib.suppress(Exception):
            bar.update(ray.get(board.take.remote(), timeout=10))
        bar.close()
        ray.kill(board)
