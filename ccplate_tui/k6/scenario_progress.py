"""Scenario progress for a k6 stream, which has no progress records of its own.

From the Points alone: iterations and dropped iterations per `scenario` tag, and k6's run-wide
`vus` / `vus_max` gauges. The plan's specs (when known) add what the stream lacks: each
scenario's startTime, planned duration and planned iterations. k6 reports VUs for the whole
run, not per scenario, so the active VUs are shared out among the running scenarios in plan
order, each up to its own maximum; the sum is always k6's figure.
"""

from __future__ import annotations

from collections.abc import Sequence

from ccplate_tui.config.model import ScenarioSpec
from ccplate_tui.load.executors import max_vus, planned_duration
from ccplate_tui.load.metrics import Counter, Gauge
from ccplate_tui.load.snapshot import IntervalSnapshot, ScenarioProgress


def planned_iterations(spec: ScenarioSpec) -> int | None:
    """Total iterations of an iteration-based executor (k6 defaults: 1 VU, 1 iteration)."""
    ex = spec.executor
    if ex.executor == "per-vu-iterations":
        return (ex.vus or 1) * (ex.iterations or 1)
    if ex.executor == "shared-iterations":
        return ex.iterations or 1
    return None


class K6ProgressTracker:
    """Cumulative per-scenario figures; `update` once per interval snapshot, in order."""

    def __init__(self, scenarios: Sequence[ScenarioSpec] = ()) -> None:
        self.specs = {spec.name: spec for spec in scenarios}
        self.order: list[str] = list(self.specs)
        self.iterations: dict[str, int] = dict.fromkeys(self.order, 0)
        self.dropped: dict[str, int] = dict.fromkeys(self.order, 0)
        self.vus = 0
        self.vus_max = 0

    def _scenario(self, name: str) -> None:
        if name not in self.iterations:
            self.order.append(name)
            self.iterations[name] = 0
            self.dropped[name] = 0

    def update(self, snapshot: IntervalSnapshot) -> tuple[ScenarioProgress, ...]:
        """Take in one interval; progress as of its end."""
        for (metric, tags), sink in snapshot.metrics.series.items():
            if metric in ("iterations", "dropped_iterations") and isinstance(sink, Counter):
                scenario = dict(tags).get("scenario")
                if scenario is None:
                    continue
                self._scenario(scenario)
                tally = self.iterations if metric == "iterations" else self.dropped
                tally[scenario] += int(sink.value)
        for metric in ("vus", "vus_max"):
            gauge = snapshot.metrics.select(metric)
            if isinstance(gauge, Gauge):
                setattr(self, metric, int(gauge.value))
        return self.progress(snapshot.end)

    def finish(self, elapsed: float) -> tuple[ScenarioProgress, ...]:
        """Progress once the stream has ended: every scenario done, no VU active."""
        self.vus = 0
        return self.progress(elapsed, ended=True)

    def _state(self, name: str, at: float, ended: bool) -> str:
        spec = self.specs.get(name)
        if ended:
            return "done"
        if spec is None:
            return "running"
        if at < spec.executor.start_time:
            return "waiting"
        planned = planned_iterations(spec)
        if planned is not None and self.iterations[name] >= planned:
            return "done"
        length = planned_duration(spec.executor)
        if length > 0 and at - spec.executor.start_time >= length:
            return "stopping" if self.vus else "done"
        return "running"

    def progress(self, at: float, *, ended: bool = False) -> tuple[ScenarioProgress, ...]:
        """Per scenario at `at` stream seconds, in plan order then first-seen order."""
        states = {name: self._state(name, at, ended) for name in self.order}
        caps = {
            name: max_vus(self.specs[name].executor) if name in self.specs else self.vus_max
            for name in self.order
        }
        active = dict.fromkeys(self.order, 0)
        busy = [name for name in self.order if states[name] in ("running", "stopping")]
        left = self.vus
        for name in busy:
            take = min(left, caps[name])
            active[name] = take
            left -= take
        if left and busy:
            active[busy[-1]] += left
        out = []
        for name in self.order:
            spec = self.specs.get(name)
            start = spec.executor.start_time if spec else 0.0
            out.append(
                ScenarioProgress(
                    name=name,
                    state=states[name],
                    elapsed=max(0.0, at - start),
                    planned=planned_duration(spec.executor) if spec else 0.0,
                    active_vus=active[name],
                    max_vus=caps[name],
                    iterations=self.iterations[name],
                    interrupted=0,
                    dropped=self.dropped[name],
                    iterations_planned=planned_iterations(spec) if spec else None,
                )
            )
        return tuple(out)
