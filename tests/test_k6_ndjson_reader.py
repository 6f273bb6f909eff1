"""Reading k6's `--out json` NDJSON while it is written: partial lines, bucketing, exact totals."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections import Counter as Tally
from pathlib import Path

import pytest

from ccplate_tui.config.model import ExecutorSpec, RequestSpec, ScenarioSpec
from ccplate_tui.config.thresholds import parse_threshold_entry
from ccplate_tui.k6.ndjson_reader import (
    IntervalBucketer,
    K6MetricDecl,
    K6NdjsonError,
    K6NdjsonReader,
    K6Point,
    K6RunEnded,
    NdjsonTail,
    follow_k6_ndjson,
    parse_record,
    parse_time,
)
from ccplate_tui.k6.scenario_progress import K6ProgressTracker
from ccplate_tui.load.engine import RunUpdate
from ccplate_tui.load.live import build_live_view
from ccplate_tui.load.metrics import Counter, Gauge, MetricSet, Rate, Trend
from ccplate_tui.load.snapshot import IntervalSnapshot

T0 = 1_800_000_000.0  # 2027-01-15T08:00:00Z


def stamp(offset: float) -> str:
    """Go's RFC3339Nano for T0 + offset (k6 writes nanoseconds)."""
    whole = int(offset)
    nanos = round((offset - whole) * 1e9)
    base = 1_800_000_000 + whole
    text = dt.datetime.fromtimestamp(base, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{nanos:09d}Z"


def metric_line(name: str, kind: str, contains: str = "default", thresholds=None) -> str:
    return json.dumps(
        {
            "type": "Metric",
            "data": {
                "name": name,
                "type": kind,
                "contains": contains,
                "thresholds": thresholds or [],
                "submetrics": None,
            },
            "metric": name,
        }
    )


def point_line(metric: str, offset: float, value: float, **tags: str) -> str:
    return json.dumps(
        {
            "metric": metric,
            "type": "Point",
            "data": {"time": stamp(offset), "value": value, "tags": tags},
        }
    )


def request_lines(offset: float, name: str, status: int, ms: float, scenario: str = "a") -> list:
    """The Points k6 writes for one request and its check, sharing one timestamp."""
    ok = 200 <= status < 400
    tags = {
        "expected_response": str(ok).lower(),
        "group": "",
        "method": "GET",
        "name": name,
        "proto": "HTTP/1.1",
        "scenario": scenario,
        "status": str(status),
        "url": name,
    }
    return [
        point_line("http_reqs", offset, 1, **tags),
        point_line("http_req_duration", offset, ms, **tags),
        point_line("http_req_blocked", offset, 0.01, **tags),
        point_line("http_req_failed", offset, 0 if ok else 1, **tags),
        point_line("data_sent", offset, 81, group="", scenario=scenario),
        point_line(
            "checks", offset, 1 if status == 200 else 0, check="is 200", group="", scenario=scenario
        ),
    ]


def build_stream(seconds: int = 6, per_second: int = 7) -> tuple[list[str], dict]:
    """A k6-like stream over `seconds`, and what a direct count of it gives."""
    lines = [
        metric_line("http_reqs", "counter"),
        metric_line("http_req_duration", "trend", "time", ["p(95)<100"]),
        metric_line(
            "http_req_failed",
            "rate",
            thresholds=[{"threshold": "rate<0.05", "abortOnFail": True, "delayAbortEval": None}],
        ),
        metric_line("checks", "rate"),
        metric_line("vus", "gauge"),
    ]
    expected: dict = {"reqs": Tally(), "failed": 0, "durations": [], "checks_ok": 0, "iters": 0}
    for second in range(seconds):
        lines.append(point_line("vus", second + 0.001, 2 + second % 2))
        for k in range(per_second):
            offset = second + (k + 0.5) / per_second
            name = "home" if k % 2 else "login"
            status = 500 if (second * per_second + k) % 10 == 3 else 200
            ms = 5.0 + (second * per_second + k) % 13
            lines.extend(request_lines(offset, name, status, ms))
            lines.append(point_line("iterations", offset, 1, group="", scenario="a"))
            expected["reqs"][name] += 1
            expected["failed"] += status >= 400
            expected["checks_ok"] += status == 200
            expected["durations"].append(ms)
            expected["iters"] += 1
    return lines, expected


def _drain(path: Path, interval: float = 1.0, **kw) -> list:
    stop = threading.Event()
    stop.set()
    return list(follow_k6_ndjson(path, interval, stop, **kw))


# --- records -------------------------------------------------------------------------------


def test_parse_time_reads_go_rfc3339_nano_with_z_or_offset() -> None:
    assert parse_time("2027-01-15T08:00:00.250000000Z") == pytest.approx(T0 + 0.25)
    assert parse_time("2027-01-15T08:00:00Z") == T0
    assert parse_time("2027-01-15T09:00:00.5+01:00") == pytest.approx(T0 + 0.5)
    assert parse_time(stamp(1.123456789)) == pytest.approx(T0 + 1.123456, abs=1e-6)


def test_parse_record_reads_points_and_metric_declarations(tmp_path: Path) -> None:
    point = parse_record(point_line("http_reqs", 2.5, 1, name="x", scenario="a"), tmp_path, 1)
    assert point == K6Point(
        "http_reqs", pytest.approx(T0 + 2.5), 1.0, (("name", "x"), ("scenario", "a"))
    )
    decl = parse_record(metric_line("http_req_duration", "trend", "time", ["p(95)<1"]), tmp_path, 2)
    assert decl == K6MetricDecl("http_req_duration", "trend", "time", ("p(95)<1",))
    assert parse_record(b"   ", tmp_path, 3) is None


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"metric":"http_reqs","type":"Point","data":{"time":"2027', "column"),
        ("[1, 2]", "expected a JSON object"),
        ('{"type":"Sample"}', "unknown record type 'Sample'"),
        ('{"metric":"http_reqs","type":"Point","data":{"value":1}}', "data.time"),
        ('{"metric":"http_reqs","type":"Point","data":{"time":"yesterday","value":1}}', "RFC 3339"),
        (
            '{"metric":"http_reqs","type":"Point","data":{"time":"2027-01-15T08:00:00Z","value":"1"}}',
            "number",
        ),
        (
            '{"metric":"http_reqs","type":"Point","data":{"time":"2027-01-15T08:00:00Z","value":3,'
            '"tags":{},"metadata":{"aggregation":"interval"}}}',
            "per-interval aggregate",
        ),
    ],
)
def test_bad_records_name_the_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "k6.json"
    with pytest.raises(K6NdjsonError) as caught:
        parse_record(line, path, 17)
    assert str(caught.value).startswith(f"{path}:17: ")
    assert message in str(caught.value)


