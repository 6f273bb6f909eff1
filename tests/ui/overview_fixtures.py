"""Real LiveViews and RunResults for the release-verdict tests, plus a tiny App for the panes.

The numbers go through the engine's own code (`MetricSet`, `ThresholdEvaluator`,
`build_live_view`) from fixed sample lists, so the verdicts are those of real runs and identical
on every machine. Uniform samples give exact percentiles (the trend clamps to its min/max).
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import App, ComposeResult
from textual.theme import Theme
from textual.widget import Widget
from textual.widgets import Static

from ccplate_tui.config.loader import parse_config
from ccplate_tui.config.model import Config
from ccplate_tui.load.engine import RunUpdate, resolve_plan
from ccplate_tui.load.live import LiveView, build_live_view
from ccplate_tui.load.metrics import MetricSet
from ccplate_tui.load.results import RunResult
from ccplate_tui.load.snapshot import IntervalSnapshot, ScenarioProgress
from ccplate_tui.load.thresholds import ThresholdEvaluator, ThresholdResult
from ccplate_tui.release.evidence import Evidence
from ccplate_tui.release.plan_rows import Measurement, PlanMeasures, SentryWiring
from ccplate_tui.ui.app import CcplateApp

PLAN_TOML = """
[target]
base_url = "http://127.0.0.1:8787"

[scenarios.mixed]
description = "the plan's mixed workload, shortened"
executor = "constant-vus"
vus = 10
duration = "2m"

[scenarios.mixed.thresholds]
http_req_duration = ["p(99)<500"]
http_req_failed = ["rate<0.001"]

[[scenarios.mixed.requests]]
name = "me"
path = "/api/users/me"
"""
"""The plan's own thresholds: p99 < 500 ms and error rate < 0.1%."""

NO_DATA_TOML = PLAN_TOML.replace(
    'http_req_failed = ["rate<0.001"]', 'http_req_failed = ["rate<0.001"]\nchecks = ["rate>0.99"]'
)
"""Adds a checks threshold that nothing feeds, so it stays NO DATA."""

BARE_TOML = """
[target]
base_url = "http://127.0.0.1:8787"

[scenarios.mixed]
executor = "constant-vus"
vus = 10
duration = "2m"

[[scenarios.mixed.requests]]
path = "/api/users/me"
"""
"""The same scenario with no thresholds at all."""

PLANNED = 120.0


def fixture_config(toml: str = PLAN_TOML) -> Config:
    return parse_config(toml, "scenarios.toml")


def request_metrics(latencies_ms: Sequence[float], failures: int = 0) -> MetricSet:
    """One request per latency; the first `failures` of them answered 500."""
    metrics = MetricSet()
    for index, ms in enumerate(latencies_ms):
        failed = index < failures
        tags = (
            ("expected_response", "false" if failed else "true"),
            ("method", "GET"),
            ("name", "me"),
            ("scenario", "mixed"),
            ("status", "500" if failed else "200"),
        )
        metrics.sink("http_reqs", tags).value += 1  # type: ignore[union-attr]
        metrics.sink("http_req_duration", tags).add(ms)  # type: ignore[union-attr]
        metrics.sink("http_req_failed", tags).add(failed)  # type: ignore[union-attr]
    return metrics


def spread(count: int, low: float, high: float) -> list[float]:
    """`count` latencies evenly from `low` to `high` ms (deterministic, no randomness)."""
    step = (high - low) / max(count - 1, 1)
    return [low + step * i for i in range(count)]


def _thresholds(config: Config, metrics: MetricSet, elapsed: float) -> list[ThresholdResult]:
    plan = resolve_plan(config, ())
    return ThresholdEvaluator(plan.thresholds).evaluate(metrics, elapsed)


