"""What the Load tab's plots draw besides the data, derived from the run's plan."""

from __future__ import annotations

from dataclasses import dataclass

from ccplate_tui.config.model import ScenarioSpec
from ccplate_tui.config.thresholds import ThresholdSpec
from ccplate_tui.load.live import planned_end

LATENCY_AGGREGATIONS = frozenset({"avg", "min", "max", "med", "p"})
"""Threshold methods whose value is a latency in ms (drawn as a line on the latency plot)."""


@dataclass(frozen=True)
class PlotContext:
    """What the plots draw besides the data: the planned end, threshold lines and stage marks."""

    planned: float
    thresholds: tuple[float, ...]
    stage_marks: tuple[float, ...]
    specs: tuple[ThresholdSpec, ...] = ()
    """All the plan's thresholds: those on metric sources are drawn on the source's plot."""
    labels: tuple[str, ...] = ()
    """One label per value of `thresholds` (`p(99)<200`), for a marker when it is off-scale."""


def latency_limits(specs: tuple[ThresholdSpec, ...]) -> tuple[float, ...]:
    """Every distinct `http_req_duration` threshold value, ascending."""
    return tuple(value for value, _label in latency_lines(specs))


def latency_lines(specs: tuple[ThresholdSpec, ...]) -> tuple[tuple[float, str], ...]:
    """Every distinct `http_req_duration` threshold value with its expressions, ascending:
    `(200.0, "p(99)<200")`; two expressions on one value share a line (`p(95)<200, max<200`)."""
    labels: dict[float, list[str]] = {}
    for s in specs:
        if s.metric == "http_req_duration" and s.expr.aggregation in LATENCY_AGGREGATIONS:
            names = labels.setdefault(s.expr.value, [])
            if s.expr.source.strip() not in names:
                names.append(s.expr.source.strip())
    return tuple((value, ", ".join(labels[value])) for value in sorted(labels))


def stage_marks(scenarios: tuple[ScenarioSpec, ...]) -> tuple[float, ...]:
    """Seconds into the run where a planned stage (or a scenario) starts or ends, inside the run."""
    end = planned_end(scenarios)
    marks: set[float] = set()
    for spec in scenarios:
        ex = spec.executor
        at = ex.start_time
        marks.add(at)
        for stage in ex.stages:
            at += stage.duration
            marks.add(at)
        if ex.duration is not None:
            marks.add(ex.start_time + ex.duration)
    return tuple(sorted(m for m in marks if 0 < m < end))