# --- tailing -------------------------------------------------------------------------------


def test_tail_holds_back_a_partial_line_until_its_newline(tmp_path: Path) -> None:
    path = tmp_path / "k6.json"
    tail = NdjsonTail(path)
    assert tail.read() == []  # no file yet: nothing, no error
    first = point_line("http_reqs", 0.1, 1)
    second = point_line("http_reqs", 0.2, 1)
    with path.open("w") as out:
        out.write(first + "\n" + second[:25])
        out.flush()
        assert tail.read() == [(1, first.encode())]
        assert tail.read() == []  # the half line waits
        out.write(second[25:])
        out.flush()
        assert tail.read() == []  # complete text, but no newline yet
        out.write("\n")
        out.flush()
        assert tail.read() == [(2, second.encode())]
        out.write('{"metric":"http_')
        out.flush()
    assert tail.read() == []
    assert tail.rest() == (3, b'{"metric":"http_')
    tail.close()


def test_tail_reads_a_large_file_in_chunks(tmp_path: Path) -> None:
    path = tmp_path / "k6.json"
    path.write_text("".join(point_line("http_reqs", i / 100, 1) + "\n" for i in range(300)))
    tail = NdjsonTail(path)
    lines = tail.read(limit=4096)
    assert tail.more and 0 < len(lines) < 300
    while tail.more:
        lines += tail.read(limit=4096)
    assert [n for n, _ in lines] == list(range(1, 301))
    tail.close()


def test_a_truncated_file_is_an_error_not_garbage(tmp_path: Path) -> None:
    path = tmp_path / "k6.json"
    path.write_text(point_line("http_reqs", 0.1, 1) + "\n" + point_line("http_reqs", 0.2, 1) + "\n")
    tail = NdjsonTail(path)
    assert len(tail.read()) == 2
    path.write_text("")  # another k6 run reopened the file
    with pytest.raises(K6NdjsonError, match="shrank"):
        tail.read()
    tail.close()


# --- bucketing ----------------------------------------------------------------------------


def _point(metric: str, offset: float, value: float, **tags: str) -> K6Point:
    return K6Point(metric, T0 + offset, value, tuple(sorted(tags.items())))


