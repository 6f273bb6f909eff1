"""Suite-wide: tests marked `exclusive` run alone even when pytest-xdist runs the suite on
several workers.

A test that measures how busy something is (the demo database's CPU, a latency threshold of a
real run) gives another answer while another worker loads the same cores. Every test holds a
shared lock on one file for its duration; an `exclusive` test holds it exclusively, so it waits
for the running tests to end and the others wait for it. A second file is a gate that gives the
exclusive test precedence: without it, the other workers' next tests could keep the shared lock
taken for ever.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


def _lock_dir() -> Path:
    """The lock files' folder, one per test session."""
    # The same folder for the controller and all its workers: xdist's run id, else the pid.
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID") or str(os.getpid())
    path = Path(tempfile.gettempdir()) / f"ccplate-tui-tests-{run}"
    path.mkdir(exist_ok=True)
    return path


@contextlib.contextmanager
def _cores(item: pytest.Item) -> Iterator[None]:
    """Hold the cores shared, or alone for an `exclusive` test, while `item` runs."""
    folder = _lock_dir()
    exclusive = item.get_closest_marker("exclusive") is not None
    with (folder / "gate").open("a") as gate, (folder / "cores").open("a") as cores:
        if exclusive:
            fcntl.flock(gate, fcntl.LOCK_EX)
            fcntl.flock(cores, fcntl.LOCK_EX)
        else:
            fcntl.flock(gate, fcntl.LOCK_SH)  # waits while an exclusive test is queued
            fcntl.flock(cores, fcntl.LOCK_SH)
            fcntl.flock(gate, fcntl.LOCK_UN)
        try:
            yield
        finally:
            fcntl.flock(cores, fcntl.LOCK_UN)
            if exclusive:
                fcntl.flock(gate, fcntl.LOCK_UN)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    # Outside pytest-timeout's own wrapper: the wait for the lock is not the test's time.
    with _cores(item):
        yield
