"""Threshold evaluation on real MetricSets: aggregates, tag filters, windows, no data, aborts."""

from __future__ import annotations

import tracemalloc

import pytest

from ccplate_tui.config.thresholds import (
    ThresholdSpec,
    parse_threshold_entry,
    parse_threshold_expr,
)
from ccplate_tui.load.metrics import Counter, Gauge, MetricSet, Rate, Trend
from ccplate_tui.load.snapshot import IntervalSnapshot
from ccplate_tui.load.thresholds import (
    EVALUATION_PERIOD,
    ThresholdEvaluator,
    aggregate,
    failed_metrics,
)

STEADY = (("name", "okreq"), ("scenario", "steady"), ("status", "200"))
BURST = (("name", "login"), ("scenario", "burst"), ("status", "500"))


def spec(key: str, entry: str | dict) -> ThresholdSpec:
    return parse_threshold_entry(key, entry)


def trend_of(*values: float) -> Trend:
    trend = Trend()
    for value in values:
        trend.add(value)
    return trend


def sample_metrics() -> MetricSet:
    """Two scenarios' HTTP series, as the engine records them."""
    metrics = MetricSet()
    for value in range(1, 101):  # 1..100 ms
        metrics.sink("http_req_duration", STEADY).add(float(value))  # type: ignore[union-attr]
    for value in (500.0, 700.0):
        metrics.sink("http_req_duration", BURST).add(value)  # type: ignore[union-attr]
    failed = metrics.sink("http_req_failed", STEADY)
    assert isinstance(failed, Rate)
    for index in range(100):
        failed.add(index < 5)  # 5 % failed
    metrics.series[("http_req_failed", BURST)] = Rate(passes=2, total=2)
    metrics.series[("http_reqs", STEADY)] = Counter(100)
    metrics.series[("http_reqs", BURST)] = Counter(2)
    metrics.series[("vus", (("scenario", "steady"),))] = Gauge(3)
    metrics.series[("vus", (("scenario", "burst"),))] = Gauge(4)
    return metrics


def observe_one(source: str, sink: object, elapsed: float = 10.0) -> float | None:
    return aggregate(sink, parse_threshold_expr(source), elapsed)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------ aggregate


def test_trend_aggregates_in_ms() -> None:
    trend = trend_of(*[float(v) for v in range(1, 101)])
    assert observe_one("avg<1", trend) == pytest.approx(50.5)
    assert observe_one("min<1", trend) == 1.0
    assert observe_one("max<1", trend) == 100.0
    assert observe_one("med<1", trend) == pytest.approx(50.0, abs=0.1)
    assert observe_one("p(90)<1", trend) == pytest.approx(90.0, abs=0.1)
    assert observe_one("p(0)<1", trend) == 1.0
    assert observe_one("p(100)<1", trend) == 100.0


def test_counter_count_and_rate_per_second() -> None:
    counter = Counter(30)
    assert observe_one("count<1", counter, elapsed=10.0) == 30.0
    assert observe_one("rate<1", counter, elapsed=10.0) == pytest.approx(3.0)


def test_counter_rate_without_elapsed_time_is_no_data() -> None:
    assert observe_one("rate<1", Counter(30), elapsed=0.0) is None
    assert observe_one("rate<1", Counter(30), elapsed=-1.0) is None


def test_rate_and_gauge() -> None:
    assert observe_one("rate<1", Rate(passes=1, total=4)) == 0.25
    assert observe_one("rate<1", Rate()) is None
    gauge = Gauge()
    gauge.set(7)
    gauge.set(2)
    assert observe_one("value<1", gauge) == 2.0


def test_empty_trend_and_missing_sink_are_no_data() -> None:
    assert observe_one("p(95)<500", Trend()) is None
    assert observe_one("p(95)<500", None) is None


def test_method_that_does_not_fit_the_sink_is_refused() -> None:
    with pytest.raises(ValueError, match="does not apply to a Counter"):
        observe_one("p(95)<1", Counter(1))
    with pytest.raises(ValueError, match="does not apply to a Rate"):
        observe_one("count<1", Rate(1, 1))


# ------------------------------------------------------------------------------------ evaluate