def test_points_land_in_the_interval_of_their_timestamp() -> None:
    bucketer = IntervalBucketer(1.0, lateness=0.5)
    for offset in (0.0, 0.4, 0.99, 1.2, 2.6):
        bucketer.add(_point("http_reqs", offset, 1, name="x"))
    ready = bucketer.ready()  # latest is 2.6: bucket 0 (ends 1.0) and 1 (ends 2.0) are complete
    assert [(s.index, s.start, s.end) for s in ready] == [(0, 0.0, 1.0), (1, 1.0, 2.0)]
    assert [s.metrics.select("http_reqs").value for s in ready] == [3, 1]
    assert ready[0].wall_time == T0 + 1.0
    assert bucketer.ready() == []
    rest = bucketer.flush()
    assert [(s.index, s.start) for s in rest] == [(2, 2.0)]
    assert rest[0].end == pytest.approx(2.6)  # the last interval ends at the last Point


def test_a_late_point_joins_the_oldest_open_interval_and_nothing_is_lost() -> None:
    bucketer = IntervalBucketer(1.0, lateness=0.0)
    bucketer.add(_point("http_reqs", 0.1, 1))
    bucketer.add(_point("http_reqs", 2.2, 1))
    first = bucketer.ready()
    assert [s.index for s in first] == [0, 1]
    bucketer.add(_point("http_reqs", 0.5, 1))  # belongs to interval 0, already handed out
    rest = bucketer.flush()
    assert rest[0].index == 2 and rest[0].metrics.select("http_reqs").value == 2
    assert (
        sum(s.metrics.select("http_reqs").value for s in [*first, *rest] if s.metrics.series) == 3
    )


def test_metric_kinds_become_the_engine_sinks() -> None:
    bucketer = IntervalBucketer(10.0)
    for value in (3.0, 1.0, 2.0):
        bucketer.add(_point("vus", 0.1, value))
    for ms in (10.0, 30.0):
        bucketer.add(_point("http_req_duration", 0.2, ms, name="x"))
    for failed in (1, 0, 0, 1):
        bucketer.add(_point("http_req_failed", 0.3, failed, name="x"))
    bucketer.add(_point("data_received", 0.4, 1000, scenario="a"))
    bucketer.add(_point("data_received", 0.5, 24, scenario="a"))
    [snapshot] = bucketer.flush()
    vus = snapshot.metrics.select("vus")
    assert isinstance(vus, Gauge) and (vus.value, vus.min, vus.max) == (2.0, 1.0, 3.0)
    trend = snapshot.metrics.select("http_req_duration")
    assert isinstance(trend, Trend) and (trend.count, trend.avg, trend.max) == (2, 20.0, 30.0)
    rate = snapshot.metrics.select("http_req_failed")
    assert isinstance(rate, Rate) and (rate.passes, rate.total) == (2, 4)
    received = snapshot.metrics.select("data_received", (("scenario", "a"),))
    assert isinstance(received, Counter) and received.value == 1024


def test_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="greater than 0"):
        IntervalBucketer(0)


# --- following a file as it is written ------------------------------------------------------


def test_following_a_file_written_in_pieces_gives_exact_totals(tmp_path: Path) -> None:
    lines, expected = build_stream()
    text = "".join(line + "\n" for line in lines)
    path = tmp_path / "k6.json"
    path.write_text("")
    stop = threading.Event()
    updates = follow_k6_ndjson(path, 1.0, stop, lateness=0.5, poll=0.01)
    # Write the first ~45% of the stream, cutting a line in half.
    cut = int(len(text) * 0.45)
    with path.open("a") as out:
        out.write(text[:cut])
        out.flush()
        seen = [next(updates)]  # arrives while the writer is still mid-line: live, no stop yet
        assert isinstance(seen[0], RunUpdate) and seen[0].snapshot.index == 0
        out.write(text[cut:])
        out.flush()
    stop.set()
    seen.extend(updates)
    *live, end = seen
    assert isinstance(end, K6RunEnded) and end.reason == "stopped"
    assert all(isinstance(u, RunUpdate) for u in live)
    assert [u.snapshot.index for u in live] == list(range(len(live))) == list(range(6))
    assert [u.snapshot.start for u in live] == [float(i) for i in range(6)]
    # Every interval's own figures add up to what a direct count of the file gives.
    by_interval = MetricSet()
    for update in live:
        by_interval.accumulate(update.snapshot.metrics)
    for totals in (by_interval, end.totals):
        assert totals.select("http_reqs").value == sum(expected["reqs"].values())
        for name, count in expected["reqs"].items():
            assert totals.select("http_reqs", (("name", name),)).value == count
        failed = totals.select("http_req_failed")
        assert (failed.passes, failed.total) == (expected["failed"], sum(expected["reqs"].values()))
        checks = totals.select("checks", (("check", "is 200"),))
        assert checks.passes == expected["checks_ok"]
        trend = totals.select("http_req_duration")
        assert trend.count == len(expected["durations"])
        assert trend.total == pytest.approx(sum(expected["durations"]))
        assert (trend.min, trend.max) == (min(expected["durations"]), max(expected["durations"]))
        assert totals.select("iterations", (("scenario", "a"),)).value == expected["iters"]
        # k6's timing phases are engine metrics too now: read like any trend.
        blocked = totals.select("http_req_blocked")
        assert blocked.count == len(expected["durations"])
        assert (blocked.min, blocked.max) == (0.01, 0.01)
    assert end.totals.select("vus").value == 3  # the last reading (second 5 -> 2 + 1)
    assert end.progress[0].iterations == expected["iters"] and end.progress[0].state == "done"
    assert end.started_at == pytest.approx(T0 + 0.001, abs=1e-6)
    assert end.intervals == 6
    assert not any("http_req_blocked" in note for note in end.notes)


