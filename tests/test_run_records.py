"""Load run records: from real runs, in the real run history, through the headless `run` command."""

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

from ccplate_tui.history.store import HistoryError, HistoryStore, history_path
from ccplate_tui.load.run_records import (
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


# --- in the history ------------------------------------------------------------------------------


def test_a_record_round_trips_through_the_history(server: FixtureServer, tmp_path: Path) -> None:
    record = record_from_result(run_toml(_toml(server.url), ["quick"]), ["quick"])
    path = record_run(tmp_path, record)
    assert path == history_path(tmp_path) and path.is_file()
    assert latest_run(tmp_path) == record
    assert list_runs(tmp_path) == (record,)
    with HistoryStore(path) as store:
        stored = store.run(record.run_id)
    assert stored is not None and stored.status == "finished" and stored.seq == 1
    assert stored.summary is not None and stored.summary["requests"] == 10
    assert not records_dir(tmp_path).exists()  # no JSON files any more


def test_odd_run_ids_are_kept_as_they_are_and_runs_sort_by_end_time(tmp_path: Path) -> None:
    record_run(tmp_path, _record("../../etc/passwd x", 1_800_000_000.5))
    record_run(tmp_path, _record("b", 1_700_000_000.25))
    assert [r.run_id for r in list_runs(tmp_path)] == ["../../etc/passwd x", "b"]
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(("-wal", "-shm"))) == [
        "history.sqlite3"
    ]


def test_latest_run_picks_the_newest_by_end_time_per_scenario(tmp_path: Path) -> None:
    assert latest_run(tmp_path) is None  # no history yet
    assert not tmp_path.joinpath("history.sqlite3").exists()  # and looking did not create one
    record_run(tmp_path, _record("old-quick", 1000.0))
    record_run(tmp_path, _record("new-other", 3000.0, ("other",)))
    newest_quick = _record("new-quick", 2000.0, ("suite", "quick"), ok=False)
    record_run(tmp_path, newest_quick)
    record_run(tmp_path, _record("older-quick", 500.0))  # recorded last, ended first
    assert latest_run(tmp_path, "quick") == newest_quick
    assert latest_run(tmp_path, "suite") == newest_quick
    assert latest_run(tmp_path, "other") is not None
    assert latest_run(tmp_path).run_id == "new-other"  # type: ignore[union-attr]
    assert [r.run_id for r in list_runs(tmp_path)] == [
        "new-other",
        "new-quick",
        "old-quick",
        "older-quick",
    ]


def test_every_run_is_kept(tmp_path: Path) -> None:
    for index in range(205):
        record_run(tmp_path, _record(f"r{index:03d}", 1_000_000.0 + index))
    ids = [r.run_id for r in list_runs(tmp_path)]
    assert len(ids) == 205 and ids[0] == "r204" and ids[-1] == "r000"


def test_recording_a_run_twice_keeps_the_first_account(tmp_path: Path) -> None:
    first = _record("twice", 1000.0)
    record_run(tmp_path, first)
    record_run(tmp_path, dataclasses.replace(first, requests=1, stopped="error"))
    assert list_runs(tmp_path) == (first,)


def test_an_unwritable_state_folder_raises_os_error(tmp_path: Path) -> None:
    blocker = tmp_path / "state"
    blocker.write_text("a file, not a folder")
    with pytest.raises(OSError):
        record_run(blocker, _record("x", 1.0))
    assert latest_run(blocker) is None  # and reading it finds nothing, without raising


