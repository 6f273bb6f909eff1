"""Thresholds relative to the baseline run: grammar, config errors, evaluation, NO DATA."""

from __future__ import annotations

import pickle

import pytest

from ccplate_tui.config.errors import ConfigError
from ccplate_tui.config.loader import parse_config
from ccplate_tui.config.thresholds import (
    ThresholdSyntaxError,
    parse_threshold_entry,
    parse_threshold_expr,
)
from ccplate_tui.load.metrics import MetricSet
from ccplate_tui.load.thresholds import ThresholdEvaluator, baseline_key

# --- grammar ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "operator", "baseline", "value", "limit_of_200"),
    [
        ("p(95) < baseline * 1.10", "<", "*", 1.10, 220.0),
        ("p(95)<baseline*1.1", "<", "*", 1.1, 220.0),
        ("rate < baseline + 0.005", "<", "+", 0.005, 200.005),
        ("avg <= baseline", "<=", "*", 1.0, 200.0),
        ("avg>=baseline-5", ">=", "-", 5.0, 195.0),
        ("med < baseline / 2", "<", "/", 2.0, 100.0),
        ("p(99)[30s] < baseline * 1.5", "<", "*", 1.5, 300.0),
        ("count === baseline", "==", "*", 1.0, 200.0),
        ("avg < baseline - -1", "<", "-", -1.0, 201.0),
    ],
)
def test_relative_forms_parse(
    source: str, operator: str, baseline: str, value: float, limit_of_200: float
) -> None:
    expr = parse_threshold_expr(source)
    assert expr.relative
    assert (expr.operator, expr.baseline, expr.value) == (operator, baseline, value)
    assert expr.limit(200.0) == pytest.approx(limit_of_200)
    assert expr.limit(None) is None  # no baseline value: nothing to compare with
    # Survives pickling (worker processes) and compares equal to itself (LiveView replay).
    assert pickle.loads(pickle.dumps(expr)) == expr


def test_a_plain_threshold_is_not_relative_and_its_limit_is_its_number() -> None:
    expr = parse_threshold_expr("p(95)<500")
    assert not expr.relative and expr.baseline is None
    assert expr.limit(123.0) == 500.0 and expr.limit() == 500.0


@pytest.mark.parametrize(
    ("source", "position", "fragment"),
    [
        ("p(95) < baseline *", 18, "expected a finite number after 'baseline *'"),
        ("p(95) < baseline * x", 19, "after 'baseline *', got 'x'"),
        ("p(95) < baseline * inf", 19, "finite number"),
        ("p(95) < baseline ^ 2", 17, "expected one of * / + - after 'baseline', got '^ 2'"),
        ("p(95) < baseline 1.1", 17, "expected one of * / + -"),
        ("p(95) < baselines", 8, "got 'baselines'"),
        ("p(95) < baseline2", 8, "got 'baseline2'"),
        ("p(95) < baseline / 0", 19, "a divisor other than 0"),
        ("p(95) < 1.1 * baseline", 8, "expected a number after '<', got '1.1 * baseline'"),
        ("p(95) < basline * 1.1", 8, "did you mean 'baseline'?"),
        ("mean < baseline", 0, "expected one of count, rate"),
    ],
)
def test_relative_errors_point_at_the_offending_character(
    source: str, position: int, fragment: str
) -> None:
    with pytest.raises(ThresholdSyntaxError) as info:
        parse_threshold_expr(source)
    assert fragment in str(info.value)
    assert info.value.position == position


def test_a_relative_threshold_still_checks_the_method_against_the_metric() -> None:
    with pytest.raises(ThresholdSyntaxError, match="not valid for http_req_failed"):
        parse_threshold_entry("http_req_failed", "p(95) < baseline * 1.1")
    spec = parse_threshold_entry(
        "http_req_duration{name:login}", {"threshold": "p(95) < baseline * 1.1"}
    )
    assert spec.expr.relative and baseline_key(spec) == "http_req_duration{name:login} p(95)"


# --- scenarios.toml -----------------------------------------------------------------------------

