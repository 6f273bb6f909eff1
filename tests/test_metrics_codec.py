"""MetricSet <-> JSON: lossless for a real run's metrics, and clear about bad input."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ccplate_tui.load.engine import RunUpdate
from ccplate_tui.load.metrics import Counter, Gauge, MetricSet, Rate, Sink, Trend
from ccplate_tui.load.metrics_codec import (
    MetricsCodecError,
    metric_set_from_json,
    metric_set_to_json,
)
from tests.engine_helpers import run_toml
from tests.http_fixtures import FixtureServer, fixture_server

PERCENTILES = [0.0, 1.0, 25.0, 50.0, 90.0, 95.0, 99.0, 99.9, 100.0]


@pytest.fixture(scope="module")
def server() -> Iterator[FixtureServer]:
    with fixture_server() as srv:
        yield srv


@pytest.fixture(scope="module")
def real_run(server: FixtureServer) -> tuple[MetricSet, list[RunUpdate]]:
    """A real run's totals and interval updates: two named requests, checks, a failing one."""
    updates: list[RunUpdate] = []
    result = run_toml(
        f"""
[target]
base_url = "{server.url}"
[options]
interval = "250ms"
[scenarios.mixed]
executor = "constant-vus"
vus = 3
duration = "1.2s"
[[scenarios.mixed.requests]]
name = "fast"
path = "/ok"
checks = {{ "is 200" = "status == 200" }}
[[scenarios.mixed.requests]]
name = "slow"
path = "/sleep/15"
[[scenarios.mixed.requests]]
name = "broken"
path = "/status/503"
""",
        ["mixed"],
        updates=updates,
    )
    return result.totals, updates


def _through_json(ms: MetricSet) -> MetricSet:
    # Through text, as the history stores it: nothing may depend on Python objects surviving.
    return metric_set_from_json(json.loads(json.dumps(metric_set_to_json(ms), allow_nan=False)))


def assert_same(a: MetricSet, b: MetricSet) -> None:
    assert list(a.series) == list(b.series)
    for key, sink in a.series.items():
        other = b.series[key]
        assert type(other) is type(sink), key
        if isinstance(sink, Trend):
            assert isinstance(other, Trend)
            assert (other.count, other.total, other.min, other.max) == (
                sink.count,
                sink.total,
                sink.min,
                sink.max,
            )
            assert other.percentiles(PERCENTILES) == sink.percentiles(PERCENTILES), key
            assert other.hdr.get_total_count() == sink.hdr.get_total_count()
        else:
            assert other.__getstate__() == sink.__getstate__(), key


def test_a_real_runs_totals_round_trip_exactly(real_run: tuple[MetricSet, list]) -> None:
    totals, _ = real_run
    kinds = {type(s) for s in totals.series.values()}
    assert {Trend, Counter, Rate, Gauge} <= kinds  # the run produced every kind of series
    assert totals.tag_values("http_reqs", "name") == ["broken", "fast", "slow"]
    decoded = _through_json(totals)
    assert_same(totals, decoded)
    # The tags stay the exact ordered pairs the engine keys series by.
    assert all(isinstance(tags, tuple) for _, tags in decoded.series)


def test_decoded_intervals_merge_to_the_runs_totals(real_run: tuple[MetricSet, list]) -> None:
    totals, updates = real_run
    assert len(updates) >= 4
    merged = MetricSet()
    for update in updates:
        merged.accumulate(_through_json(update.snapshot.metrics))
    trend = merged.select("http_req_duration", (("name", "slow"),))
    want = totals.select("http_req_duration", (("name", "slow"),))
    assert isinstance(trend, Trend) and isinstance(want, Trend)
    assert trend.percentile(95.0) == want.percentile(95.0)
    assert trend.percentile(99.0) == want.percentile(99.0)
    assert trend.count == want.count and trend.count > 0
    rate = merged.select("http_req_failed")
    assert (
        isinstance(rate, Rate)
        and rate.__getstate__() == totals.select("http_req_failed").__getstate__()
    )  # type: ignore[union-attr]


