"""What a live display needs from each interval, computed on the engine side.

The dashboard never computes statistics: the engine turns every `RunUpdate` into a `LiveView`
of plain numbers (percentiles, rates, a latency histogram, the per-request table), so the UI
only renders, and a recorded sequence of LiveViews replays exactly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ccplate_tui.config.model import ScenarioSpec
from ccplate_tui.load.engine import RunUpdate
from ccplate_tui.load.executors import planned_duration
from ccplate_tui.load.metrics import Counter, MetricSet, Rate, Trend
from ccplate_tui.load.snapshot import ScenarioProgress, WorkerHealth
from ccplate_tui.load.source_samples import SourceSample
from ccplate_tui.load.thresholds import ThresholdResult

_HISTOGRAM_BINS = 24


@dataclass(frozen=True)
class LatencyStats:
    """Request latency figures in ms; zeros with `count == 0`."""

    count: int
    avg: float
    p50: float
    p95: float
    p99: float
    max: float


@dataclass(frozen=True)
class HistogramBin:
    upper_ms: float
    count: int


@dataclass(frozen=True)
class RequestRow:
    """One request's figures over the whole run so far: a `name` tag within one scenario and
    HTTP method, so the same name in two scenarios gives two rows."""

    name: str
    count: int
    error_rate: float
    p50: float
    p95: float
    p99: float
    scenario: str = ""
    method: str = ""

    @property
    def key(self) -> str:
        """Unique among one run's rows."""
        return f"{self.scenario}\x1f{self.method}\x1f{self.name}"


@dataclass(frozen=True)
class LiveView:
    """One interval, ready to render."""

    elapsed: float
    planned: float
    """Longest planned scenario end (startTime + duration), seconds."""
    interval_start: float
    interval_end: float
    requests_per_s: float
    errors_per_s: float
    interval_latency: LatencyStats
    total_latency: LatencyStats
    total_requests: int
    total_error_rate: float | None
    iterations: int
    dropped: int
    active_vus: int
    histogram: tuple[HistogramBin, ...]
    """Latency distribution of this interval, log-spaced bins."""
    thresholds: tuple[ThresholdResult, ...]
    requests: tuple[RequestRow, ...]
    progress: tuple[ScenarioProgress, ...]
    health: WorkerHealth | None
    notes: tuple[str, ...]
    sources: tuple[SourceSample, ...] = ()
    """The metric sources' readings of this interval (`[sources.NAME]`)."""


def latency_stats(trend: Trend | None) -> LatencyStats:
    if trend is None or not trend.count:
        return LatencyStats(0, 0.0, 0.0, 0.0, 0.0, 0.0)
    p = trend.percentiles([50, 95, 99])
    return LatencyStats(trend.count, trend.avg, p[50], p[95], p[99], trend.max)


def latency_histogram(trend: Trend | None, bins: int = _HISTOGRAM_BINS) -> tuple[HistogramBin, ...]:
    """Counts in log-spaced bins between the trend's min and max (µs resolution)."""
    if trend is None or not trend.count:
        return ()
    low = max(trend.min, 0.001)
    high = max(trend.max, low * 1.0001)
    ratio = (high / low) ** (1.0 / bins)
    edges = [low * ratio ** (i + 1) for i in range(bins)]
    edges[-1] = high
    counts = [0] * bins
    hdr = trend.hdr
    # Only the stretch of the count array between min and max can hold samples; slicing the
    # ctypes array is one C call, where hdrh's iterators walk every bucket in Python.
    first = max(0, hdr.get_counts_array_index(int(trend.min * 1000)) - 1)
    last = min(hdr.counts_len - 1, hdr.get_counts_array_index(int(trend.max * 1000) + 1) + 1)
    log_ratio = math.log(ratio)
    for offset, count in enumerate(hdr.counts[first : last + 1]):
        if not count:
            continue
        ms = hdr.get_highest_equivalent_value(hdr.get_value_from_index(first + offset)) / 1000.0
        index = 0 if ms <= low else min(bins - 1, int(math.log(ms / low) / log_ratio))
        counts[index] += count
    return tuple(HistogramBin(edge, count) for edge, count in zip(edges, counts, strict=True))


def _count(metrics: MetricSet, metric: str) -> int:
    sink = metrics.select(metric)
    return int(sink.value) if isinstance(sink, Counter) else 0


_ROW_TAGS = ("scenario", "method", "name")


def request_rows(totals: MetricSet) -> tuple[RequestRow, ...]:
    """One row per (scenario, method, name) that sent a request."""
    rows = []
    for scenario, method, name in totals.tag_groups("http_reqs", _ROW_TAGS):
        if not name:
            continue
        wanted = tuple(
            (key, value)
            for key, value in zip(_ROW_TAGS, (scenario, method, name), strict=True)
            if value
        )
        trend = totals.select("http_req_duration", wanted)
        failed = totals.select("http_req_failed", wanted)
        stats = latency_stats(trend if isinstance(trend, Trend) else None)
        rate = failed.rate if isinstance(failed, Rate) else None
        rows.append(
            RequestRow(
                name,
                _count_tagged(totals, wanted),
                rate or 0.0,
                stats.p50,
                stats.p95,
                stats.p99,
                scenario=scenario,
                method=method,
            )
        )
    return tuple(rows)


def _count_tagged(totals: MetricSet, wanted: tuple[tuple[str, str], ...]) -> int:
    sink = totals.select("http_reqs", wanted)
    return int(sink.value) if isinstance(sink, Counter) else 0


def planned_end(scenarios: Sequence[ScenarioSpec]) -> float:
    return max(
        (s.executor.start_time + planned_duration(s.executor) for s in scenarios), default=0.0
    )


def build_live_view(update: RunUpdate, scenarios: Sequence[ScenarioSpec]) -> LiveView:
    """Everything the Load tab shows for this interval."""
    snapshot = update.snapshot
    span = max(snapshot.end - snapshot.start, 1e-9)
    interval_trend = snapshot.metrics.select("http_req_duration")
    interval_trend = interval_trend if isinstance(interval_trend, Trend) else None
    failed_now = snapshot.metrics.select("http_req_failed")
    total_trend = update.totals.select("http_req_duration")
    failed_total = update.totals.select("http_req_failed")
    return LiveView(
        elapsed=update.elapsed,
        planned=planned_end(scenarios),
        interval_start=snapshot.start,
        interval_end=snapshot.end,
        requests_per_s=_count(snapshot.metrics, "http_reqs") / span,
        errors_per_s=(failed_now.passes / span) if isinstance(failed_now, Rate) else 0.0,
        interval_latency=latency_stats(interval_trend),
        total_latency=latency_stats(total_trend if isinstance(total_trend, Trend) else None),
        total_requests=_count(update.totals, "http_reqs"),
        total_error_rate=failed_total.rate if isinstance(failed_total, Rate) else None,
        iterations=_count(update.totals, "iterations"),
        dropped=_count(update.totals, "dropped_iterations"),
        active_vus=sum(p.active_vus for p in snapshot.progress),
        histogram=latency_histogram(interval_trend),
        thresholds=tuple(update.thresholds),
        requests=request_rows(update.totals),
        progress=snapshot.progress,
        health=snapshot.health,
        notes=snapshot.notes,
        sources=snapshot.sources,
    )
