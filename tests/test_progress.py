"""k6's scenario header and live progress lines, checked against k6's own output."""

from __future__ import annotations

import pytest

from ccplate_tui.config.model import ExecutorSpec, RequestSpec, ScenarioSpec, Stage
from ccplate_tui.load.metrics import MetricSet
from ccplate_tui.load.progress import (
    describe_executor,
    describe_scenarios,
    max_duration,
    max_vus,
    planned_duration,
    progress_lines,
    scenario_lines,
)
from ccplate_tui.load.snapshot import IntervalSnapshot, ScenarioProgress, WorkerHealth
from ccplate_tui.load.units_format import fixed_length_duration, go_duration

_REQUEST = RequestSpec(method="GET", path="/", name="GET /")


def scenario(name: str, **executor: object) -> ScenarioSpec:
    return ScenarioSpec(name=name, executor=ExecutorSpec(**executor), requests=(_REQUEST,))  # type: ignore[arg-type]


STEADY = scenario(
    "steady",
    executor="constant-arrival-rate",
    rate=20,
    time_unit=1.0,
    duration=3.0,
    pre_allocated_vus=5,
    max_vus=10,
)
RAMP = scenario(
    "ramp",
    executor="ramping-vus",
    start_vus=0,
    stages=(Stage(1.0, 3), Stage(1.0, 0)),
    graceful_ramp_down=0.0,
    start_time=1.0,
)
PER_VU = scenario("pervu", executor="per-vu-iterations", vus=2, iterations=3, max_duration=3.0)
SHARED = scenario("shared", executor="shared-iterations", vus=2, iterations=6, max_duration=600.0)
CONSTANT = scenario("const", executor="constant-vus", vus=2, duration=2.0)
RAMP_RATE = scenario(
    "rar",
    executor="ramping-arrival-rate",
    start_rate=5,
    time_unit=1.0,
    stages=(Stage(1.0, 20), Stage(1.0, 10)),
    pre_allocated_vus=2,
    max_vus=4,
)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (STEADY, "20.00 iterations/s for 3s (maxVUs: 5-10, gracefulStop: 30s)"),
        (
            RAMP,
            "Up to 3 looping VUs for 2s over 2 stages "
            "(gracefulRampDown: 0s, startTime: 1s, gracefulStop: 30s)",
        ),
        (PER_VU, "3 iterations for each of 2 VUs (maxDuration: 3s, gracefulStop: 30s)"),
        (SHARED, "6 iterations shared among 2 VUs (maxDuration: 10m0s, gracefulStop: 30s)"),
        (CONSTANT, "2 looping VUs for 2s (gracefulStop: 30s)"),
        (
            RAMP_RATE,
            "Up to 20.00 iterations/s for 2s over 2 stages (maxVUs: 2-4, gracefulStop: 30s)",
        ),
    ],
)
def test_descriptions_use_k6_wording_for_all_six_executors(
    spec: ScenarioSpec, expected: str
) -> None:
    assert describe_executor(spec) == expected


def test_description_edge_cases() -> None:
    no_stop = scenario("a", executor="constant-vus", vus=1, duration=90.0, graceful_stop=0.0)
    assert describe_executor(no_stop) == "1 looping VUs for 1m30s"
    per_minute = scenario(
        "b",
        executor="constant-arrival-rate",
        rate=30,
        time_unit=60.0,
        duration=3600.0,
        pre_allocated_vus=4,
        max_vus=4,
    )
    # maxVUs equal to preAllocatedVUs prints no range; the rate is per second.
    assert (
        describe_executor(per_minute)
        == "0.50 iterations/s for 1h0m0s (maxVUs: 4, gracefulStop: 30s)"
    )


def test_header_counts_overlapping_vus_and_latest_end() -> None:
    assert describe_scenarios([STEADY, RAMP]).splitlines() == [
        "     scenarios: (100.00%) 2 scenarios, 13 max VUs, 33s max duration (incl. graceful stop):",
        "              * steady: 20.00 iterations/s for 3s (maxVUs: 5-10, gracefulStop: 30s)",
        "              * ramp: Up to 3 looping VUs for 2s over 2 stages "
        "(gracefulRampDown: 0s, startTime: 1s, gracefulStop: 30s)",
    ]


def test_header_does_not_add_vus_of_scenarios_that_never_overlap() -> None:
    first = scenario("first", executor="constant-vus", vus=4, duration=10.0, graceful_stop=0.0)
    later = scenario(
        "later", executor="constant-vus", vus=6, duration=5.0, graceful_stop=0.0, start_time=10.0
    )
    header = describe_scenarios([first, later]).splitlines()[0]
    assert header.endswith("2 scenarios, 6 max VUs, 15s max duration (incl. graceful stop):")
    single = describe_scenarios([first]).splitlines()[0]
    assert "(100.00%) 1 scenario, 4 max VUs, 10s max duration" in single


