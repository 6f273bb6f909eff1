"""The end-of-test text summary: k6's compact layout, our ERRORS/REQUESTS sections, final status.

Durations below 2.048 ms are exact in the HDR histogram (1 µs buckets), so every percentile
in these expectations is computed by hand from the samples; repeated samples are binary
fractions (0.75, 1.5) so their averages are exact too.
"""

from __future__ import annotations

import dataclasses

import pytest

from ccplate_tui.config.model import (
    CheckSpec,
    Config,
    ExecutorSpec,
    OptionsSpec,
    RequestSpec,
    ScenarioSpec,
    TargetSpec,
)
from ccplate_tui.config.thresholds import ThresholdExpr, ThresholdSpec
from ccplate_tui.load.metrics import Gauge, MetricSet
from ccplate_tui.load.phases import RequestPhases
from ccplate_tui.load.recorder import PHASE_METRICS
from ccplate_tui.load.results import RunResult
from ccplate_tui.load.snapshot import ScenarioProgress
from ccplate_tui.load.summary import render_summary
from ccplate_tui.load.thresholds import ThresholdResult
from ccplate_tui.load.units_format import humanize_bytes, humanize_ms

Tag = tuple[tuple[str, str], ...]


def tags(**pairs: str) -> Tag:
    return tuple(sorted(pairs.items()))


def _request(metrics: MetricSet, phases: RequestPhases, **pairs: str) -> None:
    """One request as the engine records it: duration = sending + waiting + receiving, and
    every phase trend (k6's http_req_blocked ... http_req_receiving) under the same tags."""
    t = tags(**pairs)
    metrics.sink("http_reqs", t).value += 1  # type: ignore[union-attr]
    ms = phases.sending + phases.waiting + phases.receiving
    metrics.sink("http_req_duration", t).add(ms)  # type: ignore[union-attr]
    for metric, value in zip(PHASE_METRICS, phases, strict=True):
        metrics.sink(metric, t).add(value)  # type: ignore[union-attr]
    metrics.sink("http_req_failed", t).add(pairs["expected_response"] == "false")  # type: ignore[union-attr]


def _served(ms: float, new_connection: bool = False) -> RequestPhases:
    """A response of `ms` (sending 0.25 + waiting + receiving 0.25), on a new connection or not."""
    return RequestPhases(
        blocked=0.5 if new_connection else 0.0,
        connecting=0.25 if new_connection else 0.0,
        sending=0.25,
        waiting=ms - 0.5,
        receiving=0.25,
    )


def build_metrics() -> MetricSet:
    m = MetricSet()
    get = {"scenario": "steady", "name": "GET /api/items", "method": "GET", "group": "::catalog"}
    post = {"scenario": "steady", "name": "POST /api/login", "method": "POST"}
    for i in range(80):
        served = _served(1.0 if i < 40 else 1.5, new_connection=i < 4)
        _request(m, served, **get, status="200", expected_response="true")
        m.sink(
            "http_req_duration_uncorrected", tags(**get, status="200", expected_response="true")
        ).add(1.0)  # type: ignore[union-attr]
    for _ in range(4):
        _request(m, _served(2.0), **get, status="503", expected_response="false")
    for _ in range(10):
        # 0.25 + 0.5 + 0.05 is 0.8 exactly in floating point.
        posted = RequestPhases(sending=0.25, waiting=0.5, receiving=0.05)
        _request(m, posted, **post, status="200", expected_response="true")
    for _ in range(6):
        # A refused dial: nothing but the wait for the failure was timed.
        _request(
            m,
            RequestPhases(waiting=0.05),
            **post,
            status="0",
            expected_response="false",
            error="dial: connection refused",
            error_code="1212",
        )
    for i in range(84):
        m.sink("checks", tags(scenario="steady", check="status is 200", group="::catalog")).add(
            i < 80
        )  # type: ignore[union-attr]
        m.sink("checks", tags(scenario="steady", check="has items", group="::catalog")).add(True)  # type: ignore[union-attr]
        m.sink("group_duration", tags(scenario="steady", group="::catalog")).add(1.5)  # type: ignore[union-attr]
    for i in range(16):
        m.sink("checks", tags(scenario="steady", check="logged in")).add(i < 10)  # type: ignore[union-attr]
    for _ in range(94):
        m.sink("iteration_duration", tags(scenario="steady")).add(2.5)  # type: ignore[union-attr]
    m.sink("iterations", tags(scenario="steady")).value = 94  # type: ignore[union-attr]
    m.sink("dropped_iterations", tags(scenario="steady")).value = 6  # type: ignore[union-attr]
    m.sink("data_received", tags(scenario="steady")).value = 1_234_567  # type: ignore[union-attr]
    m.sink("data_sent", tags(scenario="steady")).value = 40_000  # type: ignore[union-attr]
    vus = m.sink("vus", tags(scenario="steady"))
    assert isinstance(vus, Gauge)
    vus.value, vus.min, vus.max = 3, 1, 5
    vus_max = m.sink("vus_max", tags(scenario="steady"))
    assert isinstance(vus_max, Gauge)
    vus_max.value, vus_max.min, vus_max.max = 10, 5, 10
    return m


