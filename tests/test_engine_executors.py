"""The engine's executors on real worker processes against a loopback fixture server."""

from __future__ import annotations

import json

import pytest

from ccplate_tui.load.metrics import Counter, Gauge, Rate, Trend
from tests.engine_helpers import run_toml
from tests.http_fixtures import fixture_server


@pytest.fixture(scope="module")
def server():
    with fixture_server() as srv:
        yield srv


def _toml(url: str, body: str) -> str:
    return f'[target]\nbase_url = "{url}"\n[options]\ninterval = "250ms"\n' + body


def _iterations(result, scenario: str) -> int:
    sink = result.totals.select("iterations", (("scenario", scenario),))
    return int(sink.value) if isinstance(sink, Counter) else 0


def _dropped(result, scenario: str) -> int:
    sink = result.totals.select("dropped_iterations", (("scenario", scenario),))
    return int(sink.value) if isinstance(sink, Counter) else 0


@pytest.mark.parametrize("workers", [1, 2])
def test_constant_arrival_rate_starts_every_planned_iteration(server, workers: int) -> None:
    result = run_toml(
        _toml(
            server.url,
            """
[scenarios.car]
executor = "constant-arrival-rate"
rate = 20
timeUnit = "1s"
duration = "2s"
preAllocatedVUs = 4
[[scenarios.car.requests]]
path = "/ok"
""",
        ),
        workers=workers,
    )
    assert _iterations(result, "car") == 40
    assert _dropped(result, "car") == 0
    assert result.totals.select("http_reqs").value == 40  # type: ignore[union-attr]
    assert result.stopped is None


def test_an_arrival_without_a_free_vu_is_dropped_never_queued(server) -> None:
    result = run_toml(
        _toml(
            server.url,
            """
[scenarios.busy]
executor = "constant-arrival-rate"
rate = 50
duration = "2s"
preAllocatedVUs = 1
maxVUs = 2
gracefulStop = "1s"
[[scenarios.busy.requests]]
path = "/sleep/300"
""",
        )
    )
    done, dropped = _iterations(result, "busy"), _dropped(result, "busy")
    assert done + dropped == 100
    assert dropped >= 70
    assert any("Insufficient VUs, reached 2 active VUs" in note for note in result.notes)
    duration = result.totals.select("http_req_duration")
    assert isinstance(duration, Trend)
    # Queued arrivals would wait for a VU and their latency would grow to seconds.
    assert duration.percentile(99) < 1500
    vus_max = result.totals.select("vus_max")
    assert isinstance(vus_max, Gauge) and vus_max.max == 2


def test_ramping_arrival_rate_plans_the_area_under_the_curve(server) -> None:
    result = run_toml(
        _toml(
            server.url,
            """
[scenarios.ramp]
executor = "ramping-arrival-rate"
startRate = 0
stages = [{ duration = "1s", target = 20 }, { duration = "1s", target = 20 }]
preAllocatedVUs = 5
[[scenarios.ramp.requests]]
path = "/ok"
""",
        ),
        workers=2,
    )
    # Area 10 + 20 = 30; the 30th would start exactly at the end, where nothing starts.
    assert _iterations(result, "ramp") + _dropped(result, "ramp") == 29


def test_shared_iterations_are_exact_across_workers(server) -> None:
    result = run_toml(
        _toml(
            server.url,
            """
[scenarios.shared]
executor = "shared-iterations"
vus = 3
iterations = 25
[[scenarios.shared.requests]]
path = "/ok"
""",
        ),
        workers=2,
    )
    assert _iterations(result, "shared") == 25
    assert result.progress[0].iterations == 25
    assert result.progress[0].iterations_planned == 25


def test_per_vu_iterations_runs_each_vu_n_times(server) -> None:
    result = run_toml(
        _toml(
            server.url,
            """
[scenarios.each]
executor = "per-vu-iterations"
vus = 3
iterations = 4
[[scenarios.each.requests]]
path = "/ok"
[[scenarios.each.requests]]
path = "/echo"
""",
        ),
        workers=2,
    )
    assert _iterations(result, "each") == 12
    assert result.totals.select("http_reqs").value == 24  # type: ignore[union-attr]


def test_constant_vus_keeps_every_vu_busy(server) -> None:
    result = run_toml(
        _toml(
            server.url,
            """
[scenarios.steady]
executor = "constant-vus"
vus = 5
duration = "1s"
[[scenarios.steady.requests]]
path = "/sleep/20"
""",
        )
    )
    vus = result.totals.select("vus")
    assert isinstance(vus, Gauge) and vus.max == 5
    # 5 VUs x 1 s / 20 ms per iteration: far more than 5, far fewer than unbounded.
    assert 25 <= _iterations(result, "steady") <= 260


