"""A worker's per-interval recording: cheap in-place counters on the hot path, a MetricSet per flush.

Samples are keyed by small tuples (request index, status, error) while recording; the full k6
tags are attached once per interval, so no tag dict is built per request.

A request's six timing phases (k6's http_req_blocked ... http_req_receiving) cost one list append
on the hot path: they are folded into their trends a batch at a time, column by column, with the
loops in C (see `TrendBuilder`), which gives exactly the trends that adding each value would.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ccplate_tui.load.metrics import Counter, Gauge, MetricSet, Rate, Tags, Trend, TrendBuilder
from ccplate_tui.load.phases import RequestPhases
from ccplate_tui.load.requests import CompiledRequest

PHASE_METRICS: tuple[str, ...] = tuple(f"http_req_{phase}" for phase in RequestPhases._fields)
"""k6's timing trends, in RequestPhases' field order: http_req_blocked, http_req_connecting,
http_req_tls_handshaking, http_req_sending, http_req_waiting, http_req_receiving."""

PHASE_BATCH = 1024
"""Requests' phases held before they are folded into the trends: large enough that the per-batch
work is noise, small enough that a series holds at most ~250 KB of them."""


class HttpSeries:
    """One (request, status, error) series within an interval."""

    __slots__ = ("count", "duration", "pending", "phases", "received", "sent", "uncorrected")

    def __init__(self, open_model: bool) -> None:
        self.count = 0
        self.sent = 0
        self.received = 0
        self.duration = Trend()
        self.uncorrected: Trend | None = Trend() if open_model else None
        self.pending: list[RequestPhases] = []
        """Phases not yet folded into `phases`."""
        self.phases: tuple[TrendBuilder, ...] | None = None
        """One builder per PHASE_METRICS entry, made at the first fold."""

    def add_phases(self, phases: RequestPhases) -> None:
        """Record one request's phases (every request, failed ones too, as k6 does)."""
        pending = self.pending
        pending.append(phases)
        if len(pending) >= PHASE_BATCH:
            self.fold_phases()

    def fold_phases(self) -> None:
        """Fold the pending phases into the trends, one column (phase) at a time."""
        if not self.pending:
            return
        builders = self.phases
        if builders is None:
            builders = self.phases = tuple(TrendBuilder() for _ in PHASE_METRICS)
        for builder, column in zip(builders, zip(*self.pending, strict=True), strict=True):
            builder.add_many(column)
        self.pending = []

    def phase_trends(self) -> tuple[Trend, ...]:
        """The PHASE_METRICS trends of every request recorded; () when none had its phases."""
        self.fold_phases()
        return tuple(b.build() for b in self.phases) if self.phases is not None else ()


@dataclass
class ScenarioTally:
    """One scenario's iteration figures within an interval."""

    tags: Tags
    iterations: int = 0
    duration: Trend = field(default_factory=Trend)
    dropped: int = 0


class IntervalRecorder:
    """Collects one interval of samples; `flush` hands them over as a MetricSet and starts afresh."""

    def __init__(self, requests: list[CompiledRequest], open_model: set[str]) -> None:
        self.requests = requests
        self.open_model = open_model
        self.http: dict[tuple[int, int, tuple[str, str] | None], HttpSeries] = {}
        self.checks: dict[tuple[int, str], list[int]] = {}
        self.scenarios: dict[str, ScenarioTally] = {}
        self.groups: dict[tuple[str, str], Trend] = {}

    def http_series(
        self, request: CompiledRequest, status: int, error: tuple[str, str] | None
    ) -> HttpSeries:
        key = (request.index, status, error)
        series = self.http.get(key)
        if series is None:
            series = self.http[key] = HttpSeries(request.scenario in self.open_model)
        return series

    def check(self, request: CompiledRequest, name: str, passed: bool) -> None:
        tally = self.checks.get((request.index, name))
        if tally is None:
            tally = self.checks[(request.index, name)] = [0, 0]
        tally[1] += 1
        if passed:
            tally[0] += 1

    def scenario(self, name: str, tags: Tags) -> ScenarioTally:
        tally = self.scenarios.get(name)
        if tally is None:
            tally = self.scenarios[name] = ScenarioTally(tags)
        return tally

    def group(self, scenario: str, group: str) -> Trend:
        trend = self.groups.get((scenario, group))
        if trend is None:
            trend = self.groups[(scenario, group)] = Trend()
        return trend

    def flush(self, vus: dict[str, tuple[Tags, Gauge, Gauge]]) -> MetricSet:
        """The interval as a MetricSet; `vus` maps scenario -> (tags, vus gauge, vus_max gauge)."""
        out = MetricSet()
        series = out.series
        for (index, status, error), s in self.http.items():
            request = self.requests[index]
            expected = status in request.expected if error is None else False
            extra = [("status", str(status)), ("expected_response", str(expected).lower())]
            if error is not None:
                extra += [("error", error[0]), ("error_code", error[1])]
            elif status >= 400:
                # k6 tags an HTTP error status with error_code 1000 + status (1404, 1503, ...).
                extra.append(("error_code", str(1000 + status)))
            tags = tuple(sorted((*request.tags, *extra)))
            series[("http_reqs", tags)] = Counter(s.count)
            series[("http_req_duration", tags)] = s.duration
            for metric, trend in zip(PHASE_METRICS, s.phase_trends(), strict=False):
                series[(metric, tags)] = trend
            if s.uncorrected is not None:
                series[("http_req_duration_uncorrected", tags)] = s.uncorrected
            series[("http_req_failed", tags)] = Rate(0 if expected else s.count, s.count)
            series[("data_sent", tags)] = Counter(s.sent)
            series[("data_received", tags)] = Counter(s.received)
        for (index, name), (passes, total) in self.checks.items():
            request = self.requests[index]
            tags = tuple(
                sorted(
                    (
                        *[(k, v) for k, v in request.tags if k not in ("name", "method")],
                        ("check", name),
                    )
                )
            )
            key = ("checks", tags)
            existing = series.get(key)
            if isinstance(existing, Rate):
                existing.merge(Rate(passes, total))
            else:
                series[key] = Rate(passes, total)
        for tally in self.scenarios.values():
            if tally.iterations:
                series[("iterations", tally.tags)] = Counter(tally.iterations)
                series[("iteration_duration", tally.tags)] = tally.duration
            if tally.dropped:
                series[("dropped_iterations", tally.tags)] = Counter(tally.dropped)
        for (scenario, group), trend in self.groups.items():
            tags = tuple(sorted((*self.scenarios_tags(scenario), ("group", group))))
            series[("group_duration", tags)] = trend
        for tags, active, allocated in vus.values():
            series[("vus", tags)] = active
            series[("vus_max", tags)] = allocated
        self.http = {}
        self.checks = {}
        self.scenarios = {name: ScenarioTally(t.tags) for name, t in self.scenarios.items()}
        self.groups = {}
        return out

    def scenarios_tags(self, scenario: str) -> Tags:
        tally = self.scenarios.get(scenario)
        return tally.tags if tally else (("scenario", scenario),)
