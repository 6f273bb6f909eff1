"""What the engine publishes: one `IntervalSnapshot` per interval, and a `RunResult` at the end."""

from __future__ import annotations

from dataclasses import dataclass, field

from ccplate_tui.load.metrics import MetricSet
from ccplate_tui.load.probe_tally import ProbeTally
from ccplate_tui.load.source_samples import SourceSample


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


GENERATOR_CPU_LIMIT = 90.0
"""Busiest worker's CPU (% of one core) from which the generator counts as saturated: a worker
process runs on one core, so near 100 % it can no longer send or read on time."""
LOOP_LAG_LIMIT_MS = 50.0
"""Worst event-loop lag (ms) from which the generator reads answers late enough to show in
latencies (the workers probe every 50 ms)."""
HOST_CPU_LIMIT = 90.0
"""Host-wide CPU (% of all cores, over the interval) from which the host counts as busy: every
process, the generator and a loopback target among them, then waits for a core."""
HOST_LOAD_PER_CORE_LIMIT = 2.0
"""1-minute load average per core from which the host counts as busy even when this interval's
CPU reading is lower: on average more than one task has been waiting for each core."""


@dataclass(frozen=True)
class HealthWarning:
    """Why measured latencies may not be the target's alone, in words for a person."""

    cause: str
    """`generator` (a worker near a full core), `host` (the machine is busy) or `loop_lag`."""
    headline: str
    """The opening words of `text`: `generator saturated`, `host busy`, `event-loop lag 180 ms`."""
    text: str
    """The whole warning, headline first."""


@dataclass(frozen=True)
class WorkerHealth:
    """The load generator's own health, so a busy generator is not mistaken for a slow server.

    The host figures are read with psutil on the coordinator once per interval (never by the
    workers); they are None where unknown (e.g. runs recorded before they were kept).
    """

    workers: int
    cpu_percent: float
    """Busiest worker's CPU use over the interval (100 = one full core)."""
    loop_lag_ms: float
    """Worst event-loop lag seen by any worker over the interval."""
    cpu_total_percent: float | None = None
    """All workers' CPU use together over the interval (100 = one full core)."""
    host_cpu_percent: float | None = None
    """The whole host's CPU use over the interval (100 = every core busy)."""
    host_load_1m: float | None = None
    """The host's 1-minute load average."""
    host_cores: int | None = None
    """Logical cores of the host, to read the load average against."""

    @property
    def generator_share_percent(self) -> float:
        """The generator's part of the host's CPU, on the host's scale (100 = every core)."""
        used = self.cpu_total_percent
        if used is None:
            used = self.cpu_percent * self.workers
        return used / max(self.host_cores or self.workers, 1)

    @property
    def host_busy(self) -> bool:
        """The host's CPU is near full, or its load average is far above its cores."""
        if self.host_cpu_percent is not None and self.host_cpu_percent >= HOST_CPU_LIMIT:
            return True
        cores = self.host_cores
        if self.host_load_1m is None or not cores:
            return False
        return self.host_load_1m >= HOST_LOAD_PER_CORE_LIMIT * cores

    @property
    def warning(self) -> HealthWarning | None:
        """The likeliest reason latencies include more than the target's time, or None.

        A worker near a full core comes first (the generator is its own bottleneck); then a busy
        host (other processes, or a loopback target, hold the cores: the event-loop lag that
        follows is the host's doing); then event-loop lag on an otherwise idle machine.
        """
        lagging = self.loop_lag_ms >= LOOP_LAG_LIMIT_MS
        if self.cpu_percent >= GENERATOR_CPU_LIMIT:
            figures = f"worker CPU {self.cpu_percent:.0f}%"
            if lagging:
                figures += f", loop lag {self.loop_lag_ms:.0f} ms"
            headline = "generator saturated"
            text = f"{headline}: {figures} — latencies include its own delay"
            return HealthWarning("generator", headline, text)
        if self.host_busy:
            figures = ""
            if self.host_cpu_percent is not None:
                figures = f"CPU {self.host_cpu_percent:.0f}%"
            if self.host_load_1m is not None and self.host_cores:
                noun = "core" if self.host_cores == 1 else "cores"
                load = f"load {self.host_load_1m:.1f} on {self.host_cores} {noun}"
                figures = f"{figures} ({load})" if figures else load
            headline = "host busy"
            text = (
                f"{headline}: {figures}; the generator uses "
                f"{self.generator_share_percent:.0f}% — latencies include the host's queueing"
            )
            return HealthWarning("host", headline, text)
        if lagging:
            headline = f"event-loop lag {self.loop_lag_ms:.0f} ms"
            text = f"{headline} — latencies include the generator's delay"
            return HealthWarning("loop_lag", headline, text)
        return None

    @property
    def saturated(self) -> bool:
        """True when latencies may not be the target's alone (see `warning` for the cause)."""
        return self.warning is not None


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
    target_demo: str | None = None
    """The embedded demo target's version once its answers have named it (`DEMO_HEADER` in
    load.reachability); None while the target is not known to be the demo."""
    sources: tuple[SourceSample, ...] = ()
    """The metric sources' readings taken during this interval (load/sources.py)."""
    probes: ProbeTally | None = None
    """The availability probes finished during this interval (load/availability.py); None when
    the run has no `[availability]` probe."""
