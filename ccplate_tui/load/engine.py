"""A whole load run: the worker pool, run totals, live thresholds, abortOnFail, the final result.

Headless and UI callers alike call `LoadRun.run()` (blocking; the UI from a thread worker) and
receive one `RunUpdate` per interval through their observer callbacks.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ccplate_tui.config.model import Config, ScenarioSpec
from ccplate_tui.config.thresholds import ThresholdSpec
from ccplate_tui.load.availability import AvailabilityProber, check_probe_url
from ccplate_tui.load.capacity import check_capacity
from ccplate_tui.load.metrics import MetricSet
from ccplate_tui.load.pool import WorkerPool
from ccplate_tui.load.probe_tally import ProbeTally
from ccplate_tui.load.results import RunResult
from ccplate_tui.load.snapshot import IntervalSnapshot, ScenarioProgress
from ccplate_tui.load.source_samples import SourceSample
from ccplate_tui.load.sources import SourceSampler
from ccplate_tui.load.thresholds import EVALUATION_PERIOD, ThresholdEvaluator, ThresholdResult
from ccplate_tui.loopback import check_target
from ccplate_tui.suggest import did_you_mean


class UnknownScenario(KeyError):
    """A scenario or suite name that the config does not define."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class RunPlan:
    """The scenarios of one run and the thresholds that judge it."""

    scenarios: tuple[ScenarioSpec, ...]
    thresholds: tuple[ThresholdSpec, ...]


def resolve_plan(config: Config, names: list[str] | tuple[str, ...]) -> RunPlan:
    """Expand suite names, keep the order given, and collect scenario, suite and run thresholds.

    No names means every scenario that is not part of a suite... and every suite: the whole file.
    """
    if not names:
        names = list(config.scenarios)
    chosen: dict[str, ScenarioSpec] = {}
    thresholds: list[ThresholdSpec] = list(config.thresholds)
    for name in names:
        if name in config.suites:
            suite = config.suites[name]
            for member in suite.scenarios:
                chosen.setdefault(member, config.scenarios[member])
            thresholds.extend(suite.thresholds)
        elif name in config.scenarios:
            chosen.setdefault(name, config.scenarios[name])
        else:
            known = [*config.scenarios, *config.suites]
            raise UnknownScenario(
                f"no scenario or suite named {name!r} in {config.path}"
                f"{did_you_mean(name, known)} (known: {', '.join(known)})"
            )
    for spec in chosen.values():
        thresholds.extend(spec.thresholds)
    return RunPlan(tuple(chosen.values()), tuple(thresholds))


@dataclass(frozen=True)
class RunUpdate:
    """What observers get once per interval. `totals` is the engine's own: read, never change."""

    snapshot: IntervalSnapshot
    totals: MetricSet
    thresholds: list[ThresholdResult]
    elapsed: float


Observer = Callable[[RunUpdate], None]

CTRL_C = "interrupted (Ctrl-C)"
"""The stop cause of a SIGINT, which is what a terminal's Ctrl-C sends."""