def live_view(
    latencies_ms: Sequence[float],
    failures: int = 0,
    *,
    elapsed: float = 30.0,
    state: str = "running",
    toml: str = PLAN_TOML,
) -> LiveView:
    """The LiveView of a run `elapsed` seconds in, whose totals are exactly these requests."""
    config = fixture_config(toml)
    plan = resolve_plan(config, ())
    metrics = request_metrics(latencies_ms, failures)
    progress = (
        ScenarioProgress(
            name="mixed",
            state=state,
            elapsed=elapsed,
            planned=PLANNED,
            active_vus=0 if state == "done" else 10,
            max_vus=10,
            iterations=len(latencies_ms),
            interrupted=0,
            dropped=0,
        ),
    )
    snapshot = IntervalSnapshot(int(elapsed), elapsed - 1.0, elapsed, metrics, progress)
    results = _thresholds(config, metrics, elapsed)
    return build_live_view(RunUpdate(snapshot, metrics, results, elapsed), plan.scenarios)


def run_result(
    latencies_ms: Sequence[float],
    failures: int = 0,
    *,
    stopped: str | None = None,
    toml: str = PLAN_TOML,
) -> RunResult:
    """A finished run whose totals are exactly these requests, thresholds evaluated at its end."""
    config = fixture_config(toml)
    metrics = request_metrics(latencies_ms, failures)
    return RunResult(
        config=config,
        scenario_names=("mixed",),
        totals=metrics,
        duration=PLANNED,
        thresholds=_thresholds(config, metrics, PLANNED),
        progress=(),
        started_at=1_750_000_000.0,
        stopped=stopped,
    )


class PaneApp(App[None]):
    """Hosts one pane, full screen, so Pilot and snapshot tests see it as the dashboard would
    (with the dashboard's breakpoint classes: `-narrow`, `-wide`, `-short`)."""

    HORIZONTAL_BREAKPOINTS = CcplateApp.HORIZONTAL_BREAKPOINTS
    VERTICAL_BREAKPOINTS = CcplateApp.VERTICAL_BREAKPOINTS

    def __init__(self, pane: Widget, theme: Theme | None = None) -> None:
        super().__init__()
        self.pane = pane
        if theme is not None:
            # Registered in __init__, before CSS is parsed (see the Textual notes).
            self.register_theme(theme)
            self.theme = theme.name

    def compose(self) -> ComposeResult:
        yield self.pane


# -- the plan's other rows, measured (stand-ins for the probes, sources and capture counts) -------

PROBES = Evidence("probe window", started_at=1_750_000_000.0, duration=3600.0)
MEASURED = PlanMeasures(
    availability=Measurement(0.9995, PROBES, count=2000),
    database_load=Measurement(31.0, Evidence("source db_cpu", run_id="r1")),
    error_capture=Measurement(1.0, Evidence("Sentry event API"), count=40),
)
WIRED = SentryWiring(7, 7, (), None, Evidence("Sentry compatibility check"))


# -- what a size shows (the responsive layout's tests) -------------------------------------------

SIZES = {"80x24": (80, 24), "120x40": (120, 40), "200x60": (200, 60)}
"""The on-call terminal, a laptop, a projector."""


def screen_lines(app: App[object]) -> list[str]:
    """The active screen as plain text, one string per terminal row."""
    # The compositor is private, but it is the one place the screen's text exists as text.
    return [strip.text for strip in app.screen._compositor.render_strips()]


def cut_cells(root: Widget) -> list[str]:
    """Each shown Static under `root` that is cut: its text needs more rows than it has, or it
    runs past the right edge of its parent."""
    cut = []
    for cell in root.query(Static):
        if not all(node.display for node in cell.ancestors_with_self if isinstance(node, Widget)):
            continue  # hidden, so not laid out: its size is stale
        width, height = cell.content_size
        if not width:
            continue
        needed = cell.get_content_height(cell.size, cell.size, width)
        if needed > height:
            cut.append(f"{cell.id or cell.classes}: needs {needed} rows, has {height}")
        parent = cell.parent
        if isinstance(parent, Widget) and cell.region.right > parent.content_region.right:
            cut.append(f"{cell.id or cell.classes}: wider than {parent.id or parent}")
    return cut