CONFIG = """
[scenarios.s]
executor = "constant-vus"
duration = "10s"
[scenarios.s.thresholds]
http_req_duration = ["p(95) < baseline * 1.10", "p(95)<500", "avg <= baseline"]
http_req_failed = ["rate < baseline + 0.005"]
[[scenarios.s.requests]]
path = "/api/health"
"""


def test_the_config_loads_relative_thresholds_scoped_to_their_scenario() -> None:
    config = parse_config(CONFIG, "scenarios.toml")
    specs = config.scenarios["s"].thresholds
    assert [baseline_key(s) for s in specs if s.expr.relative] == [
        "http_req_duration{scenario:s} p(95)",
        "http_req_duration{scenario:s} avg",
        "http_req_failed{scenario:s} rate",
    ]
    assert [s.expr.relative for s in specs] == [True, False, True, True]


def test_a_bad_relative_threshold_names_file_line_column_and_key_path() -> None:
    text = CONFIG.replace('"avg <= baseline"', '"avg <= baseline % 2"')
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "scenarios.toml")
    error = caught.value
    assert error.key_path == "scenarios.s.thresholds.http_req_duration[2]"
    assert error.line == 6
    assert "expected one of * / + - after 'baseline'" in error.message
    # The column points at the `%` inside the string.
    line = text.splitlines()[error.line - 1]
    assert error.column is not None and line[error.column - 1] == "%"
    assert str(error).startswith("scenarios.toml:6:")


# --- evaluation ---------------------------------------------------------------------------------


def _latencies(*values: float, failed: int = 0, name: str = "x") -> MetricSet:
    """A MetricSet of one scenario `s` with these request durations and `failed` failures."""
    totals = MetricSet()
    tags = (("name", name), ("scenario", "s"))
    for index, ms in enumerate(values):
        totals.sink("http_req_duration", tags).add(ms)
        totals.sink("http_req_failed", tags).add(index < failed)
        totals.sink("http_reqs", tags).value += 1
    return totals


def _specs():
    return parse_config(CONFIG, "scenarios.toml").scenarios["s"].thresholds


def test_without_a_baseline_relative_thresholds_are_no_data_and_fail() -> None:
    results = ThresholdEvaluator(_specs()).evaluate(_latencies(10, 20, 30), 5.0)
    relative = [r for r in results if r.spec.expr.relative]
    assert [r.ok for r in relative] == [None, None, None]
    assert all(r.failed for r in relative)  # NO DATA is not a pass, as our other thresholds
    assert all(r.observed is not None for r in relative)  # the run itself had data
    assert all(r.baseline is None and r.limit is None for r in relative)
    plain = next(r for r in results if not r.spec.expr.relative)
    assert plain.ok is True and plain.limit == 500.0


def test_relative_thresholds_compare_with_the_baseline_values() -> None:
    specs = _specs()
    base_totals = _latencies(*([10.0] * 100))  # p(95) 10 ms, avg 10 ms, no failures
    baselines = {baseline_key(s): _baseline_of(s, base_totals) for s in specs if s.expr.relative}
    assert baselines["http_req_duration{scenario:s} p(95)"] == pytest.approx(10.0, rel=1e-3)

    # 5 % slower: within baseline * 1.10, but above `avg <= baseline`.
    results = ThresholdEvaluator(specs, baselines).evaluate(_latencies(*([10.5] * 100)), 5.0)
    by_source = {r.spec.expr.source: r for r in results}
    within = by_source["p(95) < baseline * 1.10"]
    assert within.ok is True
    assert within.baseline == pytest.approx(10.0, rel=1e-3)
    assert within.limit == pytest.approx(11.0, rel=1e-3)
    assert by_source["avg <= baseline"].ok is False
    assert by_source["rate < baseline + 0.005"].ok is True  # 0 % < 0 % + 0.5 pp

    # 20 % slower and 1 % errors: both relative limits crossed.
    results = ThresholdEvaluator(specs, baselines).evaluate(
        _latencies(*([12.0] * 100), failed=1), 5.0
    )
    by_source = {r.spec.expr.source: r for r in results}
    assert by_source["p(95) < baseline * 1.10"].ok is False
    assert by_source["p(95) < baseline * 1.10"].first_failed_at == 5.0
    assert by_source["rate < baseline + 0.005"].ok is False
    assert by_source["rate < baseline + 0.005"].observed == pytest.approx(0.01)
    assert by_source["p(95)<500"].ok is True