class LoadRun:
    """One run of a plan against the config's target."""

    def __init__(
        self,
        config: Config,
        plan: RunPlan,
        *,
        workers: int | None = None,
        allow_remote: bool = False,
        observers: list[Observer] | None = None,
        baselines: Mapping[str, float] | None = None,
        max_vus: int | None = None,
    ) -> None:
        """`baselines`: values for the plan's relative thresholds by `baseline_key`
        (history.baselines.resolve_baselines); a relative threshold without one is NO DATA.
        `max_vus`: the most VUs the plan may hold (default: what this machine can hold);
        raises CapacityError above it."""
        remote_ok = allow_remote or config.target.allow_remote
        check_target(config.target.base_url, allow_remote=remote_ok)
        if config.availability is not None:
            check_probe_url(config.availability, allow_remote=remote_ok)
        self.config = config
        self.plan = plan
        self.observers = list(observers or [])
        self.baselines = dict(baselines or {})
        self.pool = WorkerPool(
            plan.scenarios,
            config.target,
            interval=config.options.interval,
            workers=workers,
            run_tags=config.options.tags,
        )
        check_capacity(plan.scenarios, self.pool.count, max_vus)
        self.sampler = SourceSampler(tuple(config.sources.values()), config.options.interval)
        """Reads the config's metric sources beside the run, on this process (load/sources.py)."""
        self.prober = AvailabilityProber(config.availability) if config.availability else None
        """Probes the `[availability]` URL beside the run, on this process (load/availability.py)."""
        self.stopped: str | None = None
        self.stop_cause: str | None = None
        """Who or what stopped the run (RunResult.stop_cause)."""
        self._lock = threading.Lock()

    def stop(
        self, reason: str = "interrupted", *, graceful: bool = False, cause: str | None = None
    ) -> None:
        """Stop the run (thread-safe): abort now, or with `graceful` let running iterations
        finish within their gracefulStop (k6's stop); an abort may follow a graceful stop.
        `cause` says who or what stopped it; the first reason stays, a later cause for the
        same reason replaces the earlier one (an abort after a stop)."""
        with self._lock:
            if self.stopped is None:
                self.stopped = reason
            if cause is not None and self.stopped == reason:
                self.stop_cause = cause
        self.pool.stop(graceful=graceful)

    def run(self) -> RunResult:
        """Run to the end (or until stopped) and return the result; workers are always reaped."""
        evaluator = ThresholdEvaluator(self.plan.thresholds, self.baselines)
        totals = MetricSet()
        results: list[ThresholdResult] = []
        progress: tuple[ScenarioProgress, ...] = ()
        notes: list[str] = []
        samples: dict[str, list[SourceSample]] = {name: [] for name in self.config.sources}
        probes: ProbeTally | None = None
        elapsed = 0.0
        last_eval = 0.0
        started_at = time.time()
        try:
            self.pool.start()
            started_at = self.pool.wall_start or started_at
            if self.pool.run_start is not None:
                self.sampler.start(self.pool.run_start, started_at)
                if self.prober is not None:
                    self.prober.start(self.pool.run_start, started_at)
            snapshots = self.pool.snapshots()
            while True:
                try:
                    snapshot = next(snapshots)
                except StopIteration:
                    break
                except KeyboardInterrupt:
                    self.stop("interrupted", cause=CTRL_C)
                    continue
                snapshot.sources = self.sampler.take()
                for sample in snapshot.sources:
                    samples[sample.name].append(sample)
                if self.prober is not None:
                    snapshot.probes = self.prober.take()
                    probes = snapshot.probes if probes is None else probes.merge(snapshot.probes)
                totals.accumulate(snapshot.metrics)
                evaluator.observe(snapshot)
                elapsed = snapshot.end
                progress = snapshot.progress
                notes.extend(snapshot.notes)
                if elapsed - last_eval >= EVALUATION_PERIOD - 1e-6 or not results:
                    results = evaluator.evaluate(totals, elapsed)
                    last_eval = elapsed
                    if evaluator.abort_reasons(results, elapsed) and self.stopped is None:
                        self.stop("aborted")
                update = RunUpdate(snapshot, totals, results, elapsed)
                for observer in self.observers:
                    observer(update)
        finally:
            self.sampler.close()
            if self.prober is not None:
                self.prober.close()
            self.pool.close()
        if self.pool.failures:
            notes.extend(self.pool.failures)
            if self.stopped is None:
                self.stopped = "error"
        final = evaluator.evaluate(totals, elapsed)
        return RunResult(
            config=self.config,
            scenario_names=tuple(s.name for s in self.plan.scenarios),
            totals=totals,
            duration=elapsed,
            thresholds=final,
            progress=progress,
            started_at=started_at,
            stopped=self.stopped,
            notes=notes,
            stop_cause=self.stop_cause if self.stopped == "interrupted" else None,
            sources={name: tuple(taken) for name, taken in samples.items()},
            probes=probes if probes is not None or self.prober is None else ProbeTally(),
        )