def test_thresholds_declared_in_the_stream_are_evaluated_live(tmp_path: Path) -> None:
    lines, expected = build_stream()
    path = tmp_path / "k6.json"
    path.write_text("".join(line + "\n" for line in lines))
    *live, end = _drain(path)
    results = {r.spec.key + " " + r.spec.expr.source: r for r in end.thresholds}
    assert set(results) == {"http_req_duration p(95)<100", "http_req_failed rate<0.05"}
    failed_rate = expected["failed"] / sum(expected["reqs"].values())
    assert results["http_req_failed rate<0.05"].observed == pytest.approx(failed_rate)
    assert results["http_req_failed rate<0.05"].ok is False  # 10% failed
    assert results["http_req_failed rate<0.05"].spec.abort_on_fail
    assert results["http_req_duration p(95)<100"].ok is True
    assert live[0].thresholds, "thresholds light up from the first interval"


def test_thresholds_of_the_plan_override_the_stream_and_take_tag_filters(tmp_path: Path) -> None:
    lines, expected = build_stream()
    path = tmp_path / "k6.json"
    path.write_text("".join(line + "\n" for line in lines))
    specs = [
        parse_threshold_entry("http_reqs{name:home}", "count==" + str(expected["reqs"]["home"])),
        parse_threshold_entry("checks{scenario:a}", "rate>0.99"),
        parse_threshold_entry("http_req_duration{name:nobody}", "p(95)<100"),
    ]
    *_, end = _drain(path, thresholds=specs)
    assert [r.ok for r in end.thresholds] == [True, False, None]  # None: NO DATA, as our engine


def test_update_feeds_the_live_view_like_the_engine(tmp_path: Path) -> None:
    lines, expected = build_stream()
    path = tmp_path / "k6.json"
    path.write_text("".join(line + "\n" for line in lines))
    scenario = ScenarioSpec(
        "a",
        ExecutorSpec("constant-vus", vus=3, duration=6.0),
        (RequestSpec("GET", "/", "home"),),
    )
    *live, _ = _drain(path, scenarios=[scenario])
    view = build_live_view(live[-1], [scenario])
    assert view.total_requests == sum(expected["reqs"].values())
    assert {row.name: row.count for row in view.requests} == dict(expected["reqs"])
    assert view.iterations == expected["iters"]
    assert view.planned == 6.0
    assert view.interval_latency.count == 7


def test_an_unfinished_last_line_is_noted_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "k6.json"
    path.write_text(point_line("http_reqs", 0.1, 1) + "\n" + '{"metric":"http_reqs","ty')
    *_, end = _drain(path)
    assert end.totals.select("http_reqs").value == 1
    assert any(":2: ignored an unfinished last line" in note for note in end.notes)


def test_a_complete_last_line_without_newline_still_counts(tmp_path: Path) -> None:
    path = tmp_path / "k6.json"
    path.write_text(point_line("http_reqs", 0.1, 1) + "\n" + point_line("http_reqs", 0.2, 1))
    *_, end = _drain(path)
    assert end.totals.select("http_reqs").value == 2


def test_a_damaged_line_in_the_middle_stops_with_its_line_number(tmp_path: Path) -> None:
    path = tmp_path / "k6.json"
    good = point_line("http_reqs", 0.1, 1)
    path.write_text(f"{good}\n{good}\nnot json at all\n{good}\n")
    with pytest.raises(K6NdjsonError, match=r"k6\.json:3: column 1: not JSON"):
        _drain(path)