def test_a_relative_threshold_with_no_data_in_the_run_is_no_data_even_with_a_baseline() -> None:
    specs = _specs()
    baselines = {baseline_key(s): 10.0 for s in specs if s.expr.relative}
    results = ThresholdEvaluator(specs, baselines).evaluate(MetricSet(), 5.0)
    assert all(r.ok is None for r in results)


def _baseline_of(spec, totals: MetricSet) -> float:
    from ccplate_tui.history.baselines import baseline_value

    value = baseline_value(spec, totals, 10.0)
    assert value is not None
    return value


# --- baseline values from the history store -----------------------------------------------------

SUITE = """
[scenarios.a]
executor = "constant-vus"
duration = "10s"
thresholds = { http_reqs = ["rate < baseline * 1.2"], http_req_duration = ["p(95)[5s] < baseline"] }
[[scenarios.a.requests]]
path = "/a"

[scenarios.b]
executor = "constant-vus"
duration = "10s"
[[scenarios.b.requests]]
path = "/b"

[suites.both]
scenarios = ["a", "b"]
thresholds = { http_req_duration = ["p(99) < baseline * 1.5"] }
"""


def _tagged(scenario: str, *values: float) -> MetricSet:
    totals = MetricSet()
    tags = (("name", f"/{scenario}"), ("scenario", scenario))
    for ms in values:
        totals.sink("http_req_duration", tags).add(ms)
        totals.sink("http_reqs", tags).value += 1
    return totals


def _record(store, config, names: list[str], metrics: MetricSet, elapsed: float = 4.0) -> str:
    """A finished run of `names` whose one interval holds `metrics`, in a real history file."""
    import time

    from ccplate_tui.load.results import RunResult
    from ccplate_tui.load.snapshot import IntervalSnapshot

    run_id = store.begin_run(names=names, scenarios=names)
    store.add_interval(run_id, IntervalSnapshot(0, 0.0, elapsed, metrics, wall_time=time.time()))
    result = RunResult(config, tuple(names), metrics, elapsed, [], (), time.time() - elapsed)
    store.finish_run(run_id, result)
    return run_id


@pytest.fixture
def store(tmp_path):
    from ccplate_tui.history.store import HistoryStore

    with HistoryStore(tmp_path / "history.sqlite3") as opened:
        yield opened


def test_resolve_baselines_reads_the_scenarios_baseline_run(store) -> None:
    from ccplate_tui.history.baselines import resolve_baseline_details, resolve_baselines
    from ccplate_tui.load.engine import resolve_plan

    config = parse_config(SUITE, "scenarios.toml")
    plan = resolve_plan(config, ["a"])
    assert resolve_baselines(store, config, plan) == {}  # no baseline yet: NO DATA later

    metrics = _tagged("a", *range(1, 101))  # 100 requests over 4 s
    run_id = _record(store, config, ["a"], metrics)
    store.set_baseline("a", run_id)
    values = resolve_baselines(store, config, plan)
    assert values == {
        "http_reqs{scenario:a} rate": pytest.approx(25.0),  # 100 requests / 4 s
        # The whole baseline run, not its last 5 s: the window is the new run's own.
        "http_req_duration{scenario:a} p(95)": pytest.approx(
            metrics.select("http_req_duration").percentile(95.0)
        ),
    }
    (first, second) = resolve_baseline_details(store, config, plan)
    assert (first.owner, first.run_id) == ("a", run_id)
    assert (second.owner, second.run_id) == ("a", run_id)


