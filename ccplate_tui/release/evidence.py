"""What a release criterion's value rests on: which run or probe window, when, how long, how fast.

A verdict without its evidence reads "2 of 2 pass" after a 15-second rehearsal of a 5-minute
scenario; with it the reader sees the run id, its start, its length and its time scale, and a
scaled run or a rehearsed checklist timer is flagged as a rehearsal, never taken for the real
thing. Core module: no Textual here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

from ccplate_tui.load.live import LiveView
from ccplate_tui.load.results import RunResult
from ccplate_tui.load.run_records import RunRecord
from ccplate_tui.load.units_format import go_duration

Load = LiveView | RunResult | RunRecord

Status = Literal["pass", "fail", "unknown", "not_measured"]
"""`not_measured`: a plan criterion nothing measures yet; never a pass, and it holds the release."""


@dataclass(frozen=True)
class Evidence:
    """Where one criterion's value comes from."""

    source: str
    """What was measured: `load run`, `Sentry check`, `checklist`, `probe window`, `none`."""
    run_id: str | None = None
    """The history's run id (`r12`) for a load run; None for other sources."""
    started_at: float | None = None
    """Unix time the run or window began (or the check ran); None when unknown."""
    duration: float | None = None
    """Seconds the run or window lasted (so far, while running); None when not a window."""
    time_scale: float | None = None
    """The run's `--time-scale`; below 1 it was a shortened rehearsal of the plan."""
    state: str = ""
    """`finished`, `running`, `interrupted`, `aborted`, `error`; empty for a check."""
    rehearsal: bool = False
    """A scaled run or a rehearsed checklist timer: proof of the procedure, not of production."""
    detail: str = ""
    """Anything else worth saying, e.g. `timer monitor_errors rehearsed at 0.01`."""

    @property
    def planned(self) -> float | None:
        """The plan's length of a scaled run: its duration divided by its time scale."""
        if self.duration is None or not self.time_scale or self.time_scale >= 1.0:
            return None
        return self.duration / self.time_scale

    def text(self) -> str:
        """One line for the Overview and `verdict`: `run r12 · 05:16Z 27 Nov · 15s · ...`."""
        parts = [self.source if self.source != "load run" else "run"]
        if self.run_id:
            parts = [
                f"run {self.run_id}" if parts[0] == "run" else f"{parts[0]} of run {self.run_id}"
            ]
        if self.state and self.state != "finished":
            parts[0] += f" ({self.state})"
        if self.started_at is not None:
            parts.append(stamp(self.started_at))
        if self.duration is not None:
            parts.append(go_duration(round(self.duration)))
        if self.time_scale is not None:
            scale = f"time scale {self.time_scale:g}"
            if self.planned is not None:
                scale += f" of {go_duration(round(self.planned))}"
            parts.append(scale)
        if self.detail:
            parts.append(self.detail)
        if self.rehearsal:
            parts.append("REHEARSAL")
        return " · ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "run_id": self.run_id,
            "started": iso(self.started_at) if self.started_at is not None else None,
            "duration_s": round(self.duration, 3) if self.duration is not None else None,
            "time_scale": self.time_scale,
            "state": self.state or None,
            "rehearsal": self.rehearsal,
            "detail": self.detail or None,
            "text": self.text(),
        }


NO_EVIDENCE = Evidence("none")


def stamp(unix: float) -> str:
    """A short UTC start time: `2026-11-27 05:16Z`."""
    return time.strftime("%Y-%m-%d %H:%MZ", time.gmtime(unix))


def iso(unix: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(unix))


def run_evidence(
    load: Load,
    *,
    run_id: str | None = None,
    time_scale: float | None = None,
    running: bool = False,
) -> Evidence:
    """The evidence of a load run: a record knows its id and scale; a run in this process is
    told them (`run_id`, `time_scale`) by its owner."""
    if isinstance(load, RunRecord):
        scale = load.time_scale
        return Evidence(
            "load run",
            run_id=load.run_id,
            started_at=load.started_at,
            duration=max(0.0, load.ended_at - load.started_at),
            time_scale=scale,
            state="running" if running else (load.stopped or "finished"),
            rehearsal=scale < 1.0,
        )
    scale = 1.0 if time_scale is None else time_scale
    if isinstance(load, RunResult):
        return Evidence(
            "load run",
            run_id=run_id,
            started_at=load.started_at,
            duration=load.duration,
            time_scale=scale,
            state="running" if running else (load.stopped or "finished"),
            rehearsal=scale < 1.0,
        )
    return Evidence(
        "load run",
        run_id=run_id,
        started_at=None,
        duration=load.elapsed,
        time_scale=scale,
        state="running" if running else "finished",
        rehearsal=scale < 1.0,
    )


@dataclass(frozen=True)
class Criterion:
    """One success criterion: what is required, what was measured, whether it holds, and on what."""

    name: str
    target: str
    value: str
    """The measured value as shown ("312 ms", "0.05%", "not run")."""
    status: Status
    evidence: Evidence = NO_EVIDENCE
    reason: str | None = None
    """Why it is not a pass (for NOT MEASURED: what would measure it); None for a pass."""
    plan: bool = False
    """One of the hardening plan's five success criteria (the rest support them)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": "plan" if self.plan else "check",
            "target": self.target,
            "value": self.value,
            "status": self.status,
            "reason": self.reason,
            "evidence": self.evidence.to_json(),
        }
