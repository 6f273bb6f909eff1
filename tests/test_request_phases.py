"""k6's timing phases (http_req_blocked ... http_req_receiving): recorded cheaply per request,
flushed under http_req_duration's tags, and carried by the summary, the summary export, the
NDJSON output and the run history exactly as any other trend."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from ccplate_tui.config.errors import ConfigError
from ccplate_tui.config.loader import parse_config
from ccplate_tui.history.store import HistoryStore, history_path
from ccplate_tui.k6.export import K6_METRICS
from ccplate_tui.load.metrics import BUILTIN_METRICS, MetricSet, MetricType, Trend, TrendBuilder
from ccplate_tui.load.metrics_codec import metric_set_from_json, metric_set_to_json
from ccplate_tui.load.ndjson import NdjsonWriter
from ccplate_tui.load.phases import NO_PHASES, RequestPhases
from ccplate_tui.load.recorder import PHASE_BATCH, PHASE_METRICS, IntervalRecorder
from ccplate_tui.load.requests import CompiledRequest, compile_request
from ccplate_tui.load.results import RunResult
from ccplate_tui.load.snapshot import IntervalSnapshot, ScenarioProgress
from ccplate_tui.load.summary import render_summary
from ccplate_tui.load.summary_export import summary_export
from tests.engine_helpers import run_toml
from tests.http_fixtures import FixtureServer, fixture_server

K6_PHASES = (
    "http_req_blocked",
    "http_req_connecting",
    "http_req_tls_handshaking",
    "http_req_sending",
    "http_req_waiting",
    "http_req_receiving",
)
PERCENTILES = [0.0, 1.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.9, 100.0]

CONFIG_TEXT = """
[target]
base_url = "http://127.0.0.1:8787"
[scenarios.steady]
executor = "constant-vus"
vus = 1
duration = "1s"
[[scenarios.steady.requests]]
name = "home"
path = "/"
[[scenarios.steady.requests]]
name = "login"
method = "POST"
path = "/api/login"
"""


def _compiled() -> tuple[list[CompiledRequest], object]:
    config = parse_config(CONFIG_TEXT, "test.toml")
    scenario = config.scenarios["steady"]

    async def compile_all() -> list[CompiledRequest]:
        return [
            await compile_request(i, spec, scenario, config.target, (), seed=i)
            for i, spec in enumerate(scenario.requests)
        ]

    return asyncio.run(compile_all()), config


def _keepalive(i: int) -> RequestPhases:
    """A request on a reused connection: no connecting or TLS; a little blocked now and then."""
    return RequestPhases(
        blocked=0.004 if i % 3 else 0.0,
        sending=0.02 + (i % 7) * 0.001,
        waiting=0.3 + (i % 101) * 0.013,
        receiving=0.01 + (i % 5) * 0.002,
    )


def _new_connection(i: int) -> RequestPhases:
    return RequestPhases(
        blocked=1.5, connecting=0.9, sending=0.03, waiting=2.5 + i * 0.5, receiving=0.05
    )


def _one_by_one(values: list[float]) -> Trend:
    trend = Trend()
    for value in values:
        trend.add(value)
    return trend


def assert_identical(a: Trend, b: Trend, *, hdr_extremes: bool = True) -> None:
    assert (a.count, a.total, a.min, a.max, a.avg) == (b.count, b.total, b.min, b.max, b.avg)
    assert a.percentiles(PERCENTILES) == b.percentiles(PERCENTILES)
    assert a.hdr.get_total_count() == b.hdr.get_total_count() == a.count
    assert list(a.hdr.counts) == list(b.hdr.counts)
    if hdr_extremes:  # a decoded histogram keeps only its bucket's bounds
        assert (a.hdr.min_value, a.hdr.max_value) == (b.hdr.min_value, b.hdr.max_value)


# --- the builder against one-by-one adds ---------------------------------------------------------


def _datasets() -> dict[str, list[float]]:
    rng = random.Random(7)
    return {
        "all zeros": [0.0] * 5000,
        "mostly zeros": [0.0] * 4000 + [0.004, 0.0005, 1.25] * 7 + [0.0] * 100,
        "sub-microsecond": [0.0004, 0.0009, 0.001, 0.0, 0.0011] * 50,
        "keep-alive phases": [p.waiting for p in map(_keepalive, range(3000))],
        "wide spread": [rng.lognormvariate(0.0, 2.0) for _ in range(6000)],
        "beyond the histogram": [0.5, 4_000_000_000.0, 2.0, 3_600_000.0],
    }


@pytest.mark.parametrize("name", list(_datasets()))
@pytest.mark.parametrize("batch", [1, 7, 1024, 100_000])
@pytest.mark.parametrize("max_bins", [3, 4096])
def test_batched_recording_equals_adding_one_by_one(name: str, batch: int, max_bins: int) -> None:
    values = _datasets()[name]
    builder = TrendBuilder(max_bins=max_bins)
    for start in range(0, len(values), batch):
        builder.add_many(tuple(values[start : start + batch]))
    assert_identical(builder.build(), _one_by_one(values))


def test_a_builder_keeps_adding_after_build() -> None:
    builder = TrendBuilder()
    builder.add_many((0.0, 0.0, 1.5))
    first = builder.build()
    assert (first.count, first.max) == (3, 1.5)
    builder.add_many((0.0, 2.5))
    assert_identical(builder.build(), _one_by_one([0.0, 0.0, 1.5, 0.0, 2.5]))


def test_a_trend_of_zeros_reads_zero_as_k6_does() -> None:
    # k6 prints a reused connection's http_req_connecting as med=0s p(95)=0s, not 1µs.
    trend = _one_by_one([0.0] * 95 + [0.25] * 5)
    assert trend.percentiles([50.0, 95.0, 99.0]) == {50.0: 0.0, 95.0: 0.0, 99.0: 0.25}


# --- the recorder ---------------------------------------------------------------------------------


def test_phase_names_are_k6s_and_are_time_trends() -> None:
    assert PHASE_METRICS == K6_PHASES
    for metric in K6_PHASES:
        assert BUILTIN_METRICS[metric].type is MetricType.TREND
        assert BUILTIN_METRICS[metric].contains == "time"


def _record(recorder: IntervalRecorder, requests: list[CompiledRequest]) -> dict[tuple, list]:
    """Record a known mix; return the phases recorded per (name, status, error) tag values."""
    home, login = requests
    refused = ("dial: connection refused", "1212")
    recorded: dict[tuple, list] = {}
    plan = [(home, 200, None, _keepalive(i)) for i in range(PHASE_BATCH * 2 + 17)]
    plan += [(home, 200, None, _new_connection(i)) for i in range(3)]
    plan += [(login, 401, None, _keepalive(i)) for i in range(5)]
    plan += [(login, 0, refused, NO_PHASES) for _ in range(4)]
    plan += [(login, 0, ("request timeout", "1050"), RequestPhases(waiting=60_000.0))]
    for request, status, error, phases in plan:
        series = recorder.http_series(request, status, error)
        series.count += 1
        series.duration.add(phases.sending + phases.waiting + phases.receiving)
        series.add_phases(phases)
        name = ("home", "login")[request.index]
        recorded.setdefault((name, str(status), error and error[0]), []).append(phases)
    return recorded


def _flushed() -> tuple[MetricSet, dict[tuple, list], list[CompiledRequest]]:
    requests, _ = _compiled()
    recorder = IntervalRecorder(requests, set())
    recorded = _record(recorder, requests)
    return recorder.flush({}), recorded, requests


def test_flush_gives_the_six_trends_under_the_duration_tags() -> None:
    metrics, recorded, _ = _flushed()
    duration_tags = [tags for name, tags in metrics.series if name == "http_req_duration"]
    assert len(duration_tags) == len(recorded) == 4
    for metric in K6_PHASES:
        assert sorted(t for n, t in metrics.series if n == metric) == sorted(duration_tags)
    for tags in duration_tags:
        tag = dict(tags)
        phases_list = recorded[(tag["name"], tag["status"], tag.get("error"))]
        for field, metric in zip(RequestPhases._fields, K6_PHASES, strict=True):
            trend = metrics.series[(metric, tags)]
            assert isinstance(trend, Trend)
            assert_identical(trend, _one_by_one([getattr(p, field) for p in phases_list]))


def test_failed_requests_carry_their_phases_too() -> None:
    metrics, _, _ = _flushed()
    refused = metrics.select("http_req_connecting", (("error_code", "1212"),))
    assert isinstance(refused, Trend) and refused.count == 4 and refused.max == 0.0
    timed_out = metrics.select("http_req_waiting", (("error_code", "1050"),))
    assert isinstance(timed_out, Trend) and (timed_out.count, timed_out.max) == (1, 60_000.0)


def test_a_series_without_phases_adds_no_phase_trends() -> None:
    requests, _ = _compiled()
    recorder = IntervalRecorder(requests, set())
    series = recorder.http_series(requests[0], 200, None)
    series.count += 1
    series.duration.add(1.0)
    metrics = recorder.flush({})
    assert {name for name, _ in metrics.series} & set(K6_PHASES) == set()


def test_the_next_interval_starts_afresh() -> None:
    requests, _ = _compiled()
    recorder = IntervalRecorder(requests, set())
    _record(recorder, requests)
    recorder.flush({})
    recorder.http_series(requests[0], 200, None).add_phases(_keepalive(1))
    later = recorder.flush({})
    waiting = later.select("http_req_waiting")
    assert isinstance(waiting, Trend) and waiting.count == 1


# --- summary, summary export, NDJSON, history ----------------------------------------------------


def _result(metrics: MetricSet) -> RunResult:
    _, config = _compiled()
    return RunResult(
        config=config,  # type: ignore[arg-type]
        scenario_names=("steady",),
        totals=metrics,
        duration=1.0,
        thresholds=[],
        progress=(ScenarioProgress("steady", "done", 1.0, 1.0, 0, 1, 1, 0, 0),),
        started_at=1_700_000_000.0,
    )


def test_summary_lists_the_http_metrics_in_k6s_order() -> None:
    metrics, _, _ = _flushed()
    text = render_summary(_result(metrics))
    section = text.split("    HTTP\n", 1)[1].split("\n\n", 1)[0].splitlines()
    names = [line.split(".", 1)[0].strip() for line in section]
    # k6's compact summary: sorted by name (submetrics under their parent).
    assert names == [
        "http_req_blocked",
        "http_req_connecting",
        "http_req_duration",
        "{ expected_response:true }",
        "http_req_failed",
        "http_req_receiving",
        "http_req_sending",
        "http_req_tls_handshaking",
        "http_req_waiting",
        "http_reqs",
    ]
    connecting = next(line for line in section if line.startswith("    http_req_connecting"))
    assert "min=0s" in connecting and "med=0s" in connecting and "max=900µs" in connecting


def test_summary_export_carries_the_phases() -> None:
    metrics, _, _ = _flushed()
    result = _result(metrics)
    exported = summary_export(result)["metrics"]
    for metric in K6_PHASES:
        trend = metrics.select(metric)
        assert isinstance(trend, Trend)
        values = exported[metric]
        assert list(values) == list(result.config.options.summary_trend_stats)
        assert values["avg"] == pytest.approx(trend.avg)
        assert (values["min"], values["max"]) == (trend.min, trend.max)
    assert exported["http_req_tls_handshaking"]["max"] == 0
    assert exported["http_req_waiting"]["max"] == 60_000


def test_ndjson_carries_the_phases(tmp_path: Path) -> None:
    metrics, _, _ = _flushed()
    out = tmp_path / "run.jsonl"
    with NdjsonWriter(out, []) as writer:
        writer.write_snapshot(
            IntervalSnapshot(index=0, start=0.0, end=1.0, metrics=metrics, wall_time=1.7e9)
        )
    records = [json.loads(line) for line in out.read_text().splitlines()]
    declared = {r["metric"]: r["data"] for r in records if r["type"] == "Metric"}
    points: dict[str, list[dict]] = {}
    for r in records:
        if r["type"] == "Point":
            points.setdefault(r["metric"], []).append(r["data"])
    duration_tags = sorted(json.dumps(p["tags"]) for p in points["http_req_duration"])
    for metric in K6_PHASES:
        assert declared[metric]["type"] == "trend" and declared[metric]["contains"] == "time"
        assert sorted(json.dumps(p["tags"]) for p in points[metric]) == duration_tags
        assert sum(p["metadata"]["count"] for p in points[metric]) == sum(
            p["metadata"]["count"] for p in points["http_req_duration"]
        )


def _assert_same_phases(a: MetricSet, b: MetricSet) -> None:
    for (metric, tags), sink in a.series.items():
        if metric in K6_PHASES:
            other = b.series[(metric, tags)]
            assert isinstance(sink, Trend) and isinstance(other, Trend)
            assert_identical(other, sink, hdr_extremes=False)


def test_the_history_round_trips_the_phases(tmp_path: Path) -> None:
    metrics, _, _ = _flushed()
    through_json = metric_set_from_json(json.loads(json.dumps(metric_set_to_json(metrics))))
    _assert_same_phases(metrics, through_json)
    with HistoryStore(history_path(tmp_path)) as store:
        run_id = store.begin_run(names=["steady"], scenarios=["steady"])
        store.add_interval(
            run_id, IntervalSnapshot(index=0, start=0.0, end=1.0, metrics=metrics, wall_time=1.7e9)
        )
        (stored,) = store.intervals(run_id)
        _assert_same_phases(metrics, stored.metrics)
        _assert_same_phases(metrics, store.totals(run_id))


# --- a real run -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[FixtureServer]:
    with fixture_server() as srv:
        yield srv


def test_a_real_run_times_every_request(server: FixtureServer) -> None:
    """Needs the worker to hand every response's phases to `add_phases` (it does since the
    lean client times them)."""
    result = run_toml(
        f"""