STEADY = ScenarioSpec(
    name="steady",
    executor=ExecutorSpec(
        executor="constant-arrival-rate",
        rate=20,
        time_unit=1.0,
        duration=3.0,
        pre_allocated_vus=5,
        max_vus=10,
    ),
    requests=(
        RequestSpec(
            method="GET",
            path="/api/items",
            name="GET /api/items",
            group="catalog",
            checks=(
                CheckSpec("status is 200", "status == 200", None),
                CheckSpec("has items", "json.items", None),
            ),
        ),
        RequestSpec(
            method="POST",
            path="/api/login",
            name="POST /api/login",
            checks=(CheckSpec("logged in", "status == 200", None),),
        ),
    ),
)


def build_config(*scenarios: ScenarioSpec, stats: tuple[str, ...] | None = None) -> Config:
    options = OptionsSpec() if stats is None else OptionsSpec(summary_trend_stats=stats)
    return Config(
        path="scenarios.toml",
        target=TargetSpec(),
        options=options,
        scenarios={s.name: s for s in scenarios or (STEADY,)},
    )


def threshold(
    key: str,
    source: str,
    ok: bool | None,
    observed: float | None,
    *,
    abort: bool = False,
    first_failed_at: float | None = None,
) -> ThresholdResult:
    metric = key.split("{", 1)[0]
    filt: Tag = ()
    if "{" in key:
        name, _, value = key[key.index("{") + 1 : -1].partition(":")
        filt = ((name, value),)
    window = 30.0 if "[30s]" in source else None
    aggregation = (
        source.split("(")[0] if source.startswith("p(") else source.split("<")[0].split(">")[0]
    )
    expr = ThresholdExpr(source, aggregation, None, "<", 0.0, window)
    spec = ThresholdSpec(key, metric, filt, expr, abort_on_fail=abort)
    return ThresholdResult(spec, ok, observed, first_failed_at)


THRESHOLDS = [
    threshold("http_req_duration", "p(95)<500", True, 1.5),
    threshold("http_req_duration{scenario:steady}", "p(99)[30s]<200", True, 2.0),
    threshold("http_req_failed", "rate<0.01", False, 0.1, first_failed_at=2.0),
    threshold("http_req_duration{name:GET /nothing}", "p(99)<200", None, None),
    threshold("checks", "rate>0.95", False, 174 / 184),
    threshold("http_reqs", "count>50", True, 100.0),
]


def build_result(**changes: object) -> RunResult:
    result = RunResult(
        config=build_config(),
        scenario_names=("steady",),
        totals=build_metrics(),
        duration=10.0,
        thresholds=list(THRESHOLDS),
        progress=(ScenarioProgress("steady", "done", 3.0, 3.0, 0, 5, 94, 0, 6),),
        started_at=1_700_000_000.0,
    )
    return dataclasses.replace(result, **changes)