@pytest.mark.parametrize(
    ("key", "source", "ok", "observed"),
    [
        ("http_req_duration", "max<1000", True, 700.0),
        ("http_req_duration", "max<600", False, 700.0),
        ("http_req_duration{scenario:steady}", "max<600", True, 100.0),
        ("http_req_duration{scenario:burst}", "min>=500", True, 500.0),
        ("http_req_duration{scenario:burst,status:500}", "avg==600", True, 600.0),
        ("http_req_duration{scenario:burst,status:200}", "avg<1", None, None),
        ("http_req_duration{scenario:nobody}", "p(95)<500", None, None),
        ("http_req_failed", "rate<0.1", True, 7 / 102),
        ("http_req_failed{scenario:burst}", "rate<0.1", False, 1.0),
        ("http_req_failed{scenario:steady}", "rate!=0.05", False, 0.05),
        ("http_req_failed{scenario:steady}", "rate===0.05", True, 0.05),
        ("http_reqs", "count>=102", True, 102.0),
        ("http_reqs", "rate>20", False, 10.2),
        ("http_reqs{scenario:burst}", "count>2", False, 2.0),
        ("vus", "value<=7", True, 7.0),  # the scenarios' gauges add up
        ("vus{scenario:steady}", "value>3", False, 3.0),
        ("vus_max", "value<10", None, None),
        ("checks", "rate>0.9", None, None),
        # untouched counters are zero, not missing: the engine writes them only when they move
        ("dropped_iterations", "count<1", True, 0.0),
        ("dropped_iterations{scenario:steady}", "count>0", False, 0.0),
    ],
)
def test_evaluate_on_totals(key: str, source: str, ok: bool | None, observed: float | None) -> None:
    evaluator = ThresholdEvaluator([spec(key, source)])
    (result,) = evaluator.evaluate(sample_metrics(), elapsed=10.0)
    assert result.ok is ok
    if observed is None:
        assert result.observed is None
    else:
        assert result.observed == pytest.approx(observed)
    assert result.failed is (ok is not True)


def test_results_follow_spec_order() -> None:
    specs = [spec("http_reqs", "count>1"), spec("vus", "value<1"), spec("checks", "rate>0.5")]
    results = ThresholdEvaluator(specs).evaluate(sample_metrics(), elapsed=10.0)
    assert [r.spec for r in results] == specs
    assert [r.ok for r in results] == [True, False, None]


def test_counter_rate_at_zero_elapsed_is_no_data() -> None:
    (result,) = ThresholdEvaluator([spec("http_reqs", "rate<1000")]).evaluate(
        sample_metrics(), elapsed=0.0
    )
    assert (result.ok, result.observed) == (None, None)


def test_first_failed_at_is_kept_across_evaluations() -> None:
    evaluator = ThresholdEvaluator([spec("http_req_failed", "rate<0.1")])
    metrics = MetricSet()
    failed = metrics.sink("http_req_failed", STEADY)
    assert isinstance(failed, Rate)
    failed.merge(Rate(passes=0, total=10))
    assert evaluator.evaluate(metrics, 2.0)[0].first_failed_at is None
    failed.merge(Rate(passes=10, total=10))  # 50 %: fails
    first = evaluator.evaluate(metrics, 4.0)[0]
    assert (first.ok, first.first_failed_at) == (False, 4.0)
    failed.merge(Rate(passes=0, total=200))  # back under 10 %
    recovered = evaluator.evaluate(metrics, 6.0)[0]
    assert (recovered.ok, recovered.first_failed_at) == (True, 4.0)
    failed.merge(Rate(passes=100, total=100))
    again = evaluator.evaluate(metrics, 8.0)[0]
    assert (again.ok, again.first_failed_at) == (False, 4.0)


def test_no_data_is_not_a_failure_for_first_failed_at() -> None:
    evaluator = ThresholdEvaluator([spec("checks", "rate>0.9")])
    (result,) = evaluator.evaluate(MetricSet(), 2.0)
    assert (result.ok, result.first_failed_at) == (None, None)


# ------------------------------------------------------------------------------------- windows


def interval(index: int, metrics: MetricSet, length: float = 1.0) -> IntervalSnapshot:
    return IntervalSnapshot(
        index=index, start=index * length, end=(index + 1) * length, metrics=metrics
    )


def latency_interval(index: int, *values: float) -> IntervalSnapshot:
    metrics = MetricSet()
    metrics.series[("http_req_duration", STEADY)] = trend_of(*values)
    metrics.series[("http_reqs", STEADY)] = Counter(len(values))
    return interval(index, metrics)


