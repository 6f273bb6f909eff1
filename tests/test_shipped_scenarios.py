"""The shipped scenarios.toml carries the hardening plan's Phase 4.2 numbers, unchanged."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from ccplate_tui.config.loader import load_config
from ccplate_tui.config.model import (
    Config,
    GeneratedFile,
    JsonBody,
    MultipartBody,
    ScenarioSpec,
    Stage,
    StatusSet,
)
from ccplate_tui.config.timescale import with_time_scale

SHIPPED = Path(__file__).resolve().parent.parent / "scenarios.toml"


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(SHIPPED)


def thresholds(spec: ScenarioSpec | object) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for threshold in spec.thresholds:  # type: ignore[attr-defined]
        out.setdefault(threshold.key, []).append(threshold.expr.source)
    return out


def checks(scenario: ScenarioSpec) -> dict[str, str]:
    return {check.name: check.source for check in scenario.requests[0].checks}


def test_target_and_options(config: Config) -> None:
    assert config.target.base_url == "http://127.0.0.1:8787"
    assert config.target.allow_remote is False
    assert config.options.interval == 1.0
    assert set(config.scenarios) == {
        "auth_burst",
        "ai_builder",
        "file_upload",
        "mixed_reads",
        "mixed_writes",
        "mixed_ai",
        "schema_lock",
    }
    assert all(s.description for s in config.scenarios.values())


def test_auth_burst(config: Config) -> None:
    s = config.scenarios["auth_burst"]
    assert s.executor.executor == "ramping-vus"
    assert s.executor.start_vus == 0
    # "100 concurrent login attempts": 1m ramp to 100, 3m at 100, 1m ramp down.
    assert s.executor.stages == (Stage(60, 100), Stage(180, 100), Stage(60, 0))
    assert s.executor.graceful_ramp_down == 30.0
    assert s.think_time == 1.0  # sleep(1)
    (request,) = s.requests
    assert (request.method, request.path, request.name) == ("POST", "/api/auth/login", "login")
    assert request.body == JsonBody({"email": "load-test@example.com", "password": "test-password"})
    assert checks(s) == {
        "status is 200 or 401": "status in [200, 401]",
        "response time < 200ms": "duration < 200",
    }
    assert thresholds(s) == {
        "http_req_duration{scenario:auth_burst}": ["p(99)<200"],  # "Target: <200ms"
        "http_req_failed{scenario:auth_burst}": ["rate<0.01"],
        "db_cpu": ["max<50"],  # success criteria "Database Load < 50% CPU at peak"
    }
    predicate = request.checks[0].predicate
    assert predicate(401, b"", 5.0, {}) and not predicate(500, b"", 5.0, {})  # type: ignore[operator]


def test_ai_builder(config: Config) -> None:
    s = config.scenarios["ai_builder"]
    # "50 concurrent component generations", "Duration: 120 seconds"
    assert (s.executor.executor, s.executor.vus, s.executor.duration) == ("constant-vus", 50, 120)
    (request,) = s.requests
    assert (request.method, request.path) == ("POST", "/api/component-builder/generate")
    assert request.body == JsonBody(
        {
            "description": "A button component",
            "preferences": {"type": "client", "styling": "tailwind"},
        }
    )
    assert checks(s) == {"status is 200": "status == 200"}
    assert thresholds(s) == {
        "http_req_duration{scenario:ai_builder}": ["p(99)<5000"],  # "Target: <5s"
        "http_req_failed{scenario:ai_builder}": ["rate<0.01"],
    }


def test_file_upload(config: Config) -> None:
    s = config.scenarios["file_upload"]
    # "25 concurrent file uploads (1MB each)", "Duration: 60 seconds"
    assert (s.executor.executor, s.executor.vus, s.executor.duration) == ("constant-vus", 25, 60)
    (request,) = s.requests
    assert (request.method, request.path) == ("POST", "/api/files")
    assert request.body == MultipartBody(
        (("file", GeneratedFile(size=1_000_000, filename="upload.bin")),)
    )
    assert checks(s) == {"status is 200 or 201": "status in [200, 201]"}
    assert s.expected_statuses == StatusSet()
    assert thresholds(s) == {
        "http_req_duration{scenario:file_upload}": ["p(99)<3000"],  # "Target: <3s"
        "http_req_failed{scenario:file_upload}": ["rate<0.01"],
    }


def test_mixed_workload(config: Config) -> None:
    suite = config.suites["mixed_workload"]
    assert suite.scenarios == ("mixed_reads", "mixed_writes", "mixed_ai")
    # "50% reads, 30% writes, 20% AI generation", "Duration: 300 seconds"
    expected = {
        "mixed_reads": (50, "GET", "/api/users/me", "PostgreSQL reads"),
        "mixed_writes": (30, "POST", "/api/files", "Convex writes"),
        "mixed_ai": (20, "POST", "/api/component-builder/generate", "AI Builder (mocked)"),
    }
    for name, (vus, method, path, group) in expected.items():
        s = config.scenarios[name]
        assert (s.executor.executor, s.executor.vus, s.executor.duration) == (
            "constant-vus",
            vus,
            300,
        )
        (request,) = s.requests
        assert (request.method, request.path, request.group) == (method, path, group)
        assert s.thresholds == ()  # the suite's run-wide thresholds cover their traffic
    writes = config.scenarios["mixed_writes"].requests[0]
    assert writes.body == JsonBody({"filename": "test.txt", "content": "load test data"})
    ai = config.scenarios["mixed_ai"].requests[0].body
    assert isinstance(ai, JsonBody) and ai.value["mock"] is True  # type: ignore[index]
    # "Target: 99th percentile <500ms"; success criterion "Error Rate < 0.1%".
    assert thresholds(suite) == {
        "http_req_duration": ["p(99)<500"],
        "http_req_failed": ["rate<0.001"],
        "db_cpu": ["max<50"],  # success criteria "Database Load < 50% CPU at peak"
    }
    assert all(t.tags == () for t in suite.thresholds)


def test_schema_lock(config: Config) -> None:
    s = config.scenarios["schema_lock"]
    # vus: 10, iterations: 100 (k6 runs these options as shared-iterations)
    assert (s.executor.executor, s.executor.vus, s.executor.iterations) == (
        "shared-iterations",
        10,
        100,
    )
    (request,) = s.requests
    assert (request.method, request.path) == ("POST", "/api/schema-builder/apply")
    assert request.body == JsonBody({"model": "LoadTest${vu}"})
    assert 423 in s.expected_statuses and 200 in s.expected_statuses
    assert 500 not in s.expected_statuses and 201 not in s.expected_statuses
    assert checks(s) == {
        "status is 200 or 423 (locked)": "status in [200, 423]",
        "no concurrent modification errors": 'not body contains "concurrent modification"',
    }
    no_corruption = request.checks[1].predicate
    assert no_corruption(200, b'{"applied": true}', 1.0, {})  # type: ignore[operator]
    assert not no_corruption(409, b"concurrent modification detected", 1.0, {})  # type: ignore[operator]
    assert thresholds(s) == {
        "checks{scenario:schema_lock}": ["rate==1"],
        "http_req_failed{scenario:schema_lock}": ["rate==0"],
    }


def test_shipped_config_pickles_and_scales(config: Config) -> None:
    # Scenarios travel to spawned workers; a tenth of the time is the rehearsal run.
    assert pickle.loads(pickle.dumps(config)) == config
    fast = with_time_scale(config, 0.1)
    assert [s.duration for s in fast.scenarios["auth_burst"].executor.stages] == pytest.approx(
        [6, 18, 6]
    )
    assert fast.scenarios["auth_burst"].think_time == 1.0


def test_db_cpu_source(config: Config) -> None:
    # Success criteria "Database Load < 50% CPU at peak": the demo target's own measurement.
    source = config.sources["db_cpu"]
    assert (source.kind, source.url, source.query) == (
        "metrics",
        "http://127.0.0.1:8787/metrics",
        "ccplate_db_cpu_percent",
    )
    assert source.unit == "%" and not source.allow_remote


def test_availability_probe(config: Config) -> None:
    # Success criteria "Availability: 99.9% uptime": the demo target's health endpoint every
    # 250ms of wall-clock time, 1,200 probes in a 5-minute run (99.9% needs at least 1,000).
    probe = config.availability
    assert probe is not None
    assert (probe.url, probe.every, probe.timeout) == (
        "http://127.0.0.1:8787/api/health",
        0.25,
        2.0,
    )
    assert probe.method == "GET" and probe.expect_status == ()
    assert round(300 / probe.every) == 1200
    assert with_time_scale(config, 0.1).availability == probe  # probes keep real time