EXPECTED = """\
  █ THRESHOLDS

    checks
    ✗ 'rate>0.95' rate=94.56%

    http_req_duration
    ✓ 'p(95)<500' p(95)=1.5ms

      {name:GET /nothing}
      ✗ 'p(99)<200' NO DATA (no samples)

      {scenario:steady}
      ✓ 'p(99)[30s]<200' p(99)[30s]=2ms

    http_req_failed
    ✗ 'rate<0.01' rate=10.00%

    http_reqs
    ✓ 'count>50' count=100


  █ TOTAL RESULTS

    checks_total.......: 184    18.4/s
    checks_succeeded...: 94.56% 174 out of 184
    checks_failed......: 5.43%  10 out of 184

    ✗ logged in
      ↳  62% — ✓ 10 / ✗ 6
    ↳ GROUP: catalog
      ✗ status is 200
        ↳  95% — ✓ 80 / ✗ 4
      ✓ has items

    HTTP
    http_req_blocked................: avg=20µs   min=0s    med=0s    max=500µs p(90)=0s    p(95)=0s    p(99)=500µs
    http_req_connecting.............: avg=10µs   min=0s    med=0s    max=250µs p(90)=0s    p(95)=0s    p(99)=250µs
    http_req_duration...............: avg=1.16ms min=50µs  med=1ms   max=2ms   p(90)=1.5ms p(95)=1.5ms p(99)=2ms
      { expected_response:true }....: avg=1.2ms  min=800µs med=1ms   max=1.5ms p(90)=1.5ms p(95)=1.5ms p(99)=1.5ms
      { scenario:steady }...........: avg=1.16ms min=50µs  med=1ms   max=2ms   p(90)=1.5ms p(95)=1.5ms p(99)=2ms
    http_req_duration_uncorrected...: avg=1ms    min=1ms   med=1ms   max=1ms   p(90)=1ms   p(95)=1ms   p(99)=1ms
    http_req_failed.................: 10.00% 10 out of 100
    http_req_receiving..............: avg=215µs  min=0s    med=250µs max=250µs p(90)=250µs p(95)=250µs p(99)=250µs
    http_req_sending................: avg=235µs  min=0s    med=250µs max=250µs p(90)=250µs p(95)=250µs p(99)=250µs
    http_req_tls_handshaking........: avg=0s     min=0s    med=0s    max=0s    p(90)=0s    p(95)=0s    p(99)=0s
    http_req_waiting................: avg=713µs  min=50µs  med=500µs max=1.5ms p(90)=1ms   p(95)=1ms   p(99)=1.5ms
    http_reqs.......................: 100    10/s

    EXECUTION
    dropped_iterations..............: 6      0.6/s
    group_duration..................: avg=1.5ms  min=1.5ms med=1.5ms max=1.5ms p(90)=1.5ms p(95)=1.5ms p(99)=1.5ms
    iteration_duration..............: avg=2.5ms  min=2.5ms med=2.5ms max=2.5ms p(90)=2.5ms p(95)=2.5ms p(99)=2.5ms
    iterations......................: 94     9.4/s
    vus.............................: 3      min=1         max=5
    vus_max.........................: 10     min=5         max=10

    NETWORK
    data_received...................: 1.2 MB 124 kB/s
    data_sent.......................: 40 kB  4.0 kB/s


  █ ERRORS

    ERROR                         CODE  COUNT  % OF REQUESTS
    dial: connection refused      1212      6          6.00%
    HTTP 503 Service Unavailable     -      4          4.00%


  █ REQUESTS

    NAME             REQS  ERRORS    P50    P95    P99
    GET /api/items     84   4.76%  1.5ms  1.5ms    2ms
    POST /api/login    16  37.50%  800µs  800µs  800µs


running (10.0s), 00/05 VUs, 94 complete and 0 interrupted iterations
steady ✗ [ 100% ] 00/05 VUs  3s  20.00 iters/s"""


def test_whole_summary_layout() -> None:
    assert render_summary(build_result()) == EXPECTED


def test_no_data_threshold_fails_the_run() -> None:
    only_no_data = [threshold("http_req_duration{name:GET /nothing}", "p(99)<200", None, None)]
    result = build_result(thresholds=only_no_data)
    assert result.thresholds_failed
    text = render_summary(result)
    # No parent threshold: the submetric is listed under its full key, not nested.
    assert (
        "    http_req_duration{name:GET /nothing}\n    ✗ 'p(99)<200' NO DATA (no samples)" in text
    )


@pytest.mark.parametrize(
    ("ms", "expected"),
    [
        (0.92004, "920.04µs"),
        (0.0005, "500ns"),
        (11.94, "11.94ms"),
        (20.059, "20.05ms"),
        (1200.0, "1.2s"),
        (62_000.0, "1m2s"),
        (3_723_000.0, "1h2m3s"),
        (0.0, "0s"),
    ],
)
def test_time_scaling_like_k6(ms: float, expected: str) -> None:
    assert humanize_ms(ms) == expected


@pytest.mark.parametrize(
    ("count", "expected"),
    [(7, "7 B"), (1_234_567, "1.2 MB"), (40_000, "40 kB"), (122_500, "123 kB"), (5e9, "5.0 GB")],
)
def test_byte_scaling_like_k6(count: float, expected: str) -> None:
    assert humanize_bytes(count) == expected


