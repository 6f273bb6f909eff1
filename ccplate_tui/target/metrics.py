"""`GET /metrics`: the demo target's database load, request counts and Sentry events, in
Prometheus text format.

The values are read from plain counters when scraped (a custom collector), so the request hot path
never touches prometheus_client, whose metric objects take a lock on every update.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.registry import Collector

from ccplate_tui.target.db_meter import WINDOW_S, DbMeter
from ccplate_tui.target.error_reporting import ReportCounts

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
"""`text/plain; version=0.0.4; charset=utf-8`: the format every Prometheus scraper reads."""
DB_CPU_METRIC = "ccplate_db_cpu_percent"


class TargetCollector(Collector):
    """Database CPU and statements from a DbMeter, requests by outcome from the stats, and the
    Sentry events the target reported or dropped (sentry_drop)."""

    def __init__(
        self,
        meter: DbMeter,
        by_status: Callable[[], dict[str, int]],
        sentry_counts: Callable[[], ReportCounts] | None = None,
    ) -> None:
        self.meter = meter
        self.by_status = by_status
        self.sentry_counts = sentry_counts

    def collect(self) -> Iterator[Metric]:
        meter = self.meter
        yield GaugeMetricFamily(
            DB_CPU_METRIC,
            f"CPU time spent in SQLite statements over the last {WINDOW_S:g}s, "
            "in percent of one core",
            value=meter.cpu_percent(),
        )
        yield CounterMetricFamily(
            "ccplate_db_cpu_seconds",
            "CPU seconds spent in SQLite statements since the target started",
            value=meter.cpu_seconds,
        )
        yield CounterMetricFamily(
            "ccplate_db_queries",
            "SQLite statements run since the target started",
            value=meter.queries,
        )
        yield GaugeMetricFamily(
            "ccplate_db_slow_seconds",
            "The db_slow fault: extra CPU seconds added to each statement (0 when off)",
            value=meter.slow,
        )
        requests = CounterMetricFamily(
            "ccplate_requests",
            "API requests answered since the stats were last reset, by status code or "
            "injected connection fault (drop, garbage, reset)",
            labels=["status"],
        )
        for status, count in sorted(self.by_status().items()):
            requests.add_metric([status], count)
        yield requests
        if self.sentry_counts is not None:
            counts = self.sentry_counts()
            yield CounterMetricFamily(
                "ccplate_sentry_events_sent",
                "Unhandled API errors the target handed to sentry-sdk for its own ingest, since "
                "it started",
                value=counts.sent,
            )
            yield CounterMetricFamily(
                "ccplate_sentry_events_dropped",
                "Sentry events the target dropped on purpose (the sentry_drop fault), since it "
                "started",
                value=counts.dropped,
            )


def build_registry(
    meter: DbMeter,
    by_status: Callable[[], dict[str, int]],
    sentry_counts: Callable[[], ReportCounts] | None = None,
) -> CollectorRegistry:
    """A registry of its own per app (several targets may run in one process, as in tests)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(TargetCollector(meter, by_status, sentry_counts))
    # The whole process's CPU beside the database's, for comparison (Linux /proc; empty elsewhere).
    ProcessCollector(registry=registry)
    return registry


def render(registry: CollectorRegistry) -> tuple[bytes, dict[str, Any]]:
    """The exposition body and its headers."""
    return generate_latest(registry), {"Content-Type": CONTENT_TYPE}
