"""Kind `timer`: a watch window ("monitor error rates for 30 min") that re-runs its probes.

The deadline is wall-clock (`timer_started + duration`), so a restarted app resumes the same
window and watches only what is left of it; the time nobody watched is reported, never hidden.
Any failing probe fails the step at once with that probe's evidence.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ccplate_tui.checklist.model import CommandSpec, HttpProbe, Step
from ccplate_tui.checklist.outcome import StepOutcome
from ccplate_tui.checklist.runners import Progress, RunContext
from ccplate_tui.checklist.runners.command import run_command_spec
from ccplate_tui.checklist.runners.common import clean_evidence, seconds
from ccplate_tui.checklist.runners.http import probe_http
from ccplate_tui.masking import mask_argv, mask_secrets

WATCH_EVERY = 60.0
"""Seconds between two `on_watch` calls: the state file gets a heartbeat, not a flood."""
_TICK = 1.0


def run_timer(
    step: Step,
    ctx: RunContext,
    cancel: threading.Event,
    progress: Progress | None = None,
) -> StepOutcome:
    """Watch the window, probing every `step.every` seconds; passes at the deadline."""
    if step.duration is None or step.duration <= 0:
        return StepOutcome("failed", "the timer has no duration", {"reason": "no duration"})
    if not step.probes:
        return StepOutcome("failed", "the timer has no probes", {"reason": "no probes"})
    return _Watch(step, ctx, cancel, progress).run()


def clock(left: float) -> str:
    """`12:31` (or `1:02:03`) for a countdown."""
    total = max(0, int(left + 0.999))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def describe_probe(probe: HttpProbe | CommandSpec) -> str:
    """One line naming a probe (masked): `GET http://…/api/health` or `$ npm test`."""
    if isinstance(probe, HttpProbe):
        return mask_secrets(f"{probe.method} {probe.url}")
    return "$ " + " ".join(mask_argv(probe.argv))


class _Watch:
    def __init__(
        self, step: Step, ctx: RunContext, cancel: threading.Event, progress: Progress | None
    ) -> None:
        assert step.duration is not None
        self.step = step
        self.ctx = ctx
        self.cancel = cancel
        self.progress = progress
        self.window = float(step.duration)
        self.every = max(float(step.every), 0.05)
        now = time.time()
        started = ctx.timer_started
        self.start = started.timestamp() if started is not None else now
        self.deadline = self.start + self.window
        watched_until = ctx.timer_watched_until
        last_seen = watched_until.timestamp() if watched_until is not None else self.start
        self.unwatched = min(max(0.0, now - max(last_seen, self.start)), self.window)
        self.allowance = unwatched_allowance(self.window, self.every)
        self.base_dir = Path(ctx.config.path).parent
        self.rounds = 0
        self.probes_run = 0
        self.last_watch: float | None = None

    def run(self) -> StepOutcome:
        next_round = time.time()
        last_tick = 0.0
        while True:
            if self.cancel.is_set():
                return self._cancelled()
            now = time.time()
            # At least one round always runs: a window that ran out while nobody watched
            # still gets its closing check.
            if now >= self.deadline and self.rounds:
                return self._passed()
            if now >= next_round or not self.rounds:
                failure = self._round()
                if failure is not None:
                    return failure
                if self.cancel.is_set():
                    return self._cancelled()
                next_round = max(next_round + self.every, time.time())
                self._report(force=True)
                last_tick = time.monotonic()
                continue
            if time.monotonic() - last_tick >= _TICK:
                self._report(force=False)
                last_tick = time.monotonic()
            wait = min(next_round, self.deadline) - time.time()
            self.cancel.wait(max(0.0, min(wait, _TICK)))

    def _round(self) -> StepOutcome | None:
        for index, probe in enumerate(self.step.probes, 1):
            outcome = self._probe(probe)
            self.probes_run += 1
            if outcome.result == "cancelled":
                return self._cancelled()
            if outcome.result == "failed":
                return self._failed(index, probe, outcome)
        self.rounds += 1
        return None

    def _probe(self, probe: HttpProbe | CommandSpec) -> StepOutcome:
        if isinstance(probe, HttpProbe):
            return probe_http(probe, self.cancel)
        return run_command_spec(probe, self.cancel, base_dir=self.base_dir)

    def _left(self) -> float:
        return max(0.0, self.deadline - time.time())

    def _status(self) -> str:
        rounds = f"{self.rounds} round{'s' if self.rounds != 1 else ''} ok"
        return f"{clock(self._left())} left · {rounds}"

    def _report(self, *, force: bool) -> None:
        if self.progress is not None:
            with contextlib.suppress(Exception):  # a broken sink must not end the watch
                self.progress(self._status())
        now = time.monotonic()
        if self.ctx.on_watch is None or not force:
            return
        if self.last_watch is not None and now - self.last_watch < WATCH_EVERY:
            return
        self.last_watch = now
        with contextlib.suppress(Exception):
            self.ctx.on_watch(clean_evidence(self._summary()))

    def _summary(self) -> dict[str, Any]:
        return {
            "rounds": self.rounds,
            "probes_run": self.probes_run,
            "left_s": round(self._left(), 1),
            "window_s": self.window,
            "started_at": datetime.fromtimestamp(self.start, UTC).isoformat(),
            "unwatched_s": round(self.unwatched, 1),
        }

    def _passed(self) -> StepOutcome:
        if self.unwatched > self.allowance:
            return self._unwatched()
        evidence = {
            "probes_run": self.probes_run,
            "rounds": self.rounds,
            "window_s": self.window,
            "unwatched_s": round(self.unwatched, 1),
            "started_at": datetime.fromtimestamp(self.start, UTC).isoformat(),
            "probes": [describe_probe(p) for p in self.step.probes],
        }
        summary = (
            f"{self.rounds} round{'s' if self.rounds != 1 else ''} ok over {seconds(self.window)}"
        )
        if self.unwatched >= 1:
            summary += f" ({seconds(self.unwatched)} unwatched)"
        return StepOutcome("passed", summary, clean_evidence(evidence))

    def _failed(
        self, index: int, probe: HttpProbe | CommandSpec, outcome: StepOutcome
    ) -> StepOutcome:
        elapsed = max(0.0, time.time() - self.start)
        evidence: dict[str, Any] = {
            "failed_probe": index,
            "probe_name": describe_probe(probe),
            "probe": dict(outcome.evidence),
            "reason": outcome.summary,
            "rounds": self.rounds,
            "probes_run": self.probes_run,
            "window_s": self.window,
            "failed_after_s": round(elapsed, 1),
            "unwatched_s": round(self.unwatched, 1),
        }
        summary = (
            f"probe {index} failed after {seconds(elapsed)} of the window "
            f"({self.rounds} round{'s' if self.rounds != 1 else ''} ok): {outcome.summary}"
        )
        return StepOutcome("failed", summary, clean_evidence(evidence))

    def _unwatched(self) -> StepOutcome:
        # A watch window nobody watched proves nothing about it: not a pass.
        evidence = {
            "rounds": self.rounds,
            "probes_run": self.probes_run,
            "window_s": self.window,
            "unwatched_s": round(self.unwatched, 1),
            "allowed_unwatched_s": round(self.allowance, 1),
            "reason": "the window was not watched long enough",
        }
        summary = (
            f"not watched for {seconds(self.unwatched)} of the {seconds(self.window)} window "
            f"(at most {seconds(self.allowance)} may go unwatched): run it again for a full window"
        )
        return StepOutcome("failed", summary, clean_evidence(evidence))

    def _cancelled(self) -> StepOutcome:
        evidence = {
            "rounds": self.rounds,
            "probes_run": self.probes_run,
            "window_s": self.window,
            "left_s": round(self._left(), 1),
        }
        return StepOutcome(
            "cancelled",
            f"cancelled with {clock(self._left())} left ({self.rounds} rounds ok)",
            clean_evidence(evidence),
        )


def unwatched_allowance(window: float, every: float) -> float:
    """How long a resumed window may have gone unwatched and still pass: a restart's worth."""
    return max(2 * every, 60.0, 0.1 * window)


def watch_summary(evidence: Mapping[str, Any]) -> str:
    """A watch event's evidence in words (for status lines and the report)."""
    rounds = evidence.get("rounds", 0)
    left = evidence.get("left_s")
    text = f"{rounds} round{'s' if rounds != 1 else ''} ok"
    return f"{text}, {clock(float(left))} left" if isinstance(left, int | float) else text