@pytest.mark.parametrize(
    ("spec", "vus", "planned", "maximum"),
    [
        (STEADY, 10, 3.0, 33.0),
        (RAMP, 3, 2.0, 32.0),
        (PER_VU, 2, 3.0, 33.0),
        (SHARED, 2, 600.0, 630.0),
        (CONSTANT, 2, 2.0, 32.0),
        (RAMP_RATE, 4, 2.0, 32.0),
    ],
)
def test_max_vus_and_durations(
    spec: ScenarioSpec, vus: int, planned: float, maximum: float
) -> None:
    assert max_vus(spec) == vus
    assert planned_duration(spec) == planned
    assert max_duration(spec) == maximum


def test_unknown_executor_is_named_in_the_error() -> None:
    bad = scenario("odd", executor="externally-controlled")
    with pytest.raises(
        ValueError, match="scenario 'odd': unknown executor 'externally-controlled'"
    ):
        describe_executor(bad)


def _snapshot(
    progress: tuple[ScenarioProgress, ...], health: WorkerHealth | None = None
) -> IntervalSnapshot:
    metrics = MetricSet()
    ok = (
        ("expected_response", "true"),
        ("name", "GET /"),
        ("scenario", "steady"),
        ("status", "200"),
    )
    bad = (
        ("expected_response", "false"),
        ("name", "GET /"),
        ("scenario", "steady"),
        ("status", "500"),
    )
    for i in range(19):
        metrics.sink("http_reqs", ok).value += 1
        metrics.sink("http_req_duration", ok).add(1.0 + i * 0.05)
        metrics.sink("http_req_failed", ok).add(False)
    metrics.sink("http_reqs", bad).value += 1
    metrics.sink("http_req_duration", bad).add(100.0)
    metrics.sink("http_req_failed", bad).add(True)
    return IntervalSnapshot(
        index=2, start=1.0, end=2.0, metrics=metrics, progress=progress, health=health
    )


def test_progress_lines_match_k6_non_tty_layout() -> None:
    progress = (
        ScenarioProgress("steady", "running", 2.0, 3.0, 0, 5, 40, 0, 0),
        ScenarioProgress("ramp", "running", 1.0, 2.0, 2, 3, 9, 0, 0, stage=0),
    )
    lines = progress_lines(_snapshot(progress), 2.0, scenarios=[STEADY, RAMP])
    assert lines[0].startswith(
        "running (02.0s), 02/08 VUs, 49 complete and 0 interrupted iterations | "
    )
    # 20 requests in a 1 s interval, one failed; p95 of 1.0..1.9 ms and 100 ms (exact in HDR).
    assert lines[0].endswith(" | 20.0 req/s  p95=1.9ms  errors 5.00%")
    assert lines[1:] == [
        "steady   [  67% ] 00/05 VUs  2.0s/3s  20.00 iters/s",
        "ramp     [  50% ] 2/3 VUs    1.0s/2.0s",
    ]


def test_iteration_executors_show_iteration_counts() -> None:
    progress = (
        ScenarioProgress("pervu", "running", 0.5, 3.0, 2, 2, 3, 0, 0, iterations_planned=6),
        ScenarioProgress("shared", "done", 2.0, 600.0, 0, 2, 6, 0, 0, iterations_planned=6),
        ScenarioProgress("const", "done", 2.0, 2.0, 0, 2, 30, 1, 0),
    )
    lines = scenario_lines(progress, [PER_VU, SHARED, CONSTANT])
    assert lines == [
        "pervu    [  50% ] 2 VUs  0.5s/3s         3/6 iters, 3 per VU",
        "shared   [ 100% ] 2 VUs  00m02.0s/10m0s  6/6 shared iters",
        "const    [ 100% ] 2 VUs  2s",
    ]


def test_ramping_arrival_rate_shows_the_current_target_rate() -> None:
    # Half-way through the first stage the rate is half-way from 5 to 20 iterations/s.
    progress = (ScenarioProgress("rar", "running", 0.5, 2.0, 1, 2, 4, 0, 0, stage=0),)
    assert scenario_lines(progress, [RAMP_RATE]) == [
        "rar   [  25% ] 1/2 VUs  0.5s/2s  12.50 iters/s"
    ]


def test_marks_replace_the_blank_status() -> None:
    progress = (
        ScenarioProgress("steady", "done", 3.0, 3.0, 0, 5, 60, 0, 0),
        ScenarioProgress("ramp", "stopping", 1.5, 2.0, 1, 3, 9, 2, 0),
    )
    lines = scenario_lines(
        progress, {"steady": STEADY, "ramp": RAMP}, marks={"steady": "✓", "ramp": "✗"}
    )
    assert lines == [
        "steady ✓ [ 100% ] 00/05 VUs  3s  20.00 iters/s",
        "ramp   ✗ [  75% ] 1/3 VUs    1.5s/2.0s",
    ]