def test_long_trends_scale_to_seconds_and_minutes() -> None:
    m = MetricSet()
    for ms in (1500.0, 62_000.0):
        m.sink("iteration_duration", tags(scenario="steady")).add(ms)  # type: ignore[union-attr]
    result = build_result(
        totals=m, thresholds=[], config=build_config(stats=("min", "max", "count"))
    )
    line = next(x for x in render_summary(result).splitlines() if "iteration_duration" in x)
    assert line.endswith(": min=1.5s max=1m2s count=2")


def test_color_only_wraps_the_marks() -> None:
    plain = render_summary(build_result())
    colored = render_summary(build_result(), color=True)
    assert "\x1b[32m✓\x1b[0m" in colored and "\x1b[31m✗\x1b[0m" in colored
    stripped = colored.replace("\x1b[32m", "").replace("\x1b[31m", "").replace("\x1b[0m", "")
    assert stripped == plain
    assert "\x1b" not in plain


def test_interrupted_run_marks_unfinished_scenarios_and_says_why() -> None:
    progress = (ScenarioProgress("steady", "running", 1.5, 3.0, 4, 5, 30, 4, 0),)
    text = render_summary(
        build_result(
            progress=progress,
            stopped="interrupted",
            duration=1.5,
            stop_cause="interrupted (Ctrl-C)",
        )
    )
    assert text.splitlines()[-3:] == [
        "running (01.5s), 04/05 VUs, 30 complete and 4 interrupted iterations",
        "steady ✗ [  50% ] 04/05 VUs  1.5s/3s  20.00 iters/s",
        "run stopped early after 1.5s: interrupted (Ctrl-C); results cover only what ran",
    ]


def test_a_stop_is_reported_as_its_cause_and_never_guessed() -> None:
    cause = "stopped from the dashboard (browser, pid 4242)"
    result = build_result(stopped="interrupted", duration=2.0, stop_cause=cause)
    assert render_summary(result).splitlines()[-1] == (
        "run stopped early after 2s: stopped from the dashboard (browser, pid 4242); "
        "results cover only what ran"
    )
    result = build_result(stopped="interrupted", duration=2.0)  # e.g. k6 stopped by another
    assert render_summary(result).splitlines()[-1] == (
        "run stopped early after 2s: interrupted; results cover only what ran"
    )


def test_aborted_run_names_the_abort_on_fail_threshold() -> None:
    crossed = threshold("http_req_failed", "rate<0.01", False, 0.1, abort=True, first_failed_at=2.0)
    result = build_result(thresholds=[crossed], stopped="aborted", duration=2.0)
    assert render_summary(result).splitlines()[-1] == (
        "run stopped early after 2s: abortOnFail threshold crossed: "
        "'rate<0.01' on http_req_failed (first crossed at 2s)"
    )


def test_clean_run_omits_thresholds_errors_and_checks() -> None:
    m = MetricSet()
    _request(
        m,
        _served(1.0),
        scenario="steady",
        name="GET /",
        method="GET",
        status="200",
        expected_response="true",
    )
    text = render_summary(build_result(totals=m, thresholds=[]))
    assert "█ THRESHOLDS" not in text and "█ ERRORS" not in text and "checks_total" not in text
    assert "  █ REQUESTS" in text and "    GET /     1   0.00%  1ms  1ms  1ms" in text


def test_requests_table_splits_by_scenario_when_several_ran() -> None:
    other = dataclasses.replace(STEADY, name="burst")
    m = MetricSet()
    for scenario, ms in (("steady", 1.0), ("burst", 2.0), ("burst", 2.0)):
        _request(
            m,
            _served(ms),
            scenario=scenario,
            name="GET /",
            method="GET",
            status="200",
            expected_response="true",
        )
    result = build_result(totals=m, thresholds=[], config=build_config(STEADY, other))
    table = render_summary(result).split("  █ REQUESTS\n\n", 1)[1].splitlines()[:3]
    assert table == [
        "    SCENARIO  NAME   REQS  ERRORS  P50  P95  P99",
        "    steady    GET /     1   0.00%  1ms  1ms  1ms",
        "    burst     GET /     2   0.00%  2ms  2ms  2ms",
    ]


def test_unknown_trend_stat_is_a_clear_error() -> None:
    result = build_result(config=build_config(stats=("avg", "p95")))
    with pytest.raises(ValueError, match=r"options.summary_trend_stats: unknown stat 'p95'"):
        render_summary(result)


def test_notes_are_listed_before_the_final_status() -> None:
    text = render_summary(build_result(notes=["Insufficient VUs, reached 10 active VUs"]))
    assert "  █ NOTES\n\n    - Insufficient VUs, reached 10 active VUs\n" in text
    assert text.index("█ NOTES") < text.index("running (")