[target]
base_url = "{server.url}"
[scenarios.s]
executor = "shared-iterations"
vus = 2
iterations = 30
[[scenarios.s.requests]]
name = "slow"
path = "/sleep/5"
[[scenarios.s.requests]]
name = "broken"
path = "/status/503"
""",
        ["s"],
    )
    totals = result.totals
    reqs = totals.select("http_reqs")
    assert reqs is not None and reqs.value == 60  # type: ignore[union-attr]
    trends = {m: totals.select(m) for m in (*K6_PHASES, "http_req_duration")}
    assert all(isinstance(t, Trend) and t.count == 60 for t in trends.values())
    # k6's http_req_duration is sending + waiting + receiving; blocking and connecting apart.
    parts = [trends[m] for m in ("http_req_sending", "http_req_waiting", "http_req_receiving")]
    total = trends["http_req_duration"]
    assert isinstance(total, Trend)
    assert sum(t.total for t in parts) == pytest.approx(total.total, rel=1e-9)  # type: ignore[union-attr]
    slow = totals.select("http_req_waiting", (("name", "slow"),))
    assert isinstance(slow, Trend) and slow.min >= 5.0
    assert trends["http_req_tls_handshaking"].max == 0.0  # type: ignore[union-attr]
    # Two VUs, keep-alive: at most a connection or two per VU paid a connect.
    connecting = trends["http_req_connecting"]
    assert isinstance(connecting, Trend) and connecting.percentile(50) == 0.0


def test_thresholds_on_the_phases_are_accepted_and_exportable_to_k6() -> None:
    config = parse_config(
        CONFIG_TEXT
        + """
[scenarios.steady.thresholds]
http_req_blocked = ["p(95)<10"]
http_req_tls_handshaking = ["max<100"]
"http_req_waiting{name:home}" = ["med<50"]
""",
        "test.toml",
    )
    metrics = {spec.metric for spec in config.scenarios["steady"].thresholds}
    assert metrics == {"http_req_blocked", "http_req_tls_handshaking", "http_req_waiting"}
    assert set(K6_PHASES) <= K6_METRICS
    with pytest.raises(ConfigError, match="http_req_connecting"):
        parse_config(
            CONFIG_TEXT + '[scenarios.steady.thresholds]\nhttp_req_connecting = ["rate<0.1"]\n',
            "test.toml",
        )
