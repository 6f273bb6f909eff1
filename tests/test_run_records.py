"""Load run records: from real runs, on real files, through the headless `run` command."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ccplate_tui.load.run_records import (
    KEEP_RECORDS,
    RECORDS_DIR,
    RecordError,
    RunRecord,
    ThresholdRecord,
    latest_run,
    list_runs,
    read_record,
    record_from_result,
    record_run,
    records_dir,
)
from tests.engine_helpers import run_toml
from tests.http_fixtures import FixtureServer, fixture_server


@pytest.fixture(scope="module")
def server() -> Iterator[FixtureServer]:
    with fixture_server() as srv:
        yield srv


def _toml(url: str, path: str = "/ok") -> str:
    return f"""
[target]
base_url = "{url}"

[scenarios.quick]
executor = "per-vu-iterations"
vus = 2
iterations = 5
thresholds = {{ http_req_duration = ["p(95)<5000"], http_req_failed = ["rate<0.01"] }}
[[scenarios.quick.requests]]
name = "ok"
path = "{path}"

[scenarios.other]
executor = "per-vu-iterations"
vus = 1
iterations = 2
[[scenarios.other.requests]]
path = "/ok"

[suites.both]
scenarios = ["quick", "other"]
thresholds = {{ http_reqs = ["count>=12"] }}
"""


def _record(
    run_id: str,
    ended_at: float,
    scenarios: tuple[str, ...] = ("quick",),
    *,
    ok: bool | None = True,
    stopped: str | None = None,
) -> RunRecord:
    return RunRecord(
        run_id=run_id,
        scenarios=scenarios,
        started_at=ended_at - 30.0,
        ended_at=ended_at,
        stopped=stopped,
        requests=120,
        p99_ms=87.5,
        error_fraction=0.0,
        thresholds=(ThresholdRecord("http_req_duration", "p(99)<500", ok, 87.5),),
    )


# --- from a real run ----------------------------------------------------------------------------


def test_a_passing_run_becomes_a_passed_record(server: FixtureServer) -> None:
    before = time.time()
    result = run_toml(_toml(server.url), ["quick"])
    record = record_from_result(result, ["quick"], time_scale=0.5)
    assert record.scenarios == ("quick",)
    assert record.requests == 10
    assert record.p99_ms is not None and 0 < record.p99_ms < 5000
    assert record.error_fraction == 0.0
    assert record.stopped is None
    assert before - 1 <= record.started_at <= record.ended_at <= time.time() + 1
    assert {(t.metric, t.expression, t.ok) for t in record.thresholds} == {
        ("http_req_duration{scenario:quick}", "p(95)<5000", True),
        ("http_req_failed{scenario:quick}", "rate<0.01", True),
    }
    assert record.passed is True
    assert record.failed_thresholds == ()
    assert (record.engine, record.time_scale) == ("built-in", 0.5)
    assert record.target == server.url
    assert record.run_id and record.run_id != record_from_result(result, ["quick"]).run_id


def test_a_failing_run_is_not_passed_and_names_its_failed_thresholds(
    server: FixtureServer,
) -> None:
    result = run_toml(_toml(server.url, "/status/500"), ["quick"])
    record = record_from_result(result, ["quick"], run_id="ci-42")
    assert record.run_id == "ci-42"
    assert record.error_fraction == 1.0
    assert record.passed is False
    assert [t.metric for t in record.failed_thresholds] == ["http_req_failed{scenario:quick}"]
    assert record.failed_thresholds[0].observed == 1.0


def test_a_suite_run_is_found_by_the_suite_and_by_each_member(
    server: FixtureServer, tmp_path: Path
) -> None:
    result = run_toml(_toml(server.url), ["both"])
    record = record_from_result(result, ["both"])
    assert record.scenarios == ("both", "quick", "other")
    assert ("http_reqs", "count>=12", True) in {
        (t.metric, t.expression, t.ok) for t in record.thresholds
    }
    record_run(tmp_path, record)
    for name in ("both", "quick", "other"):
        assert latest_run(tmp_path, name) == record
    assert latest_run(tmp_path, "nope") is None


def test_credentials_in_the_target_url_never_reach_the_record(server: FixtureServer) -> None:
    result = run_toml(_toml(server.url), ["other"])
    secret = dataclasses.replace(
        result.config,
        target=dataclasses.replace(
            result.config.target, base_url="http://ops:hunter2@127.0.0.1:9/app?token=abc#x"
        ),
    )
    record = record_from_result(dataclasses.replace(result, config=secret), [])
    assert record.target == "http://127.0.0.1:9/app"
    assert record.scenarios == ("other",)


# --- passed ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("record", "passed"),
    [
        (_record("a", 100.0), True),
        (_record("a", 100.0, ok=False), False),
        (_record("a", 100.0, ok=None), False),  # NO DATA is not a pass
        (_record("a", 100.0, stopped="interrupted"), False),
        (_record("a", 100.0, stopped="aborted"), False),
        (dataclasses.replace(_record("a", 100.0), thresholds=()), False),  # nothing judged it
    ],
)
def test_passed_needs_a_finished_run_and_every_threshold_ok(
    record: RunRecord, passed: bool
) -> None:
    assert record.passed is passed


# --- files ----------------------------------------------------------------------------------------


def test_a_record_round_trips_through_its_file(server: FixtureServer, tmp_path: Path) -> None:
    record = record_from_result(run_toml(_toml(server.url), ["quick"]), ["quick"])
    path = record_run(tmp_path, record)
    assert path.parent == tmp_path / RECORDS_DIR == records_dir(tmp_path)
    assert read_record(path) == record
    assert latest_run(tmp_path) == record
    data = json.loads(path.read_text())
    assert data["format"] == 1 and data["scenarios"] == ["quick"]
    # Only the record itself: the atomic write's temp file is gone.
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_file_names_sort_by_end_time_and_odd_run_ids_are_made_safe(tmp_path: Path) -> None:
    late = record_run(tmp_path, _record("../../etc/passwd x", 1_800_000_000.5))
    early = record_run(tmp_path, _record("b", 1_700_000_000.25))
    assert late.parent == early.parent == records_dir(tmp_path)
    assert sorted([late.name, early.name]) == [early.name, late.name]
    assert "/" not in late.name.removesuffix(".json") and " " not in late.name
    assert read_record(late).run_id == "../../etc/passwd x"


def test_latest_run_picks_the_newest_by_end_time_per_scenario(tmp_path: Path) -> None:
    assert latest_run(tmp_path) is None  # no folder yet
    record_run(tmp_path, _record("old-quick", 1000.0))
    record_run(tmp_path, _record("new-other", 3000.0, ("other",)))
    newest_quick = _record("new-quick", 2000.0, ("suite", "quick"), ok=False)
    path = record_run(tmp_path, newest_quick)
    # A file renamed by hand does not fool it: the end time inside counts.
    path.rename(path.with_name("00000000T000000.000Z_renamed.json"))
    assert latest_run(tmp_path, "quick") == newest_quick
    assert latest_run(tmp_path, "suite") == newest_quick
    assert latest_run(tmp_path, "other") is not None
    assert latest_run(tmp_path).run_id == "new-other"  # type: ignore[union-attr]
    assert [r.run_id for r in list_runs(tmp_path)] == ["new-other", "new-quick", "old-quick"]


def _set(key: str, value: object) -> Callable[[dict[str, Any]], None]:
    return lambda data: data.__setitem__(key, value)


def _bad_ok(data: dict[str, Any]) -> None:
    data["thresholds"][0]["ok"] = "yes"


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (b"", "an empty file"),
        (b'{"format": 1, "run_id": "x", "scen', "invalid JSON"),
        (b"\xff\xfe not utf-8", "invalid JSON"),
        (b"[1, 2]", "expected a JSON object, got list"),
        (_set("format", 2), "'format': expected 1, got int 2"),
        (_set("requests", "many"), "'requests': expected an integer, got str 'many'"),
        (_set("requests", True), "'requests': expected an integer, got bool"),
        (_set("stopped", "exploded"), "'stopped': expected null, interrupted, aborted or error"),
        (_bad_ok, "thresholds[0].ok: expected true, false or null"),
        (_set("ended_at", float("inf")), "'ended_at': expected a finite number"),
        (_set("p99_ms", "fast"), "'p99_ms': expected a number"),
        (lambda data: data.pop("scenarios"), "missing 'scenarios'"),
        (_set("run_id", ""), "'run_id': expected a non-empty string"),
    ],
)
def test_a_damaged_file_is_skipped_and_named(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    damage: bytes | Callable[[dict[str, Any]], None],
    problem: str,
) -> None:
    good = _record("good", 1000.0)
    record_run(tmp_path, good)
    bad = record_run(tmp_path, _record("bad", 2000.0))
    if isinstance(damage, bytes):
        bad.write_bytes(damage)
    else:
        data = json.loads(bad.read_text())
        damage(data)
        bad.write_text(json.dumps(data))  # writes Infinity for inf, as a careless tool would
    with pytest.raises(RecordError) as caught:
        read_record(bad)
    assert str(bad) in str(caught.value) and problem in str(caught.value)
    with caplog.at_level(logging.WARNING, logger="ccplate_tui.load.run_records"):
        assert latest_run(tmp_path, "quick") == good
        assert [r.run_id for r in list_runs(tmp_path)] == ["good"]
    assert any(bad.name in r.getMessage() for r in caplog.records)


def test_a_missing_record_file_is_a_record_error(tmp_path: Path) -> None:
    with pytest.raises(RecordError, match="cannot read it"):
        read_record(tmp_path / "gone.json")


def test_only_the_newest_records_are_kept(tmp_path: Path) -> None:
    for index in range(KEEP_RECORDS + 5):
        record_run(tmp_path, _record(f"r{index:03d}", 1_000_000.0 + index))
    names = sorted(p.name for p in records_dir(tmp_path).glob("*.json"))
    assert len(names) == KEEP_RECORDS
    ids = [r.run_id for r in list_runs(tmp_path)]
    assert ids[0] == f"r{KEEP_RECORDS + 4:03d}"
    assert ids[-1] == "r005"  # r000 … r004, the oldest, were removed
    # A record older than all kept ones is still written (its path is returned, so it exists).
    path = record_run(tmp_path, _record("ancient", 10.0))
    assert path.exists() and len(list(records_dir(tmp_path).glob("*.json"))) == KEEP_RECORDS


def test_an_unwritable_state_folder_raises_os_error(tmp_path: Path) -> None:
    blocker = tmp_path / "state"
    blocker.write_text("a file, not a folder")
    with pytest.raises(OSError):
        record_run(blocker, _record("x", 1.0))
    assert latest_run(blocker) is None  # and reading it finds nothing, without raising


# --- the headless `run` command ---------------------------------------------------------------------


def _config(tmp_path: Path, url: str, path: str = "/ok") -> Path:
    config = tmp_path / "scenarios.toml"
    config.write_text(_toml(url, path))
    return config


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ccplate_tui", "run", "--workers", "1", "-q", *args],
        capture_output=True,
        text=True,
        timeout=90,
        env=env,
    )


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CCPLATE_TUI_STATE_DIR"}
    env.update(extra)
    return env


def test_run_leaves_a_record_in_the_state_folder(server: FixtureServer, tmp_path: Path) -> None:
    config = _config(tmp_path, server.url)
    state = tmp_path / "custom-state"
    done = _run("quick", "--config", str(config), "--state", str(state), "--time-scale", "0.5")
    assert done.returncode == 0, done.stderr
    record = latest_run(state, "quick")
    assert record is not None and record.passed and record.requests == 10
    assert record.time_scale == 0.5
    assert f"run recorded: {records_dir(state)}" in done.stderr
    assert not (tmp_path / ".ccplate").exists()  # --state wins over the default


def test_run_records_beside_the_config_by_default_or_in_the_env_folder(
    server: FixtureServer, tmp_path: Path
) -> None:
    config = _config(tmp_path, server.url)
    assert _run("other", "--config", str(config), env=_clean_env()).returncode == 0
    assert latest_run(tmp_path / ".ccplate", "other") is not None
    env_state = tmp_path / "from-env"
    env = _clean_env(CCPLATE_TUI_STATE_DIR=str(env_state))
    assert _run("both", "--config", str(config), env=env).returncode == 0
    suite = latest_run(env_state, "both")
    assert suite is not None and suite.scenarios == ("both", "quick", "other")
    assert latest_run(tmp_path / ".ccplate", "both") is None


def test_a_crossed_threshold_is_recorded_as_failed(server: FixtureServer, tmp_path: Path) -> None:
    config = _config(tmp_path, server.url, "/status/500")
    done = _run("quick", "--config", str(config), "--state", str(tmp_path / "s"))
    assert done.returncode == 99
    record = latest_run(tmp_path / "s", "quick")
    assert record is not None and record.passed is False
    assert record.error_fraction == 1.0


def test_a_record_that_cannot_be_written_is_a_warning_not_a_new_exit_code(
    server: FixtureServer, tmp_path: Path
) -> None:
    blocker = tmp_path / "state-is-a-file"
    blocker.write_text("")
    for path, code in (("/ok", 0), ("/status/500", 99)):
        config = _config(tmp_path, server.url, path)
        done = _run("quick", "--config", str(config), "--state", str(blocker))
        assert done.returncode == code, done.stderr
        assert f"WARN could not record the run in {blocker}" in done.stderr
        assert "Traceback" not in done.stderr
        assert "TOTAL RESULTS" in done.stdout


def test_an_interrupted_run_is_recorded_as_interrupted(
    server: FixtureServer, tmp_path: Path
) -> None:
    config = tmp_path / "long.toml"
    config.write_text(
        f"""
[target]
base_url = "{server.url}"
[scenarios.long]
executor = "constant-vus"
vus = 2
duration = "60s"
thresholds = {{ http_req_failed = ["rate<0.5"] }}
[[scenarios.long.requests]]
path = "/sleep/50"
"""
    )
    state = tmp_path / "state"
    argv = ["run", "--config", str(config), "--workers", "1", "--state", str(state)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "ccplate_tui", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.stderr.readline().startswith("running ("):
                break
        os.kill(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1
    assert "run recorded:" in err
    record = latest_run(state, "long")
    assert record is not None
    assert record.stopped == "interrupted" and record.passed is False