def test_ramping_vus_follows_its_stages(server) -> None:
    updates: list = []
    result = run_toml(
        _toml(
            server.url,
            """
[scenarios.ramp]
executor = "ramping-vus"
startVUs = 0
stages = [
  { duration = "500ms", target = 6 },
  { duration = "500ms", target = 6 },
  { duration = "500ms", target = 0 },
]
gracefulRampDown = "0s"
[[scenarios.ramp.requests]]
path = "/sleep/10"
""",
        ),
        updates=updates,
    )
    vus = result.totals.select("vus")
    assert isinstance(vus, Gauge) and vus.max == 6
    assert result.progress[0].active_vus == 0
    stages_seen = {u.snapshot.progress[0].stage for u in updates}
    assert {0, 1, 2} <= stages_seen


def test_graceful_stop_interrupts_iterations_that_run_over(server) -> None:
    result = run_toml(
        _toml(
            server.url,
            """
[scenarios.slow]
executor = "constant-vus"
vus = 2
duration = "500ms"
gracefulStop = "200ms"
[[scenarios.slow.requests]]
path = "/sleep/3000"
""",
        )
    )
    assert result.progress[0].interrupted == 2
    assert _iterations(result, "slow") == 0
    assert result.duration < 2.5


def test_start_time_delays_a_scenario(server) -> None:
    updates: list = []
    result = run_toml(
        _toml(
            server.url,
            """
[scenarios.first]
executor = "constant-vus"
vus = 1
duration = "1500ms"
[[scenarios.first.requests]]
path = "/sleep/5"
[scenarios.later]
executor = "constant-vus"
vus = 1
duration = "500ms"
startTime = "1s"
[[scenarios.later.requests]]
path = "/sleep/5"
""",
        ),
        updates=updates,
    )
    assert _iterations(result, "later") > 0
    early = [u for u in updates if u.snapshot.end <= 0.75]
    assert early, "expected snapshots in the first 750 ms"
    for update in early:
        assert update.snapshot.metrics.select("http_reqs", (("scenario", "later"),)) is None
        assert update.snapshot.progress[1].state == "waiting"


def test_scenarios_running_together_keep_their_own_thresholds(server) -> None:
    result = run_toml(
        _toml(
            server.url,
            """
[scenarios.good]
executor = "per-vu-iterations"
vus = 2
iterations = 5
thresholds = { http_req_failed = ["rate<0.01"] }
[[scenarios.good.requests]]
path = "/ok"
[scenarios.bad]
executor = "per-vu-iterations"
vus = 2
iterations = 5
thresholds = { http_req_failed = ["rate<0.01"] }
[[scenarios.bad.requests]]
path = "/status/500"
""",
        )
    )
    by_key = {r.spec.key: r for r in result.thresholds}
    assert by_key["http_req_failed{scenario:good}"].ok is True
    assert by_key["http_req_failed{scenario:bad}"].ok is False
    assert by_key["http_req_failed{scenario:bad}"].observed == 1.0
    assert result.thresholds_failed


def test_a_threshold_without_data_fails_the_run(server) -> None:
    result = run_toml(
        _toml(
            server.url,
            """
[thresholds]
"http_req_duration{name:never-sent}" = ["p(95)<500"]
[scenarios.one]
executor = "per-vu-iterations"
[[scenarios.one.requests]]
path = "/ok"
""",
        )
    )
    (only,) = result.thresholds
    assert only.ok is None
    assert result.thresholds_failed


def test_open_model_latency_is_corrected_and_the_raw_figure_kept(server) -> None:
    result = run_toml(
        _toml(
            server.url,
            """
[scenarios.open]
executor = "constant-arrival-rate"
rate = 20
duration = "1s"
preAllocatedVUs = 2
[[scenarios.open.requests]]
path = "/sleep/10"
[scenarios.closed]
executor = "per-vu-iterations"
[[scenarios.closed.requests]]
path = "/ok"
""",
        )
    )
    corrected = result.totals.select("http_req_duration", (("scenario", "open"),))
    raw = result.totals.select("http_req_duration_uncorrected", (("scenario", "open"),))
    assert isinstance(corrected, Trend) and isinstance(raw, Trend)
    assert corrected.count == raw.count == 20
    assert corrected.total >= raw.total - 20 * 1.0  # at most the 1 ms early wake per request
    assert raw.percentile(50) >= 10.0
    assert result.totals.select("http_req_duration_uncorrected", (("scenario", "closed"),)) is None


