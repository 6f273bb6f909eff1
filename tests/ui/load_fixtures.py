"""Deterministic LiveView sequences for the Load tab tests, plus a tiny App that hosts a LoadPane.

The sequence is a scripted recording: each interval's samples come from fixed arithmetic (no
clock, no randomness) and go through the engine's own code — `MetricSet`, `ThresholdEvaluator`,
`build_live_view` — so the views are real LiveViews, identical on every machine, and the
snapshot tests can pin their pixels.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass

from textual.app import App, ComposeResult
from textual.message import Message
from textual.widgets import Header, Static, TabbedContent, TabPane

from ccplate_tui.config.loader import parse_config
from ccplate_tui.config.model import Config, ScenarioSpec
from ccplate_tui.load.engine import RunUpdate, resolve_plan
from ccplate_tui.load.executors import planned_duration, stage_at, vus_at
from ccplate_tui.load.live import LiveView, build_live_view
from ccplate_tui.load.metrics import MetricSet
from ccplate_tui.load.results import RunResult
from ccplate_tui.load.snapshot import IntervalSnapshot, ScenarioProgress, WorkerHealth
from ccplate_tui.load.source_samples import SourceSample
from ccplate_tui.load.thresholds import ThresholdEvaluator
from ccplate_tui.ui.app import CcplateApp
from ccplate_tui.ui.load_pane import LoadPane
from ccplate_tui.ui.widgets.dashboard_footer import DashboardFooter

FIXTURE_TOML = """
[target]
base_url = "http://127.0.0.1:8787"

[options]
interval = "1s"

[scenarios.auth_burst]
description = "Ramp to 40 concurrent logins, hold 30s, ramp down"
executor = "ramping-vus"
startVUs = 0
stages = [
  { duration = "20s", target = 40 },
  { duration = "30s", target = 40 },
  { duration = "10s", target = 0 },
]

[scenarios.auth_burst.thresholds]
http_req_duration = ["p(99)<200", "p(95)<150"]
http_req_failed = ["rate<0.01"]
checks = ["rate>0.99"]

[[scenarios.auth_burst.requests]]
name = "login"
method = "POST"
path = "/api/auth/login"

[[scenarios.auth_burst.requests]]
name = "me"
method = "GET"
path = "/api/users/me"

[scenarios.browse]
description = "Catalog reads at a fixed arrival rate"
executor = "constant-arrival-rate"
rate = 30
timeUnit = "1s"
duration = "45s"
preAllocatedVUs = 10
maxVUs = 20
startTime = "10s"

[[scenarios.browse.requests]]
path = "/api/items"

[scenarios.spike]
description = "Arrival-rate spike and back"
executor = "ramping-arrival-rate"
startRate = 5
timeUnit = "1s"
preAllocatedVUs = 20
maxVUs = 60
stages = [
  { duration = "10s", target = 50 },
  { duration = "20s", target = 50 },
  { duration = "10s", target = 5 },
]

[[scenarios.spike.requests]]
path = "/api/items"

[scenarios.schema_lock]
description = "5 VUs share 50 schema applies"
executor = "shared-iterations"
vus = 5
iterations = 50

[[scenarios.schema_lock.requests]]
method = "POST"
path = "/api/schema-builder/apply"

[scenarios.steady]
description = "10 VUs for a minute"
executor = "constant-vus"
vus = 10
duration = "1m"

[[scenarios.steady.requests]]
path = "/api/users/me"

[suites.mixed]
description = "steady and browse together"
scenarios = ["steady", "browse"]

