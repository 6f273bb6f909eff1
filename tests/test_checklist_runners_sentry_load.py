"""The sentry and load runners: stored results, the real capture check against the loopback
ingest fixture, the real compatibility check against the registry fixture, and real load runs
against the demo target."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ccplate_tui.checklist.runners import RunContext, run_step
from ccplate_tui.history.legacy import open_history
from ccplate_tui.load.run_records import RunRecord, ThresholdRecord, list_runs, record_run
from ccplate_tui.load.run_registry import RunRegistry
from ccplate_tui.sentry.last_results import (
    CAPTURE_FILE,
    COMPATIBILITY_FILE,
    load_result,
    save_result,
)
from ccplate_tui.target.server import start_target_process, stop_target_process
from tests.checklist_runner_fixtures import (
    Background,
    make_config,
    make_ctx,
    make_step,
    toml_ready,
    wait_until,
)
from tests.http_fixtures import free_port
from tests.sentry_ingest_fixture import API_TOKEN, DEMO_KEY, SentryIngestFixture
from tests.sentry_registry_fixture import RegistryFixture

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "ccplate-app"
SENTRY_ENV = (
    "SENTRY_DSN",
    "SENTRY_AUTH_TOKEN",
    "SENTRY_ORG",
    "SENTRY_PROJECT",
    "SENTRY_URL",
    "NPM_CONFIG_REGISTRY",
    "npm_config_registry",
)


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No Sentry inputs from the environment; HOME and cwd isolated."""
    for name in SENTRY_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def sentry_ctx(folder: Path, sentry_table: str = "") -> RunContext:
    return make_ctx(folder / "cfg", body=f"{sentry_table}\n{TINY_BODY}")


TINY_BODY = """
[scenarios.tiny]
executor = "constant-vus"
vus = 1
duration = "1s"
think_time = "20ms"
thresholds = { http_req_failed = ["rate<0.5"] }

[[scenarios.tiny.requests]]
name = "health"
path = "/api/health"

[scenarios.strict]
executor = "constant-vus"
vus = 1
duration = "1s"
think_time = "20ms"
thresholds = { http_reqs = ["count<1"] }

[[scenarios.strict.requests]]
name = "health"
path = "/api/health"

[scenarios.long]
executor = "constant-vus"
vus = 1
duration = "60s"
gracefulStop = "1s"
think_time = "50ms"
thresholds = { http_req_failed = ["rate<0.5"] }

[[scenarios.long.requests]]
name = "health"
path = "/api/health"
"""


def capture(ctx: RunContext):
    return run_step(make_step("sentry", sentry_check="capture"), ctx, threading.Event())


def compatibility(ctx: RunContext):
    return run_step(make_step("sentry", sentry_check="compatibility"), ctx, threading.Event())


# --- sentry capture: stored results -----------------------------------------------------------------


def stored_capture(**fields: object) -> dict[str, object]:
    return {
        "dsn": "http://cc…cd@127.0.0.1:9/__sentry/1",
        "event_id": "0123456789abcdef0123456789abcdef",
        "delivered": True,
        "status": 200,
        "explanation": "the ingest accepted the event",
        "sent_at": "2026-11-27T04:00:00Z",
        "confirmation": None,
        **fields,
    }


def test_capture_passes_from_a_stored_delivered_result(clean_env: Path) -> None:
    ctx = sentry_ctx(clean_env)
    save_result(ctx.state_dir, CAPTURE_FILE, stored_capture())
    outcome = capture(ctx)
    assert outcome.result == "passed", outcome.summary
    assert outcome.evidence["source"] == "stored result"
    assert outcome.evidence["event_id"] == "0123456789abcdef0123456789abcdef"
    assert outcome.evidence["status"] == 200
    assert "confirmed" not in outcome.evidence  # None is dropped: TOML has no null
    assert outcome.summary.startswith("delivered: event 0123456789ab")
    assert toml_ready(outcome)


def test_capture_fails_from_a_stored_undelivered_result(clean_env: Path) -> None:
    ctx = sentry_ctx(clean_env)
    save_result(
        ctx.state_dir,
        CAPTURE_FILE,
        stored_capture(delivered=False, status=401, explanation="the DSN key was rejected"),
    )
    outcome = capture(ctx)
    assert outcome.result == "failed"
    assert outcome.summary == "not delivered (HTTP 401): the DSN key was rejected"