def test_saturated_generator_is_flagged_and_lines_have_no_cursor_codes() -> None:
    progress = (ScenarioProgress("steady", "running", 2.0, 3.0, 4, 5, 40, 0, 0),)
    health = WorkerHealth(workers=2, cpu_percent=97.0, loop_lag_ms=80.0)
    lines = progress_lines(_snapshot(progress, health), 2.0, scenarios=[STEADY])
    assert lines[0].endswith(
        "[!] generator saturated: worker CPU 97%, loop lag 80 ms — latencies include its own delay"
    )
    calm = progress_lines(_snapshot(progress, WorkerHealth(2, 40.0, 3.0)), 2.0, scenarios=[STEADY])
    assert "[!]" not in calm[0]
    assert all("\x1b" not in line and "\r" not in line for line in lines + calm)


def _warning(health: WorkerHealth) -> str:
    progress = (ScenarioProgress("steady", "running", 2.0, 3.0, 4, 5, 40, 0, 0),)
    line = progress_lines(_snapshot(progress, health), 2.0, scenarios=[STEADY])[0]
    return line.partition("  [!] ")[2]


def test_a_busy_host_is_named_as_the_cause_not_the_generator() -> None:
    # The reported case: the generator used a few % while other processes held the host.
    health = WorkerHealth(
        workers=2,
        cpu_percent=5.0,
        loop_lag_ms=80.0,
        cpu_total_percent=8.0,
        host_cpu_percent=97.0,
        host_load_1m=3.1,
        host_cores=2,
    )
    assert health.warning is not None and health.warning.cause == "host"
    assert _warning(health) == (
        "host busy: CPU 97% (load 3.1 on 2 cores); the generator uses 4% — latencies include "
        "the host's queueing"
    )
    # A load average far above the cores is a busy host even when this interval's CPU is lower.
    queued = WorkerHealth(1, 3.0, 2.0, host_cpu_percent=60.0, host_load_1m=9.0, host_cores=4)
    assert _warning(queued).startswith("host busy: CPU 60% (load 9.0 on 4 cores);")
    assert _warning(WorkerHealth(1, 3.0, 2.0, host_load_1m=2.5, host_cores=1)).startswith(
        "host busy: load 2.5 on 1 core;"
    )


def test_a_worker_near_a_full_core_comes_before_a_busy_host() -> None:
    health = WorkerHealth(
        workers=2,
        cpu_percent=99.0,
        loop_lag_ms=12.0,
        cpu_total_percent=180.0,
        host_cpu_percent=98.0,
        host_load_1m=2.4,
        host_cores=2,
    )
    assert _warning(health) == (
        "generator saturated: worker CPU 99% — latencies include its own delay"
    )


def test_event_loop_lag_on_a_quiet_host_is_named_as_such() -> None:
    health = WorkerHealth(
        1, 20.0, 180.0, 20.0, host_cpu_percent=30.0, host_load_1m=0.4, host_cores=2
    )
    assert health.warning is not None and health.warning.cause == "loop_lag"
    assert _warning(health) == ("event-loop lag 180 ms — latencies include the generator's delay")
    # Without host figures (an older recording) the lag is still reported as lag.
    assert _warning(WorkerHealth(1, 20.0, 180.0)).startswith("event-loop lag 180 ms")


@pytest.mark.parametrize(
    "health",
    [
        WorkerHealth(2, 89.0, 49.0, 120.0, host_cpu_percent=89.0, host_load_1m=3.9, host_cores=2),
        WorkerHealth(1, 2.0, 1.0),
    ],
)
def test_below_every_limit_there_is_no_warning(health: WorkerHealth) -> None:
    assert health.warning is None and not health.saturated
    assert _warning(health) == ""


def test_progress_without_specs_or_requests_still_renders() -> None:
    progress = (ScenarioProgress("x", "waiting", 0.0, 10.0, 0, 0, 0, 0, 0),)
    snapshot = IntervalSnapshot(index=0, start=0.0, end=1.0, metrics=MetricSet(), progress=progress)
    lines = progress_lines(snapshot, 0.4)
    assert lines == [
        "running (0.4s), 0/0 VUs, 0 complete and 0 interrupted iterations | 0.0 req/s  p95=-  errors -",
        "x   [   0% ] 0/0 VUs  00.0s/10s",
    ]


@pytest.mark.parametrize(
    ("seconds", "maximum", "expected"),
    [(2.0, 33.0, "02.0s"), (0.5, 600.0, "00m00.5s"), (2.04, 3.0, "2.0s"), (65.0, 3.0, "1m05.0s")],
)
def test_fixed_length_clock(seconds: float, maximum: float, expected: str) -> None:
    assert fixed_length_duration(seconds, maximum) == expected


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(0, "0s"), (0.5, "500ms"), (33, "33s"), (90, "1m30s"), (3600, "1h0m0s"), (1.25, "1.25s")],
)
def test_go_duration_strings(seconds: float, expected: str) -> None:
    assert go_duration(seconds) == expected