[suites.mixed.thresholds]
http_req_duration = ["p(99)<300"]
"""

RUN_NAMES = ("auth_burst",)
RUN_SECONDS = 60


def fixture_config() -> Config:
    return parse_config(FIXTURE_TOML, "fixture.toml")


def _latency_ms(vus: int, second: int, index: int) -> float:
    # The body spreads over 0.6..1.2x a base that grows with the VUs (and wobbles a little from
    # second to second); one request in 50 is a 2.2x tail, so p95 stays under 150 ms while p99
    # crosses 200 ms at the plateau.
    base = 20.0 + 2.0 * vus + 3.0 * ((second * 7) % 5)
    if index % 50 == 49:
        return base * 2.2
    return base * (0.6 + 0.6 * ((index * 37) % 100) / 100.0)


Latency = Callable[[int, int, int], float]
"""(VUs, second, request index) -> ms."""


def _interval_metrics(
    spec: ScenarioSpec,
    second: int,
    latency: Latency = _latency_ms,
    names: tuple[str, str] = ("login", "me"),
    errors: bool = True,
) -> tuple[MetricSet, int]:
    metrics = MetricSet()
    vus = vus_at(spec.executor, second + 0.5)
    count = vus * 8
    for index in range(count):
        name = names[index % 2]
        # From 30 s on, one login in 20 answers 500: the error rate climbs past 1%.
        failed = errors and index % 2 == 0 and second >= 30 and index % 40 == 0
        status = "500" if failed else "200"
        tags = (
            ("expected_response", "false" if failed else "true"),
            ("method", "POST" if index % 2 == 0 else "GET"),
            ("name", name),
            ("scenario", spec.name),
            ("status", status),
        )
        metrics.sink("http_reqs", tags).value += 1  # type: ignore[union-attr]
        metrics.sink("http_req_duration", tags).add(latency(vus, second, index))  # type: ignore[union-attr]
        metrics.sink("http_req_failed", tags).add(failed)  # type: ignore[union-attr]
    if count:
        metrics.sink("iterations", (("scenario", spec.name),)).value += count // 2  # type: ignore[union-attr]
    return metrics, vus


@dataclass(frozen=True)
class Recording:
    """A scripted run: one LiveView per second and the RunResult it ends with."""

    config: Config
    names: tuple[str, ...]
    views: tuple[LiveView, ...]
    result: RunResult


@functools.cache
def record_run(seconds: int = RUN_SECONDS) -> Recording:
    """Replay `seconds` one-second intervals of `auth_burst` through the engine's LiveView code.

    Cached: the engine's histogram binning takes a few seconds for the whole sequence.
    """
    return _record(fixture_config(), RUN_NAMES, seconds)


def _record(
    config: Config,
    names: tuple[str, ...],
    seconds: int,
    latency: Latency = _latency_ms,
    requests: tuple[str, str] = ("login", "me"),
    errors: bool = True,
) -> Recording:
    plan = resolve_plan(config, names)
    spec = plan.scenarios[0]
    evaluator = ThresholdEvaluator(plan.thresholds)
    totals = MetricSet()
    views: list[LiveView] = []
    iterations = 0
    results = []
    progress: tuple[ScenarioProgress, ...] = ()
    planned = planned_duration(spec.executor)
    for second in range(seconds):
        metrics, vus = _interval_metrics(spec, second, latency, requests, errors)
        iterations += sum(int(s.value) for (m, _), s in metrics.series.items() if m == "iterations")  # type: ignore[union-attr]
        end = float(second + 1)
        done = end >= planned
        progress = (
            ScenarioProgress(
                name=spec.name,
                state="done" if done else "running",
                elapsed=end,
                planned=planned,
                active_vus=0 if done else vus,
                max_vus=40,
                iterations=iterations,
                interrupted=0,
                dropped=0,
                stage=None if done else stage_at(spec.executor.stages, end - 0.5),
            ),
        )
        health = WorkerHealth(workers=2, cpu_percent=30.0 + vus * 1.6, loop_lag_ms=2.0 + vus / 10)
        snapshot = IntervalSnapshot(second, end - 1.0, end, metrics, progress, health)
        totals.accumulate(metrics)
        evaluator.observe(snapshot)
        results = evaluator.evaluate(totals, end)
        views.append(build_live_view(RunUpdate(snapshot, totals, results, end), plan.scenarios))
    result = RunResult(
        config=config,
        scenario_names=tuple(s.name for s in plan.scenarios),
        totals=totals,
        duration=float(seconds),
        thresholds=results,
        progress=progress,
        started_at=1_750_000_000.0,
    )
    return Recording(config, names, tuple(views), result)


# --- a fast run: 1-5 ms latencies under a 200 ms threshold ------------------------------------

FAST_TOML = """
[target]
base_url = "http://127.0.0.1:8787"

