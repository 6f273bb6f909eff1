"""What the engine publishes: one `IntervalSnapshot` per interval, and a `RunResult` at the end."""

from __future__ import annotations

from dataclasses import dataclass, field

from ccplate_tui.load.metrics import MetricSet


@dataclass(frozen=True)
class ScenarioProgress:
    """Where one scenario stands at the end of an interval, summed over workers."""

    name: str
    state: str
    """waiting, running, stopping (graceful stop/ramp-down), done."""
    elapsed: float
    """Seconds since the scenario started (0 while waiting)."""
    planned: float
    """Planned seconds, graceful stop excluded."""
    active_vus: int
    max_vus: int
    iterations: int
    interrupted: int
    dropped: int
    stage: int | None = None
    """Index of the current stage for ramping executors."""
    iterations_planned: int | None = None
    """For the iteration-based executors."""


@dataclass(frozen=True)
class WorkerHealth:
    """The load generator's own health, so a busy generator is not mistaken for a slow server."""

    workers: int
    cpu_percent: float
    """Busiest worker's CPU use over the interval (100 = one full core)."""
    loop_lag_ms: float
    """Worst event-loop lag seen by any worker over the interval."""

    @property
    def saturated(self) -> bool:
        """True when the generator itself, not the target, is likely the bottleneck."""
        return self.cpu_percent >= 90.0 or self.loop_lag_ms >= 50.0


@dataclass
class IntervalSnapshot:
    """Metrics of one interval (`start`..`end`, seconds since the run started), all workers merged."""

    index: int
    start: float
    end: float
    metrics: MetricSet
    progress: tuple[ScenarioProgress, ...] = ()
    health: WorkerHealth | None = None
    wall_time: float = 0.0
    """Unix time at the interval's end, for NDJSON timestamps and history."""
    notes: tuple[str, ...] = field(default=())
    """Engine warnings raised in this interval (e.g. `Insufficient VUs ...`)."""