def test_hand_built_edge_cases_round_trip() -> None:
    ms = MetricSet()
    empty = ms.sink("iteration_duration", (("scenario", "s"),))  # a trend with no values
    assert isinstance(empty, Trend)
    tiny = ms.sink("http_req_duration", (("name", "a"), ("status", "200")))
    assert isinstance(tiny, Trend)
    for value in (0.0001, 0.5, 12.25, 3_600_000.0, 10_000_000.0):  # below and above the HDR range
        tiny.add(value)
    counter = ms.sink("data_sent")
    assert isinstance(counter, Counter)
    counter.value = 123456789.5
    gauge = ms.sink("vus")
    assert isinstance(gauge, Gauge)
    gauge.set(7)
    gauge.set(2)
    ms.sink("checks", (("check", 'quote " and ü'),))
    decoded = _through_json(ms)
    assert_same(ms, decoded)
    got = decoded.series[("iteration_duration", (("scenario", "s"),))]
    assert isinstance(got, Trend) and got.count == 0 and got.percentile(99) == 0.0
    got_gauge = decoded.series[("vus", ())]
    assert isinstance(got_gauge, Gauge) and (got_gauge.value, got_gauge.min, got_gauge.max) == (
        2,
        0,
        7,
    )
    # A decoded trend merges with a fresh one like the original would.
    again = Trend()
    again.add(5.0)
    decoded_tiny = decoded.series[("http_req_duration", (("name", "a"), ("status", "200")))]
    assert isinstance(decoded_tiny, Trend)
    decoded_tiny.merge(again)
    tiny.merge(again)
    assert decoded_tiny.percentiles(PERCENTILES) == tiny.percentiles(PERCENTILES)


def test_the_json_is_plain_and_readable() -> None:
    ms = MetricSet()
    ms.sink("http_reqs", (("name", "login"),)).value += 3  # type: ignore[union-attr]
    assert metric_set_to_json(ms) == {
        "format": 1,
        "series": [
            {"metric": "http_reqs", "tags": [["name", "login"]], "type": "counter", "value": 3.0}
        ],
    }


def _valid() -> dict[str, Any]:
    ms = MetricSet()
    trend = ms.sink("http_req_duration")
    assert isinstance(trend, Trend)
    trend.add(10.0)
    trend.add(20.0)
    rate = ms.sink("http_req_failed")
    assert isinstance(rate, Rate)
    rate.add(True)
    return metric_set_to_json(ms)


def _edit(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    data = copy.deepcopy(_valid())
    change(data)
    return data


def _set(index: int, key: str, value: object) -> Callable[[dict[str, Any]], None]:
    return lambda d: d["series"][index].__setitem__(key, value)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ([], "expected an object, got list"),
        (_edit(lambda d: d.__setitem__("format", 9)), "format: expected 1, got int 9"),
        (_edit(lambda d: d.__setitem__("series", {})), "series: expected a list"),
        (_edit(lambda d: d["series"].append(3)), "series[2]: expected an object, got int 3"),
        (_edit(lambda d: d["series"][0].pop("metric")), "series[0]: missing 'metric'"),
        (_edit(_set(0, "tags", {"a": "b"})), "series[0].tags: expected a list of [key, value]"),
        (_edit(_set(0, "tags", [["a"]])), "series[0].tags[0]: expected a [key, value] pair"),
        (_edit(_set(0, "type", "histogram")), "series[0].type: expected trend, counter, rate"),
        (_edit(_set(0, "count", -1)), "series[0].count: expected a count"),
        (_edit(_set(0, "count", 3)), "series[0].hdr: holds 2 values, count says 3"),
        (_edit(_set(0, "hdr", "not base64 at all!")), "series[0].hdr: not an encoded HDR"),
        (_edit(_set(0, "min", None)), "series[0].min: expected a finite number"),
        (_edit(_set(0, "sum", "many")), "series[0].sum: expected a finite number"),
        (_edit(_set(1, "passes", 5)), "series[1].passes: 5 is more than total 1"),
        (_edit(_set(1, "total", 1.5)), "series[1].total: expected a count"),
        (_edit(lambda d: d["series"].append(d["series"][1])), "series[2]: series http_req_failed"),
    ],
)
def test_bad_input_names_the_key_path(data: Any, problem: str) -> None:
    with pytest.raises(MetricsCodecError) as caught:
        metric_set_from_json(data)
    assert problem in str(caught.value)


def test_every_sink_kind_is_known_to_the_codec() -> None:
    # A new Sink type must get an encoding here, not silently pass through.
    sinks: list[Sink] = [Trend(), Counter(), Rate(), Gauge()]
    ms = MetricSet({(f"m{i}", ()): sink for i, sink in enumerate(sinks)})
    assert [s["type"] for s in metric_set_to_json(ms)["series"]] == [
        "trend",
        "counter",
        "rate",
        "gauge",
    ]