def test_capture_fails_when_the_stored_event_was_not_confirmed(clean_env: Path) -> None:
    ctx = sentry_ctx(clean_env)
    confirmation = {"confirmed": False, "explanation": "not found after 5 lookups"}
    save_result(ctx.state_dir, CAPTURE_FILE, stored_capture(confirmation=confirmation))
    outcome = capture(ctx)
    assert outcome.result == "failed"
    assert outcome.evidence["confirmed"] is False
    assert "not found after 5 lookups" in outcome.summary


def test_capture_without_dsn_or_stored_result_says_what_to_do(clean_env: Path) -> None:
    outcome = capture(sentry_ctx(clean_env))
    assert outcome.result == "failed"
    assert "no DSN to test" in outcome.summary
    assert "sentry verify" in outcome.summary


def test_a_damaged_stored_result_is_not_a_pass(clean_env: Path) -> None:
    ctx = sentry_ctx(clean_env)
    path = ctx.state_dir / "sentry" / CAPTURE_FILE
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    assert capture(ctx).result == "failed"


# --- sentry capture: the real check ------------------------------------------------------------


@pytest.fixture
def ingest() -> Iterator[SentryIngestFixture]:
    with SentryIngestFixture() as fixture:
        yield fixture


def test_capture_runs_the_real_check_against_the_ingest(
    clean_env: Path, ingest: SentryIngestFixture
) -> None:
    ctx = sentry_ctx(clean_env, f'[sentry]\ndsn = "{ingest.dsn()}"')
    outcome = capture(ctx)
    assert outcome.result == "passed", outcome.summary
    event_id = outcome.evidence["event_id"]
    assert ingest.store.get(event_id) is not None, "the ingest really has the event"
    assert outcome.evidence["source"] == "ran now, DSN from [sentry] dsn"
    stored = load_result(ctx.state_dir, CAPTURE_FILE)
    assert stored is not None and stored["event_id"] == event_id
    assert DEMO_KEY not in json.dumps(dict(outcome.evidence)) + outcome.summary


def test_capture_rejected_by_the_ingest_fails_without_leaking_the_key(
    clean_env: Path, ingest: SentryIngestFixture
) -> None:
    ingest.ingest_mode = "echo_auth"  # the answer repeats the credentials it got
    outcome = capture(sentry_ctx(clean_env, f'[sentry]\ndsn = "{ingest.dsn()}"'))
    assert outcome.result == "failed"
    assert outcome.evidence["status"] == 400
    assert DEMO_KEY not in json.dumps(dict(outcome.evidence)) + outcome.summary


