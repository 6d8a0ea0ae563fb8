"""Ending a local Ray that a Ctrl-C may have half ended: the terminal sends SIGINT to the whole
process group, so Ray's own processes (GCS, raylet, dashboard) can die before this driver asks
them to stop, and `ray.shutdown()` can then wait on them for a long time (CI saw more than
30 s on a loaded machine). `stop_within` bounds that wait; past it, this process's descendants
(the local Ray it started) are killed, so Ctrl-C always ends everything."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (Linux /proc; [] where there is none)."""
    children: dict[int, list[int]] = {}
    try:
        entries = [e for e in os.listdir("/proc") if e.isdigit()]
    except OSError:
        return []
    for entry in entries:
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # ended while we looked
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def stop_within(shutdown: Callable[[], None], timeout_s: float) -> bool:
    """Run `shutdown`; True when it returned within `timeout_s`, else every descendant of this
    process is killed (SIGKILL) and False."""
    worker = threading.Thread(target=shutdown, daemon=True)
    worker.start()
    worker.join(timeout_s)
    if not worker.is_alive():
        return True
    for pid in descendants(os.getpid()):
        with contextlib.suppress(OSError):  # already gone
            os.kill(pid, signal.SIGKILL)
    return False