[options]
interval = "1s"

[scenarios.api_fast]
description = "Two endpoints answering in a few milliseconds"
executor = "ramping-vus"
startVUs = 0
stages = [
  { duration = "10s", target = 20 },
  { duration = "20s", target = 20 },
  { duration = "10s", target = 0 },
]

[scenarios.api_fast.thresholds]
http_req_duration = ["p(99)<200", "p(95)<5"]
"http_req_duration{name:files}" = ["p(95)<4.5"]
http_req_failed = ["rate<0.01"]

[[scenarios.api_fast.requests]]
name = "files"
method = "POST"
path = "/api/files"

[[scenarios.api_fast.requests]]
name = "items"
method = "GET"
path = "/api/items"
"""
"""A run whose latencies (1-5 ms) are far under its 200 ms p(99) limit; its p(95)<5 fails
while the first slow seconds dominate and passes again once the fast ones outweigh them."""

FAST_NAMES = ("api_fast",)
FAST_SECONDS = 40
WARM_UP = 5
"""Seconds at the start whose requests are slower (a cold cache)."""


def fast_config() -> Config:
    return parse_config(FAST_TOML, "fast.toml")


def _fast_latency_ms(vus: int, second: int, index: int) -> float:
    # `files` (even indexes) spans 2..5 ms, `items` 1..3.5 ms; the warm-up slows both by 60%.
    spread = ((index * 37) % 100) / 100.0
    ms = 2.0 + 3.0 * spread if index % 2 == 0 else 1.0 + 2.5 * spread
    return ms * 1.6 if second < WARM_UP else ms


@functools.cache
def record_fast_run(seconds: int = FAST_SECONDS) -> Recording:
    """`api_fast` for `seconds` one-second intervals, without errors."""
    return _record(
        fast_config(), FAST_NAMES, seconds, _fast_latency_ms, ("files", "items"), errors=False
    )


class LoadPaneApp(App[None]):
    """Hosts one LoadPane and records every message the pane posts up to the app."""

    def __init__(self, config: Config | None = None) -> None:
        super().__init__()
        self.config = config or fixture_config()
        self.posted: list[Message] = []

    def compose(self) -> ComposeResult:
        yield LoadPane(self.config)

    @property
    def pane(self) -> LoadPane:
        return self.query_one(LoadPane)

    def on_load_pane_start_requested(self, message: LoadPane.StartRequested) -> None:
        self.posted.append(message)

    def on_load_pane_stop_requested(self, message: LoadPane.StopRequested) -> None:
        self.posted.append(message)

    def on_load_pane_save_summary_requested(self, message: LoadPane.SaveSummaryRequested) -> None:
        self.posted.append(message)


class DashboardShellApp(App[None]):
    """The pane as the dashboard shows it: header, four tabs (Load active), the dashboard's own
    footer and app keys, and none of its workers or target checks, so snapshots are stable."""

    BINDINGS = CcplateApp.BINDINGS
    TITLE = "ccplate-tui"
    SUB_TITLE = "http://127.0.0.1:8787 · engine: built-in"

    def __init__(self, config: Config | None = None) -> None:
        super().__init__()
        self.config = config or fixture_config()

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(initial="load-tab"):
            for title in ("Overview", "Load", "Sentry", "Checklist"):
                with TabPane(title, id=f"{title.lower()}-tab"):
                    yield LoadPane(self.config) if title == "Load" else Static(title)
        yield DashboardFooter()

    def on_mount(self) -> None:
        self.pane.focus_scenarios()

    @property
    def pane(self) -> LoadPane:
        return self.query_one(LoadPane)


class TabbedLoadPaneApp(App[None]):
    """The pane on the second tab of a TabbedContent, as the dashboard hosts it."""

    def __init__(self, config: Config | None = None) -> None:
        super().__init__()
        self.config = config or fixture_config()

    def compose(self) -> ComposeResult:
        with TabbedContent(initial="other-tab"):
            with TabPane("Other", id="other-tab"):
                yield Static("another tab")
            with TabPane("Load", id="load-tab"):
                yield LoadPane(self.config)

    @property
    def pane(self) -> LoadPane:
        return self.query_one(LoadPane)


def pane_messages(into: list[Message]) -> Callable[[Message], None]:
    """A `message_hook` that keeps the LoadPane's own messages, once each (the hook sees a
    bubbling message at every node it passes)."""

    def hook(message: Message) -> None:
        if isinstance(
            message,
            LoadPane.StartRequested | LoadPane.StopRequested | LoadPane.SaveSummaryRequested,
        ) and not any(seen is message for seen in into):
            into.append(message)

    return hook


# --- a run with a metric source -----------------------------------------------------------------

SOURCES_TOML = FIXTURE_TOML.replace(
    'checks = ["rate>0.99"]\n', 'checks = ["rate>0.99"]\ndb_cpu = ["max<50"]\n', 1
) + (
    "\n[sources.db_cpu]\n"
    'metrics = "http://127.0.0.1:8787/metrics"\n'
    'metric = "ccplate_db_cpu_percent"\n'
    'unit = "%"\n'
)
"""The fixture plus a `db_cpu` source (as the shipped config has it) judged by `max<50`."""

NO_DATA_SECOND = 33
"""The interval whose db_cpu reading fails (the target's /metrics timed out)."""
NO_DATA_ERROR = "GET http://127.0.0.1:8787/metrics: no answer\nwithin 2s"
"""Its reason, on two lines: the caption must show it on one."""


def sourced_config() -> Config:
    return parse_config(SOURCES_TOML, "fixture.toml")


def db_cpu_sample(second: int, vus: int) -> SourceSample:
    """The database's CPU % at the end of `second`: it climbs with the VUs and crosses 50 % at
    the plateau; at `NO_DATA_SECOND` the reading fails."""
    at = float(second + 1)
    if second == NO_DATA_SECOND:
        return SourceSample("db_cpu", None, NO_DATA_ERROR, at, 1_750_000_000.0 + at, "%")
    value = 5.0 + 1.2 * vus + 2.0 * ((second * 7) % 5)
    return SourceSample("db_cpu", value, None, at, 1_750_000_000.0 + at, "%")


@functools.cache
def record_sourced_run(seconds: int = RUN_SECONDS) -> Recording:
    """`record_run` with a db_cpu reading per interval, judged by the engine's evaluator."""
    rec = record_run(seconds)
    config = sourced_config()
    plan = resolve_plan(config, RUN_NAMES)
    evaluator = ThresholdEvaluator([s for s in plan.thresholds if s.metric in config.sources])
    views: list[LiveView] = []
    for second, view in enumerate(rec.views):
        sample = db_cpu_sample(second, view.active_vus)
        evaluator.observe(
            IntervalSnapshot(
                second, view.interval_start, view.interval_end, MetricSet(), sources=(sample,)
            )
        )
        judged = tuple(evaluator.evaluate(MetricSet(), view.interval_end))
        fields = {f.name: getattr(view, f.name) for f in dataclasses.fields(LiveView)}
        fields["thresholds"] = view.thresholds + judged
        fields["sources"] = (sample,)
        views.append(LiveView(**fields))
    return Recording(config, rec.names, tuple(views), rec.result)
