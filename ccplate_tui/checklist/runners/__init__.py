"""Runners of the automated checklist steps: one function per kind, dispatched by `run_step`.

A runner never raises for a step failure (a failing command, a refused connection, a timeout):
those are `failed` outcomes with evidence. `cancel.set()` from any thread stops it promptly.
Core module: no Textual here.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ccplate_tui.checklist.model import Step
from ccplate_tui.checklist.outcome import StepOutcome
from ccplate_tui.config.model import Config

if TYPE_CHECKING:
    from ccplate_tui.checklist.progress import StepState

Progress = Callable[[str], None]
WatchSink = Callable[[Mapping[str, Any]], None]


@dataclass(frozen=True)
class RunContext:
    """What a runner needs beyond its step: the config, the state folder and the UI's sinks."""

    config: Config
    state_dir: Path
    on_watch: WatchSink | None = None
    """Timer progress sink (operations.record_watch); called at most once a minute."""
    timer_started: datetime | None = None
    """Resume a timer window that started then, instead of starting a new one."""
    timer_watched_until: datetime | None = None
    """When a resumed window was last seen watched (its last watch event); the time since then
    counts as unwatched."""
    load_workers: int | None = None
    """Worker processes for a load step that runs its scenario (None: one per core)."""

    @classmethod
    def for_step(
        cls,
        state: StepState,
        config: Config,
        state_dir: Path,
        *,
        on_watch: WatchSink | None = None,
        load_workers: int | None = None,
    ) -> RunContext:
        """The context for running `state`'s step, resuming its open timer window if any.

        Take it before the start is recorded: that start is not a moment the window was watched.
        """
        return cls(
            config,
            state_dir,
            on_watch=on_watch,
            timer_started=state.timer_started,
            timer_watched_until=state.watched_until,
            load_workers=load_workers,
        )


Runner = Callable[[Step, RunContext, threading.Event, Progress | None], StepOutcome]

_RUNNERS: dict[str, tuple[str, str]] = {
    "command": ("ccplate_tui.checklist.runners.command", "run_command"),
    "http": ("ccplate_tui.checklist.runners.http", "run_http"),
    "timer": ("ccplate_tui.checklist.runners.timer", "run_timer"),
    "sentry": ("ccplate_tui.checklist.runners.sentry", "run_sentry"),
    "load": ("ccplate_tui.checklist.runners.load", "run_load"),
}


def runner_for(kind: str) -> Runner:
    """The runner of a step kind; ValueError for manual steps and unknown kinds.

    Imported on demand: the load engine and sentry-sdk are heavy and most runs need neither.
    """
    if kind == "manual":
        raise ValueError("manual steps are ticked, not run")
    try:
        module, name = _RUNNERS[kind]
    except KeyError:
        raise ValueError(f"no runner for step kind {kind!r}") from None
    runner: Runner = getattr(importlib.import_module(module), name)
    return runner


def run_step(
    step: Step,
    ctx: RunContext,
    cancel: threading.Event,
    progress: Progress | None = None,
) -> StepOutcome:
    """Run an automated step and return its outcome; ValueError for a manual step."""
    return runner_for(step.kind)(step, ctx, cancel, progress)


__all__ = ["Progress", "RunContext", "StepOutcome", "WatchSink", "run_step", "runner_for"]