def test_windowed_trend_uses_only_recent_intervals() -> None:
    evaluator = ThresholdEvaluator(
        [spec("http_req_duration", "max[3s]<200"), spec("http_req_duration", "max<200")]
    )
    totals = MetricSet()
    # A slow start (1000 ms) followed by seven fast intervals.
    for index, value in enumerate([1000.0, 900.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0]):
        snapshot = latency_interval(index, value)
        evaluator.observe(snapshot)
        totals.accumulate(snapshot.metrics)
    windowed, overall = evaluator.evaluate(totals, elapsed=8.0)
    assert (windowed.ok, windowed.observed) == (True, 60.0)
    assert (overall.ok, overall.observed) == (False, 1000.0)
    # Intervals ending at 6, 7 and 8 s are in [5, 8]; the one ending at 5 s is not.
    p_low = ThresholdEvaluator([spec("http_req_duration", "min[3s]>0")])
    for index, value in enumerate([1000.0, 900.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0]):
        p_low.observe(latency_interval(index, value))
    assert p_low.evaluate(MetricSet(), elapsed=8.0)[0].observed == 40.0


def test_windowed_sees_a_recent_spike_that_totals_dilute() -> None:
    evaluator = ThresholdEvaluator([spec("http_req_duration", "p(50)[2s]<100")])
    for index in range(20):
        evaluator.observe(latency_interval(index, *([10.0] * 50)))
    for index in (20, 21):
        evaluator.observe(latency_interval(index, *([500.0] * 50)))
    (result,) = evaluator.evaluate(MetricSet(), elapsed=22.0)
    assert result.ok is False
    assert result.observed == pytest.approx(500.0, rel=0.01)


def test_windowed_counter_rate_divides_by_the_covered_span() -> None:
    evaluator = ThresholdEvaluator([spec("http_reqs", "rate[10s]>=4")])
    for index in range(3):  # only 3 s observed so far, 12 requests: 4/s, not 1.2/s
        evaluator.observe(latency_interval(index, *([1.0] * 4)))
    (result,) = evaluator.evaluate(MetricSet(), elapsed=3.0)
    assert result.observed == pytest.approx(4.0)
    assert result.ok is True


def test_windowed_rate_tag_filter_and_intervals_without_the_series() -> None:
    evaluator = ThresholdEvaluator([spec("http_req_failed{scenario:burst}", "rate[2s]<0.5")])
    first = MetricSet()
    first.series[("http_req_failed", BURST)] = Rate(passes=4, total=4)
    first.series[("http_req_failed", STEADY)] = Rate(passes=0, total=100)
    evaluator.observe(interval(0, first))
    second = MetricSet()
    second.series[("http_req_failed", BURST)] = Rate(passes=0, total=4)
    evaluator.observe(interval(1, second))
    (result,) = evaluator.evaluate(MetricSet(), elapsed=2.0)
    assert result.observed == pytest.approx(0.5)
    assert result.ok is False
    evaluator.observe(interval(2, MetricSet()))  # burst sent nothing in this interval
    (result,) = evaluator.evaluate(MetricSet(), elapsed=3.0)
    assert (result.ok, result.observed) == (True, 0.0)
    for index in (3, 4):
        evaluator.observe(interval(index, MetricSet()))
    (result,) = evaluator.evaluate(MetricSet(), elapsed=5.0)
    assert (result.ok, result.observed) == (None, None)


def test_windowed_without_any_interval_is_no_data() -> None:
    evaluator = ThresholdEvaluator([spec("dropped_iterations", "count[10s]<1")])
    (result,) = evaluator.evaluate(sample_metrics(), elapsed=1.0)
    assert result.ok is None
    evaluator.observe(interval(0, MetricSet()))
    (result,) = evaluator.evaluate(sample_metrics(), elapsed=1.0)
    assert (result.ok, result.observed) == (True, 0.0)


def test_windowed_gauge_takes_the_latest_reading() -> None:
    evaluator = ThresholdEvaluator([spec("vus", "value[5s]<5")])
    for index, vus in enumerate([9, 8, 2]):
        metrics = MetricSet()
        metrics.series[("vus", (("scenario", "a"),))] = Gauge(vus)
        metrics.series[("vus", (("scenario", "b"),))] = Gauge(1)
        evaluator.observe(interval(index, metrics))
    (result,) = evaluator.evaluate(MetricSet(), elapsed=3.0)
    assert (result.ok, result.observed) == (True, 3.0)


