"""Is the process that recorded a run still alive? (A recycled pid does not count.)

Core module: no Textual here.
"""

from __future__ import annotations

import psutil


def process_started(pid: int) -> float | None:
    """Start time of a live (non-zombie) process, None when there is none."""
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        return process.create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return None


def alive(pid: int | None, pid_started: float | None) -> bool:
    """True while the recording process still runs (a recycled pid does not count)."""
    if pid is None:
        return False
    started = process_started(pid)
    if started is None:
        return False
    return pid_started is None or abs(started - pid_started) < 1.0
