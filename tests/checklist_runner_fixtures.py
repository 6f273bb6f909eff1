"""Helpers for the checklist runner tests: steps, configs, processes left behind, waiting."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import tomli_w

from ccplate_tui.checklist.model import Step
from ccplate_tui.checklist.outcome import StepOutcome
from ccplate_tui.checklist.runners import RunContext, run_step
from ccplate_tui.config.loader import load_config
from ccplate_tui.config.model import Config

WAIT = 30.0
"""Upper bound of every wait in these tests (never a timing assert: a bound on a poll)."""


def make_step(kind: str, **fields: Any) -> Step:
    return Step(id=f"{kind}_step", title=f"a {kind} step", kind=kind, phase="pre", **fields)  # type: ignore[arg-type]


TINY = """
[scenarios.tiny]
executor = "constant-vus"
vus = 1
duration = "1s"

[[scenarios.tiny.requests]]
name = "health"
path = "/api/health"
"""
"""The smallest valid scenarios file body (the loader wants at least one scenario)."""


def make_config(folder: Path, base_url: str = "http://127.0.0.1:9", body: str = TINY) -> Config:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "scenarios.toml"
    path.write_text(f'[target]\nbase_url = "{base_url}"\n{body}', encoding="utf-8")
    return load_config(path)


def make_ctx(
    folder: Path, base_url: str = "http://127.0.0.1:9", body: str = TINY, **kw: Any
) -> RunContext:
    return RunContext(make_config(folder, base_url, body), folder / "state", **kw)


class Background:
    """Run a step in a thread (as the tab's workers do) and collect its progress lines."""

    def __init__(self, step: Step, ctx: RunContext) -> None:
        self.cancel = threading.Event()
        self.lines: list[str] = []
        self.outcome: StepOutcome | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(step, ctx), daemon=True)
        self.thread.start()

    def _run(self, step: Step, ctx: RunContext) -> None:
        try:
            self.outcome = run_step(step, ctx, self.cancel, self.lines.append)
        except BaseException as exc:
            self.error = exc

    def result(self, timeout: float = WAIT) -> StepOutcome:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), f"the runner did not return within {timeout}s"
        assert self.error is None, self.error
        assert self.outcome is not None
        return self.outcome


def toml_ready(outcome: StepOutcome) -> bool:
    """The evidence is what the state file can store (tomli-w: no None, plain types)."""
    tomli_w.dumps({"evidence": dict(outcome.evidence)})
    return True


def wait_until(condition: Callable[[], object], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout:g}s waiting for {what}"
        time.sleep(0.02)


def alive(pid: int) -> bool:
    """True when `pid` runs (a zombie does not count: it is dead, only not reaped)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def live_children() -> set[int]:
    """Live descendants of this test process."""
    pids = set()
    for child in psutil.Process(os.getpid()).children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE:
                pids.add(child.pid)
        except psutil.NoSuchProcess:
            pass
    return pids


def all_gone(pids: set[int], timeout: float = 10.0) -> set[int]:
    """Wait until none of `pids` is alive; returns those still alive after `timeout`."""
    deadline = time.monotonic() + timeout
    left = {p for p in pids if alive(p)}
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = {p for p in left if alive(p)}
    return left
