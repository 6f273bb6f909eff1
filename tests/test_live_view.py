"""LiveView: the numbers a live display renders, computed from real engine updates."""

from __future__ import annotations

from ccplate_tui.config.loader import parse_config
from ccplate_tui.load.engine import LoadRun, resolve_plan
from ccplate_tui.load.live import LiveView, build_live_view, latency_histogram, latency_stats
from ccplate_tui.load.metrics import Trend
from ccplate_tui.load.results import RunResult
from tests.http_fixtures import fixture_server


def test_histogram_bins_hold_every_sample_in_order() -> None:
    trend = Trend()
    for ms in [1.0] * 50 + [10.0] * 30 + [100.0] * 20:
        trend.add(ms)
    bins = latency_histogram(trend, bins=10)
    assert sum(b.count for b in bins) == 100
    assert [b.upper_ms for b in bins] == sorted(b.upper_ms for b in bins)
    assert bins[0].count == 50 and bins[-1].count == 20
    assert latency_histogram(Trend()) == ()
    stats = latency_stats(trend)
    assert stats.count == 100 and stats.p50 == 1.0 and 99.0 <= stats.p99 <= 100.1


def live_views_of(scenarios_toml: str) -> tuple[list[LiveView], RunResult]:
    """Run `scenarios_toml` (its scenario tables) against a local fixture server; every
    interval's LiveView and the result."""
    views: list[LiveView] = []
    with fixture_server() as server:
        text = f'[target]\nbase_url = "{server.url}"\n[options]\ninterval = "250ms"\n'
        config = parse_config(text + scenarios_toml, "live.toml")
        plan = resolve_plan(config, [])
        run = LoadRun(config, plan, workers=1)
        run.observers.append(lambda update: views.append(build_live_view(update, plan.scenarios)))
        result = run.run()
    return views, result


def test_live_views_from_a_real_run() -> None:
    views, result = live_views_of(
        """
[scenarios.mix]
executor = "constant-vus"
vus = 3
duration = "1500ms"
thresholds = { http_req_failed = ["rate<0.01"] }
[[scenarios.mix.requests]]
name = "fast"
path = "/ok"
[[scenarios.mix.requests]]
name = "broken"
path = "/status/500"
"""
    )
    assert len(views) >= 5
    last = views[-1]
    assert last.planned == 1.5
    assert last.total_requests == int(result.totals.select("http_reqs").value)  # type: ignore[union-attr]
    assert 0.45 <= (last.total_error_rate or 0) <= 0.55
    names = {row.name: row for row in last.requests}
    assert set(names) == {"fast", "broken"}
    assert names["broken"].error_rate == 1.0 and names["fast"].error_rate == 0.0
    busy = [v for v in views if v.interval_latency.count]
    assert busy and all(sum(b.count for b in v.histogram) == v.interval_latency.count for v in busy)
    assert any(v.requests_per_s > 0 and v.errors_per_s > 0 for v in busy)
    assert last.thresholds and last.thresholds[0].ok is False
    assert views[-1].progress[0].name == "mix"


def test_the_same_request_name_in_two_scenarios_gives_two_rows() -> None:
    """Rows are per (scenario, method, name): a POST `fast` in one scenario and a GET `fast`
    in another are told apart, with their own counts."""
    views, _result = live_views_of(
        """
[scenarios.reads]
executor = "shared-iterations"
vus = 1
iterations = 6
[[scenarios.reads.requests]]
name = "fast"
path = "/ok"
[scenarios.writes]
executor = "shared-iterations"
vus = 1
iterations = 4
[[scenarios.writes.requests]]
name = "fast"
method = "POST"
path = "/ok"
body = "{}"
"""
    )
    rows = {(row.scenario, row.method, row.name): row for row in views[-1].requests}
    assert set(rows) == {("reads", "GET", "fast"), ("writes", "POST", "fast")}
    assert rows["reads", "GET", "fast"].count == 6
    assert rows["writes", "POST", "fast"].count == 4
    assert len({row.key for row in views[-1].requests}) == 2
