"""The Load tab's pure helpers: planned curves, downsampling, formatting."""

from __future__ import annotations

import pytest

from ccplate_tui.config.loader import parse_config
from ccplate_tui.config.thresholds import ThresholdExpr, ThresholdSpec
from ccplate_tui.load.snapshot import WorkerHealth
from ccplate_tui.ui.widgets import PlotPoint, downsample, planned_curve, planned_load
from ccplate_tui.ui.widgets.histogram_plot import bin_label, tick_labels
from ccplate_tui.ui.widgets.latency_plot import x_range
from ccplate_tui.ui.widgets.run_status import health_text, progress_bar, stage_text
from ccplate_tui.ui.widgets.scenario_list import plan_previews, span_of
from ccplate_tui.ui.widgets.threshold_table import expression, format_observed
from tests.ui.load_fixtures import fixture_config, record_run


def test_ramping_vus_curve_follows_the_stages() -> None:
    spec = fixture_config().scenarios["auth_burst"].executor
    assert [planned_load(spec, t) for t in (0, 10, 20, 35, 55, 59.9, 60, 90)] == [
        0.0,
        20.0,
        40.0,
        40.0,
        20.0,
        0.0,  # 0.4 VUs truncates to 0, as k6 steps
        0.0,
        0.0,
    ]
    curve = planned_curve([spec], samples=12)
    assert len(curve) == 13 and curve[-1] == 0.0
    assert max(curve) == 40.0 and curve[0] < curve[3]


def test_arrival_rate_curves_are_iterations_per_second_and_respect_start_time() -> None:
    config = fixture_config()
    browse = config.scenarios["browse"].executor  # 30/s from 10 s to 55 s
    assert [planned_load(browse, t) for t in (0, 9.9, 10, 54.9, 55)] == [0, 0, 30, 30, 0]
    spike = config.scenarios["spike"].executor  # 5 -> 50/s over 10 s, hold, back to 5
    assert planned_load(spike, 0) == 5.0 and planned_load(spike, 5) == 27.5
    assert planned_load(spike, 20) == 50.0 and planned_load(spike, 40) == 0.0
    per_minute = parse_config(
        """
[scenarios.slow]
executor = "constant-arrival-rate"
rate = 120
timeUnit = "1m"
duration = "10s"
preAllocatedVUs = 1
[[scenarios.slow.requests]]
path = "/"
""",
        "t.toml",
    ).scenarios["slow"]
    assert planned_load(per_minute.executor, 1) == 2.0


def test_iteration_executors_are_flat_and_suites_sum_their_members() -> None:
    config = fixture_config()
    lock = config.scenarios["schema_lock"].executor
    assert span_of(lock) == 600.0  # the loader's maxDuration default caps it
    assert set(planned_curve([lock])[:-1]) == {5.0}
    mixed = [config.scenarios["steady"].executor, config.scenarios["steady"].executor]
    assert max(planned_curve(mixed)) == 20.0
    previews = {p.name: p for p in plan_previews(config)}
    assert "steady: 10 looping VUs for 1m0s" in previews["mixed"].details
    assert "browse: 30.00 iterations/s for 45s" in previews["mixed"].details


def test_downsample_keeps_order_bounds_and_spikes() -> None:
    values = [1.0] * 1000
    values[537] = 99.0
    picked = downsample(values, 50, lambda v: v)
    assert len(picked) == 50 and 99.0 in picked
    assert downsample([3, 1, 2], 10, float) == [3, 1, 2]
    assert downsample([3, 1, 2], 0, float) == []
    points = [PlotPoint(float(i), 1, 2, 3, 4, 5, True) for i in range(300)]
    picked_points = downsample(points, 120, lambda p: p.p99)
    assert len(picked_points) == 120
    assert [p.elapsed for p in picked_points] == sorted(p.elapsed for p in picked_points)


