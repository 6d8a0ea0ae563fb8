"""What a job shows on its terminal. Quiet by default: the job draws one progress display per
stage (epochs, rows, trials) and prints its result; Ray's own log records, the workers' output
(not forwarded to the driver), Ray Data's progress logs and warnings raised inside installed
packages (nothing a user can act on) go to a log file instead, `<run dir>/_logs/<command>.log`
(the run directory is local; for output on S3, `runs/_logs/<command>.log`). `--verbose` (or
RAYSYNTH_VERBOSE=1) brings all of it back to the terminal."""

from __future__ import annotations

import logging
import os
import sys
import warnings
from pathlib import Path
from typing import Any

from synth.data.io import is_s3

VERBOSE_ENV = "RAYSYNTH_VERBOSE"
RAY_LOGGERS = ("ray", "ray.data", "ray.train", "ray.tune", "ray.serve", "ray.air",
               "py.warnings")
_state: dict[str, Any] = {"verbose": True, "path": None, "handler": None}


def log_path(run_dir: str | None, command: str) -> Path:
    """The log file of a job whose run directory is `run_dir` (local or s3://)."""
    folder = Path(run_dir) if run_dir and not is_s3(run_dir) else Path("runs")
    return folder / "_logs" / f"{command}.log"


def parent_dir(output: str | None) -> str | None:
    """The run directory of an output file or prefix (local only)."""
    return str(Path(output).parent) if output and not is_s3(output) else None


def configure(verbose: bool, run_dir: str | None, command: str) -> Path | None:
    """Set this process's console mode before Ray starts; returns the log file (None when
    verbose). Safe to call again (tests run several jobs in one process)."""
    verbose = verbose or os.environ.get(VERBOSE_ENV, "") not in ("", "0")
    _state["verbose"] = verbose
    _restore()
    if verbose:
        _state["path"] = None
        return None
    path = log_path(run_dir, command)
    _state["path"] = path
    _state["handler"] = handler = _LazyFileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    import ray  # noqa: F401  (importing Ray installs its console handler: replaced below)

    _route_loggers()
    # ray.init clears the "ray" logger's handlers before it logs (e.g. its token warning):
    # records that find no handler at all go to the file too
    logging.lastResort = handler
    warnings.showwarning = _show_warning
    return path


class _LazyFileHandler(logging.FileHandler):
    """Creates its folder and file at the first record, so that a command that fails on its
    input (or never logs) leaves no log folder behind."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, encoding="utf-8", delay=True)

    def _open(self):  # type: ignore[no-untyped-def]
        Path(self.baseFilename).parent.mkdir(parents=True, exist_ok=True)
        return super()._open()


def before_ray_start() -> None:
    """A quiet run about to start Ray: native output (Ray's C++ core worker, the processes
    `ray.init` starts) goes to the log file from now on."""
    path = _state.get("path")
    if not verbose() and path is not None and "terminal" not in _state:
        path.parent.mkdir(parents=True, exist_ok=True)
        _native_stderr_to(path)


def verbose() -> bool:
    return bool(_state["verbose"])


def log_to_driver() -> bool:
    """Forward the workers' stdout/stderr to this terminal (only when verbose)."""
    return verbose()


def after_ray_start() -> None:
    """Ray (and Ray Data on import) install console handlers of their own: send those loggers
    to the file again, and turn Ray Data's progress bars off (the jobs draw their own)."""
    if verbose():
        return
    import ray.data

    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.print_on_execution_start = False
    _route_loggers()


def _route_loggers() -> None:
    handler = _state["handler"]
    saved = _state.setdefault("saved", {})
    for name in RAY_LOGGERS:
        lg = logging.getLogger(name)
        if name not in saved:  # as Ray left it, for a later verbose run in this process
            saved[name] = (list(lg.handlers), lg.propagate, lg.level)
        for h in list(lg.handlers):
            if _is_console(h):
                lg.removeHandler(h)
        if handler not in lg.handlers:
            lg.addHandler(handler)
        lg.propagate = False
        if lg.level == logging.NOTSET:
            lg.setLevel(logging.INFO)


def _is_console(h: logging.Handler) -> bool:
    stream = getattr(h, "stream", None)
    return not isinstance(h, logging.FileHandler) and stream in (
        sys.stderr, sys.stdout, sys.__stderr__, sys.__stdout__) or type(h).__name__ in (
        "PlainRayHandler",)


def _native_stderr_to(path: Path) -> None:
    """Native code (Ray's C++ core worker, the processes `ray.init` starts) writes straight to
    file descriptor 2: point it at the log file and give Python's sys.stderr (progress bars,
    errors, tracebacks) a copy of the terminal. Only in a process that owns its stderr (not
    under a test runner's capture)."""
    try:
        owned = sys.stderr is sys.__stderr__ and sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):
        owned = False
    if not owned:
        return
    sys.stderr.flush()
    terminal = os.dup(2)
    log = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 2)
    os.close(log)
    sys.stderr = os.fdopen(terminal, "w", buffering=1, encoding=sys.__stderr__.encoding,
                           errors="backslashreplace")
    _state["terminal"] = terminal


def _restore() -> None:
    if _state.pop("terminal", None) is not None:
        sys.stderr.flush()
        os.dup2(sys.stderr.fileno(), 2)
        sys.stderr.close()
        sys.stderr = sys.__stderr__
    handler = _state.get("handler")
    if handler is not None:
        handler.close()
        _state["handler"] = None
    logging.lastResort = _LAST_RESORT
    for name, (handlers, propagate, level) in _state.pop("saved", {}).items():
        lg = logging.getLogger(name)
        lg.handlers[:] = handlers
        lg.propagate, lg.level = propagate, level
    warnings.showwarning = _ORIGINAL_SHOWWARNING


_ORIGINAL_SHOWWARNING = warnings.showwarning
_LAST_RESORT = logging.lastResort


def _show_warning(message: Any, category: type[Warning], filename: str, lineno: int,
                  file: Any = None, line: str | None = None) -> None:
    """Warnings raised inside installed packages go to the log file; the project's own
    (e.g. the SDV sdtype warning, which a user acts on) still reach the terminal."""
    handler = _state.get("handler")
    if handler is None or "site-packages" not in str(filename):
        (file or sys.stderr).write(warnings.formatwarning(message, category, filename, lineno,
                                                          line))
        return
    logging.getLogger("py.warnings").warning(
        "%s", warnings.formatwarning(message, category, filename, lineno, line).rstrip())