def test_capture_with_a_token_needs_the_event_confirmed(
    clean_env: Path, ingest: SentryIngestFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SENTRY_AUTH_TOKEN", API_TOKEN)
    monkeypatch.setenv("SENTRY_ORG", "acme")
    monkeypatch.setenv("SENTRY_PROJECT", "web")
    ctx = sentry_ctx(clean_env, f'[sentry]\ndsn = "{ingest.dsn()}"')
    outcome = capture(ctx)
    assert outcome.result == "passed", outcome.summary
    assert outcome.evidence["confirmed"] is True
    assert "/organizations/acme/issues/" in outcome.evidence["issue_url"]
    assert toml_ready(outcome)
    ingest.api_always = 401
    rejected = capture(ctx)
    assert rejected.result == "failed"
    assert rejected.evidence["confirmed"] is False
    assert API_TOKEN not in json.dumps(dict(rejected.evidence)) + rejected.summary


def test_a_malformed_dsn_fails_before_sending(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SENTRY_DSN", "https://no-project-id@sentry.example.com/")
    outcome = capture(sentry_ctx(clean_env))
    assert outcome.result == "failed"
    assert "numeric project id" in outcome.summary
    assert "no-project-id" not in outcome.summary


# --- sentry compatibility --------------------------------------------------------------------------


def test_compatibility_passes_from_a_stored_supported_verdict(clean_env: Path) -> None:
    ctx = sentry_ctx(clean_env, '[sentry]\nproject = "missing-app"')
    save_result(
        ctx.state_dir, COMPATIBILITY_FILE, {"verdict": "partial", "headline": "works, with caveats"}
    )
    outcome = compatibility(ctx)
    assert outcome.result == "passed"
    assert outcome.evidence["verdict"] == "partial"
    assert outcome.evidence["source"].startswith("stored result (could not run now:")
    assert outcome.summary == "partial: works, with caveats"
    save_result(ctx.state_dir, COMPATIBILITY_FILE, {"verdict": "unsupported", "headline": "no"})
    assert compatibility(ctx).result == "failed"


def test_compatibility_without_project_or_stored_result_fails(clean_env: Path) -> None:
    outcome = compatibility(sentry_ctx(clean_env, '[sentry]\nproject = "missing-app"'))
    assert outcome.result == "failed"
    assert "could not run" in outcome.summary
    assert "missing-app" in outcome.summary


def test_compatibility_runs_the_real_check(clean_env: Path) -> None:
    project = clean_env / "app"
    shutil.copytree(EXAMPLE, project)
    with RegistryFixture() as registry:
        (project / ".npmrc").write_text(f"registry={registry.url}\n", encoding="utf-8")
        ctx = sentry_ctx(clean_env, f'[sentry]\nproject = "{project}"')
        outcome = compatibility(ctx)
    assert outcome.result == "failed"  # the example app pins a @sentry/nextjs too old for its Next
    assert outcome.evidence["verdict"] == "upgrade"
    assert outcome.evidence["source"] == "ran now"
    # The newest that npm can install from the registry (11.6.0+ need a missing @sentry/cloudflare).
    assert outcome.evidence["recommended"] == "11.5.0"
    assert toml_ready(outcome)
    stored = load_result(ctx.state_dir, COMPATIBILITY_FILE)
    assert stored is not None and stored["verdict"] == "upgrade"


# --- load ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_target() -> Iterator[str]:
    proc, url = start_target_process(port=0)
    try:
        yield url
    finally:
        stop_target_process(proc)


def load_ctx(folder: Path, base_url: str) -> RunContext:
    return RunContext(make_config(folder, base_url, TINY_BODY), folder / "state", load_workers=1)


def load_step(scenario: str, **kw: object):
    return make_step("load", scenario=scenario, **kw)  # type: ignore[arg-type]


def test_load_runs_the_scenario_and_passes(tmp_path: Path, demo_target: str) -> None:
    ctx = load_ctx(tmp_path, demo_target)
    lines: list[str] = []
    outcome = run_step(load_step("tiny"), ctx, threading.Event(), lines.append)
    assert outcome.result == "passed", outcome.summary
    ev = outcome.evidence
    assert ev["source"] == "ran now"
    assert ev["why_run"] == "no recorded run of it"
    assert ev["requests"] > 0
    assert ev["thresholds"] == ["http_req_failed{scenario:tiny} rate<0.5: ok (observed 0)"]
    records = list_runs(ctx.state_dir)
    assert [r.run_id for r in records] == [ev["run_id"]]
    assert records[0].passed
    with open_history(ctx.state_dir) as store:  # type: ignore[union-attr]
        stored = store.run(ev["run_id"])
        assert stored is not None and stored.interval_count >= 1, "whole run: baseline-able"
    assert lines[0].startswith("running tiny now")
    assert toml_ready(outcome)
    # The run it just recorded now lets the step pass without traffic.
    again = run_step(load_step("tiny"), ctx, threading.Event())
    assert again.result == "passed"
    assert again.evidence["source"] == "recorded run"
    assert again.evidence["run_id"] == ev["run_id"]


def test_a_failing_threshold_fails_the_step(tmp_path: Path, demo_target: str) -> None:
    ctx = load_ctx(tmp_path, demo_target)
    outcome = run_step(load_step("strict"), ctx, threading.Event())
    assert outcome.result == "failed"
    assert (
        "thresholds not met: http_reqs{scenario:strict} count<1: failed (observed"
        in outcome.summary
    )
    assert list_runs(ctx.state_dir)[0].passed is False


def passed_record(scenario: str, age: float, url: str, **kw: object) -> RunRecord:
    now = time.time()
    fields: dict[str, object] = {
        "run_id": f"run-{scenario}-{age:g}",
        "scenarios": (scenario,),
        "started_at": now - age - 5,
        "ended_at": now - age,
        "stopped": None,
        "requests": 120,
        "p99_ms": 12.0,
        "error_fraction": 0.0,
        "thresholds": (ThresholdRecord("http_req_failed", "rate<0.5", True, 0.0),),
        "target": url,
        **kw,
    }
    return RunRecord(**fields)  # type: ignore[arg-type]


def test_a_recent_passed_record_passes_without_traffic(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens: any traffic would fail
    ctx = load_ctx(tmp_path, url)
    record_run(ctx.state_dir, passed_record("tiny", 3600, url))
    outcome = run_step(load_step("tiny", max_age=7 * 86400.0), ctx, threading.Event())
    assert outcome.result == "passed", outcome.summary
    assert outcome.evidence["source"] == "recorded run"
    assert outcome.evidence["run_id"] == "run-tiny-3600"
    assert 3600 <= outcome.evidence["age_s"] < 3700
    assert "no new traffic" in outcome.summary


@pytest.mark.parametrize(
    ("record", "why"),
    [
        (lambda url: passed_record("tiny", 3600, url), "is 60 min old"),
        (
            lambda url: passed_record("tiny", 60, url, stopped="interrupted"),
            "did not pass",
        ),
        (lambda url: passed_record("tiny", 60, url, time_scale=0.05), "shortened rehearsal"),
        (lambda url: passed_record("other", 60, url), "no recorded run of it"),
        (lambda url: passed_record("tiny", 60, "http://127.0.0.1:1"), "no recorded run of it"),
    ],
)
def test_records_that_do_not_count(tmp_path: Path, record, why: str) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    ctx = load_ctx(tmp_path, url)
    record_run(ctx.state_dir, record(url))
    outcome = run_step(load_step("tiny", max_age=600.0), ctx, threading.Event())
    # Not counted, so the step tries to run the scenario, and nothing answers there.
    assert outcome.result == "failed"
    assert why in outcome.evidence["why_run"]
    assert outcome.summary.startswith(f"nothing answers at {url}")


def test_a_newer_failed_run_hides_an_older_pass(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    ctx = load_ctx(tmp_path, url)
    record_run(ctx.state_dir, passed_record("tiny", 600, url))
    failed = (ThresholdRecord("http_req_failed", "rate<0.5", False, 0.9),)
    record_run(ctx.state_dir, passed_record("tiny", 60, url, thresholds=failed))
    outcome = run_step(load_step("tiny"), ctx, threading.Event())
    assert outcome.result == "failed"
    assert "run-tiny-60 did not pass" in outcome.evidence["why_run"]


def test_load_refuses_a_remote_target(tmp_path: Path) -> None:
    ctx = load_ctx(tmp_path, "https://ccplate.example.com")
    outcome = run_step(load_step("tiny"), ctx, threading.Event())
    assert outcome.result == "failed"
    assert "not a loopback address" in outcome.summary


def test_load_unknown_scenario_fails(tmp_path: Path, demo_target: str) -> None:
    outcome = run_step(load_step("nope"), load_ctx(tmp_path, demo_target), threading.Event())
    assert outcome.result == "failed"
    assert "no scenario or suite named 'nope'" in outcome.summary


def test_cancel_stops_a_load_run_and_records_it(tmp_path: Path, demo_target: str) -> None:
    ctx = load_ctx(tmp_path, demo_target)
    run = Background(load_step("long"), ctx)
    wait_until(lambda: any("requests" in line for line in run.lines), "the run to send traffic")
    run.cancel.set()
    outcome = run.result()
    assert outcome.result == "cancelled"
    assert outcome.evidence["stopped"] == "interrupted"
    assert list_runs(ctx.state_dir)[0].stopped == "interrupted"


def test_a_load_step_waits_its_turn_while_the_folder_has_a_live_run(
    tmp_path: Path, demo_target: str
) -> None:
    """One run per state folder: a load step while another run holds the folder fails with
    whose run it is; once that run is released the same step runs."""
    ctx = load_ctx(tmp_path, demo_target)
    with RunRegistry(ctx.state_dir).claim(("other",), "terminal") as held:
        outcome = run_step(load_step("tiny"), ctx, threading.Event())
        assert outcome.result == "failed"
        assert f"pid {os.getpid()}" in outcome.summary and held.info.run_id in outcome.summary
        assert not list_runs(ctx.state_dir)  # nothing ran
    assert run_step(load_step("tiny"), ctx, threading.Event()).result == "passed"