def test_custom_metrics_are_noted_once_and_skipped(tmp_path: Path) -> None:
    path = tmp_path / "k6.json"
    path.write_text(
        "".join(
            line + "\n"
            for line in [
                point_line("my_counter", 0.1, 1),
                point_line("my_counter", 0.2, 1),
                point_line("http_reqs", 0.3, 1),
            ]
        )
    )
    *_, end = _drain(path)
    assert [n for n in end.notes if "my_counter" in n] == [
        "k6 metric 'my_counter' is not tracked (custom metrics are not shown)"
    ]
    assert end.totals.metric_names() == ["http_reqs"]


def test_a_file_that_appears_later_is_waited_for(tmp_path: Path) -> None:
    path = tmp_path / "later.json"
    stop = threading.Event()
    reader = K6NdjsonReader(path, 1.0, lateness=0.0)
    snapshots = reader.snapshots(stop, poll=0.01)
    got: list[IntervalSnapshot] = []
    consumer = threading.Thread(target=lambda: got.extend(snapshots))
    consumer.start()
    path.write_text(point_line("http_reqs", 0.1, 1) + "\n" + point_line("http_reqs", 1.5, 1) + "\n")
    stop.set()
    consumer.join(timeout=30)
    assert not consumer.is_alive()
    assert [s.metrics.select("http_reqs").value for s in got] == [1, 1]


def test_an_idle_file_ends_the_stream_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "k6.json"
    path.write_text(point_line("http_reqs", 0.1, 1) + "\n")
    never = threading.Event()
    *_, end = list(follow_k6_ndjson(path, 1.0, never, idle_end=0.05, poll=0.01))
    assert end.reason == "idle" and end.totals.select("http_reqs").value == 1


def test_stopping_before_any_point_ends_empty(tmp_path: Path) -> None:
    updates = _drain(tmp_path / "never-written.json")
    assert len(updates) == 1
    end = updates[0]
    assert isinstance(end, K6RunEnded) and end.intervals == 0 and end.elapsed == 0.0
    assert end.totals.series == {} and end.started_at == 0.0


# --- progress ------------------------------------------------------------------------------


def _snapshot(end: float, metrics: MetricSet) -> IntervalSnapshot:
    return IntervalSnapshot(index=0, start=end - 1, end=end, metrics=metrics)


def test_progress_shares_k6_run_wide_vus_among_running_scenarios() -> None:
    fast = ScenarioSpec(
        "fast",
        ExecutorSpec("per-vu-iterations", vus=2, iterations=3),
        (RequestSpec("GET", "/", "a"),),
    )
    later = ScenarioSpec(
        "later",
        ExecutorSpec("constant-vus", vus=4, duration=5.0, start_time=2.0),
        (RequestSpec("GET", "/", "b"),),
    )
    tracker = K6ProgressTracker([fast, later])
    metrics = MetricSet()
    metrics.series[("vus", ())] = Gauge(2)
    metrics.series[("iterations", (("scenario", "fast"),))] = Counter(4)
    first = tracker.update(_snapshot(1.0, metrics))
    assert [(p.name, p.state, p.active_vus, p.iterations) for p in first] == [
        ("fast", "running", 2, 4),
        ("later", "waiting", 0, 0),
    ]
    assert first[0].iterations_planned == 6 and first[1].max_vus == 4
    metrics = MetricSet()
    metrics.series[("vus", ())] = Gauge(5)
    metrics.series[("iterations", (("scenario", "fast"),))] = Counter(2)
    metrics.series[("dropped_iterations", (("scenario", "other"),))] = Counter(3)
    second = tracker.update(_snapshot(3.0, metrics))
    assert [(p.name, p.state, p.active_vus) for p in second] == [
        ("fast", "done", 0),
        ("later", "running", 4),
        ("other", "running", 1),  # unknown to the plan: first seen in the stream
    ]
    assert second[2].dropped == 3 and second[1].elapsed == 1.0
    final = tracker.finish(3.5)
    assert {p.state for p in final} == {"done"} and sum(p.active_vus for p in final) == 0


def test_a_note_raised_after_the_last_interval_still_reaches_the_end(tmp_path: Path) -> None:
    path = tmp_path / "k6.json"
    cut = '{"metric":"http_reqs","type":"Po'  # k6 killed while writing its first line
    path.write_text(cut)
    [end] = _drain(path)
    assert isinstance(end, K6RunEnded) and end.intervals == 0
    assert end.notes == (f"{path}:1: ignored an unfinished last line ({len(cut)} bytes)",)
