"""A baseline run as the dashboard draws it next to a run: per-interval p95 and per-name p95.

Core module: no Textual here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ccplate_tui.history.store import HistoryStore
from ccplate_tui.load.metrics import MetricSet, Trend

PERCENTILE = 95.0
"""The percentile of the baseline line and the delta column (the Load tab's middle line)."""


@dataclass(frozen=True)
class BaselineOverlay:
    """What the Load tab shows of a baseline run."""

    run_id: str
    owner: str
    """The scenario or suite whose baseline it is."""
    points: tuple[tuple[float, float], ...]
    """(seconds since the run started at the interval's end, interval p95 ms), intervals with
    requests only, so it lines up with the live run by elapsed time."""
    p95_by_name: Mapping[str, float] = field(default_factory=dict)
    """p95 ms over the whole baseline run per request `name`."""


def _p95(metrics: MetricSet, tags: tuple[tuple[str, str], ...] = ()) -> float | None:
    trend = metrics.select("http_req_duration", tags)
    if isinstance(trend, Trend) and trend.count:
        return float(trend.percentile(PERCENTILE))
    return None


def baseline_owner_run(store: HistoryStore, names: Sequence[str]) -> tuple[str, str] | None:
    """(name, run id) of the first of `names` (scenarios or suites) that has a baseline run."""
    for name in dict.fromkeys(names):
        run_id = store.baseline(name)
        if run_id is not None:
            return name, run_id
    return None


def baseline_overlay(store: HistoryStore, names: Sequence[str]) -> BaselineOverlay | None:
    """The overlay of the baseline run of the first of `names` that has one; None when none
    has one or the baseline run has no intervals (an imported record: nothing to draw)."""
    found = baseline_owner_run(store, names)
    if found is None:
        return None
    owner, run_id = found
    run = store.run(run_id)
    if run is None or run.interval_count == 0:
        return None
    points = []
    for snapshot in store.iter_intervals(run.id):
        value = _p95(snapshot.metrics)
        if value is not None:
            points.append((snapshot.end, value))
    totals = store.totals(run.id)
    by_name = {}
    for name in totals.tag_values("http_reqs", "name"):
        value = _p95(totals, (("name", name),))
        if value is not None:
            by_name[name] = value
    return BaselineOverlay(run.id, owner, tuple(points), by_name)


def p95_delta(value: float, base: float | None) -> float | None:
    """(value - base) / base, None without a usable base."""
    if base is None or base <= 0:
        return None
    return (value - base) / base