def test_window_membership_tolerates_jittered_boundaries() -> None:
    # The 1m window keeps every interval, so only the 3s window's membership rule decides.
    evaluator = ThresholdEvaluator(
        [spec("http_reqs", "count[3s]<100"), spec("http_reqs", "count[1m]<100")]
    )
    for index in range(10):
        metrics = MetricSet()
        metrics.series[("http_reqs", ())] = Counter(1)
        # Measured boundaries drift by a few milliseconds.
        evaluator.observe(
            IntervalSnapshot(index=index, start=index + 0.003, end=index + 1.004, metrics=metrics)
        )
    short, long = evaluator.evaluate(MetricSet(), elapsed=10.002)
    assert (short.observed, long.observed) == (3.0, 10.0)


def test_window_memory_is_bounded_by_time_not_count() -> None:
    evaluator = ThresholdEvaluator(
        [spec("http_reqs", "count[30s]<1e9"), spec("http_reqs", "rate[5s]>0")]
    )

    def feed(start: int, stop: int) -> None:
        for index in range(start, stop):
            metrics = MetricSet()
            metrics.series[("http_reqs", STEADY)] = Counter(2)
            evaluator.observe(interval(index, metrics, length=0.5))

    feed(0, 1_000)
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        feed(1_000, 10_000)
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # 30 s of 0.5 s intervals: about 60 kept, whatever the number observed.
    assert 55 <= evaluator.retained <= 62
    assert after - before < 50_000
    count, rate = evaluator.evaluate(MetricSet(), elapsed=5_000.0)
    assert count.observed == pytest.approx(2 * 60, abs=4)
    assert rate.observed == pytest.approx(4.0)


def test_no_windowed_spec_keeps_nothing() -> None:
    evaluator = ThresholdEvaluator([spec("http_reqs", "count>0")])
    for index in range(100):
        evaluator.observe(latency_interval(index, 1.0))
    assert evaluator.retained == 0


# ------------------------------------------------------------------------------ abort, messages


def test_abort_without_delay() -> None:
    evaluator = ThresholdEvaluator(
        [
            spec("http_req_failed", {"threshold": "rate<0.01", "abortOnFail": True}),
            spec("http_req_duration", "max<1"),  # fails, but no abortOnFail
            spec("checks", {"threshold": "rate>0.9", "abortOnFail": True}),  # no data
        ]
    )
    results = evaluator.evaluate(sample_metrics(), elapsed=2.0)
    assert [r.ok for r in results] == [False, False, None]
    assert evaluator.abort_reasons(results, 2.0) == [results[0]]


def test_abort_waits_for_delay_abort_eval() -> None:
    entry = {"threshold": "rate<0.01", "abortOnFail": True, "delayAbortEval": "10s"}
    evaluator = ThresholdEvaluator([spec("http_req_failed", entry)])
    early = evaluator.evaluate(sample_metrics(), elapsed=4.0)
    assert early[0].ok is False
    assert evaluator.abort_reasons(early, 4.0) == []
    assert evaluator.abort_reasons(early, 10.0) == []  # not yet: the delay must be exceeded
    late = evaluator.evaluate(sample_metrics(), elapsed=12.0)
    assert evaluator.abort_reasons(late, 12.0) == late
    assert late[0].first_failed_at == 4.0


def test_passing_abort_threshold_does_not_abort() -> None:
    evaluator = ThresholdEvaluator(
        [spec("http_req_failed", {"threshold": "rate<0.5", "abortOnFail": True})]
    )
    results = evaluator.evaluate(sample_metrics(), elapsed=10.0)
    assert results[0].ok is True
    assert evaluator.abort_reasons(results, 10.0) == []


def test_failed_metrics_names_each_metric_once() -> None:
    evaluator = ThresholdEvaluator(
        [
            spec("http_req_failed", "rate<0.01"),
            spec("http_req_duration", "max<1"),
            spec("http_req_failed{scenario:burst}", "rate<0.5"),
            spec("http_reqs", "count>0"),
            spec("checks", "rate>0.9"),
        ]
    )
    results = evaluator.evaluate(sample_metrics(), elapsed=10.0)
    assert failed_metrics(results) == ["http_req_failed", "http_req_duration", "checks"]
    assert failed_metrics([r for r in results if r.ok]) == []


def test_evaluation_period_matches_k6() -> None:
    assert EVALUATION_PERIOD == 2.0