def test_unscoped_thresholds_use_the_suite_else_a_shared_scenario_baseline(store) -> None:
    from ccplate_tui.history.baselines import baseline_runs, resolve_baseline_details
    from ccplate_tui.load.engine import resolve_plan

    config = parse_config(SUITE, "scenarios.toml")
    plan = resolve_plan(config, ["both"])
    key = "http_req_duration p(99)"

    def suite_entry():
        return next(d for d in resolve_baseline_details(store, config, plan) if d.key == key)

    slow = _tagged("a", 50, 60)
    slow.accumulate(_tagged("b", 70, 80))
    fast = _tagged("a", 5, 6)
    fast.accumulate(_tagged("b", 7, 8))
    slow_run = _record(store, config, ["both"], slow)
    fast_run = _record(store, config, ["both"], fast)

    assert suite_entry().value is None  # nothing set

    store.set_baseline("a", slow_run)
    store.set_baseline("b", fast_run)
    assert suite_entry().value is None  # the scenarios disagree: no baseline for the suite's

    store.set_baseline("b", slow_run)
    entry = suite_entry()
    assert (entry.owner, entry.run_id) == ("a, b", slow_run)
    assert entry.value == pytest.approx(slow.select("http_req_duration").percentile(99.0))

    store.set_baseline("both", fast_run)  # the suite's own baseline wins
    entry = suite_entry()
    assert (entry.owner, entry.run_id) == ("both", fast_run)
    assert entry.value == pytest.approx(fast.select("http_req_duration").percentile(99.0))
    details = resolve_baseline_details(store, config, plan)
    assert baseline_runs(details) == {"a": slow_run, "both": fast_run}


def test_a_baseline_run_without_data_for_the_metric_gives_no_value(store) -> None:
    from ccplate_tui.history.baselines import resolve_baselines
    from ccplate_tui.load.engine import resolve_plan

    config = parse_config(SUITE, "scenarios.toml")
    run_id = _record(store, config, ["a"], _tagged("b", 1, 2))  # only scenario b's series
    store.set_baseline("a", run_id)
    values = resolve_baselines(store, config, resolve_plan(config, ["a"]))
    # A counter without a series counts 0 (as the engine reads it); a trend has no data.
    assert values == {"http_reqs{scenario:a} rate": 0.0}


# --- a real run judged against its baseline -----------------------------------------------------

ENGINE = """
[target]
base_url = "{url}"
[options]
interval = "250ms"
[scenarios.s]
executor = "per-vu-iterations"
vus = 1
iterations = 8
thresholds = {{ http_req_duration = ["p(95) < baseline * 1.10"], http_reqs = ["count <= baseline"] }}
[[scenarios.s.requests]]
name = "x"
path = "{path}"
"""


def test_a_run_is_judged_against_its_scenarios_baseline_run(store, tmp_path) -> None:
    from ccplate_tui.history.baselines import resolve_baselines
    from ccplate_tui.history.recorder import HistoryRecorder
    from ccplate_tui.load.engine import LoadRun, resolve_plan
    from tests.http_fixtures import fixture_server

    def run(url: str, path: str):
        file = tmp_path / "scenarios.toml"
        file.write_text(ENGINE.format(url=url, path=path))
        config = parse_config(file.read_text(), str(file))
        plan = resolve_plan(config, ["s"])
        recorder = HistoryRecorder(store, config, plan, ["s"])
        baselines = resolve_baselines(store, config, plan)
        result = LoadRun(config, plan, workers=1, observers=[recorder], baselines=baselines).run()
        assert recorder.finish(result)
        return recorder.run_id, {r.spec.expr.source: r for r in result.thresholds}

    with fixture_server() as server:
        fast_id, fast = run(server.url, "/ok")
        # No baseline yet: both relative thresholds are NO DATA, and so fail the run.
        assert [(r.ok, r.baseline) for r in fast.values()] == [(None, None), (None, None)]
        assert fast["count <= baseline"].observed == 8

        store.set_baseline("s", fast_id)
        _, slow = run(server.url, "/sleep/40")

    base_p95 = store.totals(fast_id).select("http_req_duration").percentile(95.0)
    judged = slow["p(95) < baseline * 1.10"]
    assert judged.ok is False and judged.observed >= 40
    assert judged.baseline == pytest.approx(base_p95)
    assert judged.limit == pytest.approx(base_p95 * 1.10)
    same_count = slow["count <= baseline"]
    assert (same_count.ok, same_count.observed, same_count.baseline) == (True, 8, 8)
