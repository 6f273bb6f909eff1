"""Messages the app's workers post to the app: the run's lifecycle, the Sentry checks and the
checklist's steps.

Workers never touch widgets; they post these and the app's handlers update the panes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from textual.message import Message

from ccplate_tui.load.live import LiveView
from ccplate_tui.load.results import RunResult
from ccplate_tui.load.run_registry import RunEnded


@dataclass
class LoadViewUpdated(Message):
    """One interval of the run (owned or followed), ready to render."""

    view: LiveView

    def can_replace(self, message: Message) -> bool:
        # A newer view waiting in the queue makes this one stale: under load only the newest
        # unprocessed view is rendered.
        return isinstance(message, LoadViewUpdated)


@dataclass
class RunStarted(Message):
    """The engine's workers are up and the run has begun."""

    names: tuple[str, ...]


@dataclass
class RunFinished(Message):
    """The run this process owns ended (as planned, stopped or aborted) with a result."""

    result: RunResult


@dataclass
class RunFailed(Message):
    """The run could not start or crashed; `text` is the readable reason."""

    text: str


@dataclass
class FollowedRunEnded(Message):
    """A run owned by another process, which this app was following, ended."""

    ended: RunEnded


@dataclass
class DemoTargetChecked(Message):
    """The demo-target check finished: `url` is set when this app started the target."""

    url: str | None
    error: str | None = None


SentryCheckKind = Literal["compatibility", "capture"]
"""The two Sentry checks: is @sentry/nextjs compatible, does Sentry receive our errors."""


@dataclass
class SentryCheckStarted(Message):
    """A Sentry check's worker began; `asking` says what it waits for (registry URL, ingest)."""

    kind: SentryCheckKind
    asking: str


@dataclass
class SentryCheckFinished(Message):
    """A Sentry check ended: its stored JSON document, or `error` (readable, secrets masked)."""

    kind: SentryCheckKind
    document: dict[str, Any] | None
    error: str | None = None


@dataclass
class ChecklistStepProgress(Message):
    """A running checklist step's latest progress line (output, countdown, rounds)."""

    step_id: str
    line: str

    def can_replace(self, message: Message) -> bool:
        # Only the newest line of a step is worth drawing.
        return isinstance(message, ChecklistStepProgress) and message.step_id == self.step_id


@dataclass
class ChecklistStepFinished(Message):
    """A checklist step's run ended and was recorded: its result and summary, or `error` when
    the result could not be recorded (the step then reads interrupted)."""

    step_id: str
    result: str
    summary: str
    error: str | None = None