def test_requests_carry_templates_bodies_checks_and_tags(server) -> None:
    result = run_toml(
        _toml(
            server.url,
            """
[scenarios.shapes]
executor = "per-vu-iterations"
vus = 2
iterations = 2
tags = { team = "web" }
[[scenarios.shapes.requests]]
name = "echo"
method = "POST"
path = "/echo"
query = { vu = "${vu}" }
headers = { X-Test = "it-${iteration}" }
json = { model = "LoadTest${vu}" }
group = "Echo"
checks = { "echoed json" = 'body contains "LoadTest"', "query has vu" = 'body matches "\\"query\\": \\{\\"vu\\": \\"[12]\\"\\}"', "fast" = "duration < 5000" }
[[scenarios.shapes.requests]]
name = "upload"
method = "POST"
path = "/upload"
multipart = { note = "hello", file = { size = "1MB", filename = "u.bin" } }
checks = { "file arrived whole" = "json .file.size == 1000000", "created" = "status == 201" }
""",
        )
    )
    checks = result.totals.select("checks")
    assert isinstance(checks, Rate)
    assert checks.total == 4 * 5 and checks.passes == checks.total
    names = result.totals.tag_values("http_reqs", "name")
    assert names == ["echo", "upload"]
    assert result.totals.tag_values("http_reqs", "team") == ["web"]
    assert result.totals.tag_values("http_reqs", "group") == ["::Echo"]
    group = result.totals.select("group_duration", (("group", "::Echo"),))
    assert isinstance(group, Trend) and group.count == 4
    sent = result.totals.select("data_sent", (("name", "upload"),))
    assert isinstance(sent, Counter) and sent.value > 4 * 1_000_000


def test_summary_export_of_a_real_run_round_trips_as_json(server) -> None:
    from ccplate_tui.load.summary_export import summary_export

    result = run_toml(
        _toml(
            server.url,
            """
[scenarios.one]
executor = "per-vu-iterations"
vus = 2
iterations = 3
thresholds = { http_req_duration = ["p(95)<5000"] }
[[scenarios.one.requests]]
path = "/ok"
checks = { "is 200" = "status == 200" }
""",
        )
    )
    exported = json.loads(json.dumps(summary_export(result)))
    assert exported["metrics"]["http_reqs"]["count"] == 6
    assert exported["metrics"]["iterations"]["count"] == 6
    assert exported["root_group"]["checks"]["is 200"]["passes"] == 6


def test_http2_scenarios_go_through_httpx_and_others_through_the_lean_client(server) -> None:
    result = run_toml(
        _toml(
            server.url,
            """
[scenarios.h2]
executor = "per-vu-iterations"
iterations = 3
http2 = true
[[scenarios.h2.requests]]
path = "/echo"
checks = { "sent by httpx" = 'body contains "ccplate-tui/0.1 httpx"' }
[scenarios.plain]
executor = "per-vu-iterations"
iterations = 3
[[scenarios.plain.requests]]
path = "/echo"
checks = { "sent by the lean client" = 'body contains "ccplate-tui" and not body contains "httpx"' }
""",
        )
    )
    checks = result.totals.select("checks")
    assert isinstance(checks, Rate)
    assert checks.total == 6 and checks.passes == 6


_LONG_ITERATIONS = """
[scenarios.slow]
executor = "constant-vus"
vus = 2
duration = "30s"
gracefulStop = "10s"
[[scenarios.slow.requests]]
path = "/sleep/600"
[scenarios.later]
executor = "constant-vus"
vus = 1
duration = "5s"
startTime = "20s"
[[scenarios.later.requests]]
path = "/ok"
"""


def _stop_after_first_interval(server, *, graceful: bool):
    from ccplate_tui.config.loader import parse_config
    from ccplate_tui.load.engine import LoadRun, resolve_plan

    config = parse_config(_toml(server.url, _LONG_ITERATIONS), "stop.toml")
    run = LoadRun(config, resolve_plan(config, []), workers=1)
    run.observers.append(lambda update: run.stop(graceful=graceful))
    return run.run()


def test_a_graceful_stop_lets_running_iterations_finish(server) -> None:
    result = _stop_after_first_interval(server, graceful=True)
    slow = next(p for p in result.progress if p.name == "slow")
    assert slow.interrupted == 0
    assert slow.iterations >= 2  # the two iterations in flight when the stop came finished
    assert result.stopped == "interrupted"
    # Neither the 30 s duration nor the waiting scenario's startTime held the run up.
    assert result.duration < 10
    assert next(p for p in result.progress if p.name == "later").iterations == 0


def test_an_abort_interrupts_running_iterations(server) -> None:
    result = _stop_after_first_interval(server, graceful=False)
    slow = next(p for p in result.progress if p.name == "slow")
    assert slow.interrupted == 2
    assert result.duration < 10


def test_head_requests_are_answered_without_a_body(server) -> None:
    result = run_toml(
        _toml(
            server.url,
            """
[scenarios.head]
executor = "per-vu-iterations"
iterations = 3
[[scenarios.head.requests]]
method = "HEAD"
path = "/ok"
checks = { "answered" = "status == 200", "no body" = 'not body contains "ok"' }
""",
        )
    )
    checks = result.totals.select("checks")
    assert isinstance(checks, Rate) and checks.total == 6 and checks.passes == 6
    assert result.totals.tag_values("http_reqs", "method") == ["HEAD"]
    received = result.totals.select("data_received")
    assert isinstance(received, Counter) and received.value > 0