def test_a_damaged_history_reads_as_no_runs_and_refuses_writes_untouched(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = history_path(tmp_path)
    path.write_bytes(b"these are not the runs you are looking for\n" * 20)
    before = path.read_bytes()
    with caplog.at_level(logging.WARNING, logger="ccplate_tui.load.run_records"):
        assert list_runs(tmp_path) == ()
        assert latest_run(tmp_path, "quick") is None
    assert any("not a SQLite database" in r.getMessage() for r in caplog.records)
    with pytest.raises(OSError) as caught:
        record_run(tmp_path, _record("x", 1.0))
    assert isinstance(caught.value, HistoryError)
    assert str(path) in str(caught.value) and "not a SQLite database" in str(caught.value)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.sqlite3"]


# --- records from before the history (JSON files in load-results/) -----------------------------------


def _legacy(run_id: str, ended_at: float, **changes: Any) -> dict[str, Any]:
    """A record file as the JSON records (format 1) were written before the history."""
    data: dict[str, Any] = {
        "format": 1,
        "run_id": run_id,
        "scenarios": ["quick"],
        "started_at": ended_at - 30.0,
        "ended_at": ended_at,
        "stopped": None,
        "requests": 120,
        "p99_ms": 87.5,
        "error_fraction": 0.0,
        "thresholds": [
            {"metric": "http_req_duration", "expression": "p(99)<500", "ok": True, "observed": 87.5}
        ],
        "engine": "built-in",
        "time_scale": 1.0,
        "target": "",
    }
    data.update(changes)
    return data


def _write_legacy(state: Path, name: str, content: dict[str, Any] | bytes) -> Path:
    folder = state / RECORDS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    raw = content if isinstance(content, bytes) else json.dumps(content).encode()
    path.write_bytes(raw)
    return path


def test_old_json_records_are_imported_once_and_left_in_place(tmp_path: Path) -> None:
    _write_legacy(tmp_path, "20231114T221320.000Z_a.json", _legacy("a", 1_700_000_000.0))
    _write_legacy(
        tmp_path, "20231114T221330.000Z_b.json", _legacy("b", 1_700_000_010.0, stopped="aborted")
    )
    runs = list_runs(tmp_path)  # reading alone imports them
    assert [(r.run_id, r.stopped, r.passed) for r in runs] == [
        ("b", "aborted", False),
        ("a", None, True),
    ]
    assert runs[1] == _record("a", 1_700_000_000.0)
    assert history_path(tmp_path).is_file()
    assert len(list(records_dir(tmp_path).glob("*.json"))) == 2  # the files stay
    # Once: a file that turns up later (an old ccplate-tui still writing) is not read again.
    _write_legacy(tmp_path, "20231114T221340.000Z_c.json", _legacy("c", 1_700_000_020.0))
    record_run(tmp_path, _record("new", 1_800_000_000.0))
    assert [r.run_id for r in list_runs(tmp_path)] == ["new", "b", "a"]


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
def test_a_damaged_old_record_is_skipped_and_named(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    damage: bytes | Callable[[dict[str, Any]], None],
    problem: str,
) -> None:
    _write_legacy(tmp_path, "1_good.json", _legacy("good", 1000.0))
    if isinstance(damage, bytes):
        bad = _write_legacy(tmp_path, "2_bad.json", damage)
    else:
        data = _legacy("bad", 2000.0)
        damage(data)
        # json.dumps writes Infinity for inf, as a careless tool would.
        bad = _write_legacy(tmp_path, "2_bad.json", json.dumps(data).encode())
    with pytest.raises(RecordError) as caught:
        read_record(bad)
    assert str(bad) in str(caught.value) and problem in str(caught.value)
    with caplog.at_level(logging.WARNING, logger="ccplate_tui.history.legacy"):
        assert latest_run(tmp_path, "quick") == _record("good", 1000.0)
        assert [r.run_id for r in list_runs(tmp_path)] == ["good"]
    assert any(bad.name in r.getMessage() for r in caplog.records)
    assert bad.exists()  # evidence is never deleted


def test_an_old_record_file_reads_back_as_its_record(tmp_path: Path) -> None:
    path = _write_legacy(tmp_path, "x.json", _legacy("x", 1000.0, time_scale=0.05))
    assert read_record(path) == dataclasses.replace(_record("x", 1000.0), time_scale=0.05)


def test_a_missing_record_file_is_a_record_error(tmp_path: Path) -> None:
    with pytest.raises(RecordError, match="cannot read it"):
        read_record(tmp_path / "gone.json")


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
    assert f"run recorded: {record.run_id} in {history_path(state)}" in done.stderr
    assert record.run_id == "r1"
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