def test_x_range_spans_the_plan_and_the_kept_history() -> None:
    assert x_range([], 60.0) == (0.0, 60.0)
    late = [PlotPoint(float(i), 0, 0, 0, 0, 0, True) for i in range(100, 200)]
    assert x_range(late, 60.0) == (100.0, 199.0)  # the history scrolled: start at what is kept


def test_plot_point_marks_intervals_without_latency() -> None:
    views = record_run().views
    assert PlotPoint.of(views[10]).has_latency
    assert PlotPoint.of(views[10]).p99 == views[10].interval_latency.p99


def spec(metric: str, source: str, aggregation: str, abort: bool = False) -> ThresholdSpec:
    expr = ThresholdExpr(source, aggregation, 99.0 if aggregation == "p" else None, "<", 1.0)
    return ThresholdSpec(metric, metric, (), expr, abort_on_fail=abort)


@pytest.mark.parametrize(
    ("metric", "aggregation", "value", "text"),
    [
        ("http_req_duration", "p", 226.684, "226.68ms"),
        ("http_req_duration", "avg", 1234.5, "1.23s"),
        ("http_req_failed", "rate", 0.0141, "1.41%"),
        ("checks", "rate", 1.0, "100.00%"),
        ("http_reqs", "count", 14400.0, "14400"),
        ("http_reqs", "rate", 240.0, "240.00/s"),
        ("vus", "value", 12.0, "12"),
        ("my_custom", "avg", 0.12345, "0.123"),
        ("http_req_duration", "p", None, "-"),
    ],
)
def test_observed_values_in_their_units(
    metric: str, aggregation: str, value: float | None, text: str
) -> None:
    assert format_observed(spec(metric, "x", aggregation), value) == text


def test_expression_flags_abort_on_fail() -> None:
    assert expression(spec("http_req_failed", "rate<0.01", "rate", abort=True)) == (
        "rate<0.01 (abortOnFail)"
    )


def test_progress_bar_and_stage_text() -> None:
    assert str(progress_bar(30, 60, width=10)) == "━━━━━───── " + " 50%"
    assert str(progress_bar(90, 60, width=4)) == "━━━━ 100%"  # graceful stop: capped
    assert str(progress_bar(5, 0, width=4)) == "────   0%"  # no plan: no division by zero
    view = record_run().views[30]
    config = fixture_config()
    assert stage_text(view.progress[0], config.scenarios["auth_burst"]) == "2/3"
    assert stage_text(view.progress[0], None) == "2"
    assert stage_text(record_run().views[-1].progress[0], None) == "done"


def test_tick_labels_stay_distinct() -> None:
    # A 1-5 ms run's bin edges: one decimal would print 1.1 twice.
    assert tick_labels([1.07, 1.12, 1.18]) == ["1.07", "1.12", "1.18"]
    assert tick_labels([81.0, 101.0, 125.0]) == ["81", "101", "125"]


def test_bin_labels_are_short() -> None:
    assert [bin_label(v) for v in (0.42, 9.99, 12.4, 850.0, 1234.0, 25_000.0)] == [
        "0.4",
        "10.0",
        "12",
        "850",
        "1.2k",
        "25k",
    ]


def test_the_run_status_names_the_same_cause_as_the_progress_line() -> None:
    busy_host = WorkerHealth(
        2, 5.0, 80.0, 8.0, host_cpu_percent=97.0, host_load_1m=3.1, host_cores=2
    )
    assert health_text(busy_host).plain.splitlines() == [
        "generator   CPU 5% · lag 80 ms · 2 procs",
        f"⚠ {busy_host.warning.text}",  # type: ignore[union-attr]
    ]
    assert "host busy: CPU 97% (load 3.1 on 2 cores)" in health_text(busy_host).plain
    saturated = WorkerHealth(1, 99.0, 3.0)
    assert health_text(saturated).plain.endswith(
        "⚠ generator saturated: worker CPU 99% — latencies include its own delay"
    )
    assert (
        health_text(WorkerHealth(1, 10.0, 2.0)).plain == "generator   CPU 10% · lag 2 ms · 1 proc"
    )
