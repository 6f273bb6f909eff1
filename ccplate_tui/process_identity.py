"""Is the process that left a record still alive, and is it the same one (not a recycled pid)?

A pid alone is not an identity: pids are reused. A record therefore keeps the pid and the
process's start time; both must match.
"""

from __future__ import annotations

import psutil

SAME_START = 1.0
"""Seconds two start-time readings of one process may differ by (clock rounding)."""


def process_started(pid: int) -> float | None:
    """Start time of a live (non-zombie) process, None when there is none."""
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        return process.create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        # AccessDenied cannot happen for pid/create_time on Linux; "gone" is the safe reading:
        # it lets work resume rather than wait forever on a stranger's pid.
        return None


def process_alive(pid: int | None, pid_started: float | None) -> bool:
    """True while `pid` runs and started at `pid_started` (any start when that is unknown)."""
    if pid is None:
        return False
    started = process_started(pid)
    if started is None:
        return False
    return pid_started is None or abs(started - pid_started) < SAME_START
