"""Recording real runs in the history: the engine observer, and the headless `run` command
(kill -9 mid-run, Ctrl+C, a damaged history) against loopback servers started here."""

from __future__ import annotations

import hashlib
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from ccplate_tui.config.loader import load_config
from ccplate_tui.history.legacy import open_history
from ccplate_tui.history.recorder import HistoryRecorder, git_commit
from ccplate_tui.history.replay import replay
from ccplate_tui.history.store import HistoryStore, history_path
from ccplate_tui.load.engine import LoadRun, RunUpdate, resolve_plan
from ccplate_tui.load.metrics import MetricSet, Trend
from ccplate_tui.load.results import RunResult
from ccplate_tui.load.run_records import latest_run, list_runs, record_from_result
from tests.http_fixtures import FixtureServer, fixture_server

PERCENTILES = [50.0, 90.0, 95.0, 99.0]


@pytest.fixture(scope="module")
def server() -> Iterator[FixtureServer]:
    with fixture_server() as srv:
        yield srv


def _config(tmp_path: Path, url: str, body: str) -> Path:
    path = tmp_path / "scenarios.toml"
    path.write_text(f'[target]\nbase_url = "{url}"\n[options]\ninterval = "250ms"\n{body}')
    return path


MIXED = """
[scenarios.mixed]
executor = "constant-vus"
vus = 3
duration = "1.5s"
thresholds = { http_req_duration = ["p(95)<5000"], http_req_failed = ["rate<0.5"] }
[[scenarios.mixed.requests]]
name = "login"
method = "POST"
path = "/echo"
headers = { Authorization = "Bearer sk_live_abcdefgh12345678", X-Api-Key = "hunter2hunter2" }
json = { email = "load@example.com", password = "correct-horse-battery" }
[[scenarios.mixed.requests]]
name = "slow"
path = "/sleep/20"
[[scenarios.mixed.requests]]
name = "broken"
path = "/status/503"
"""


def _run(
    config_path: Path, names: list[str], store: HistoryStore, **recorder_kw: object
) -> tuple[HistoryRecorder, RunResult, list[RunUpdate]]:
    config = load_config(config_path)
    plan = resolve_plan(config, names)
    recorder = HistoryRecorder(store, config, plan, names, **recorder_kw)  # type: ignore[arg-type]
    updates: list[RunUpdate] = []
    run = LoadRun(config, plan, workers=1, observers=[recorder, updates.append])
    result = run.run()
    assert recorder.finish(result) is True
    return recorder, result, updates


def _trend(ms: MetricSet, name: str | None = None) -> Trend:
    trend = ms.select("http_req_duration", (("name", name),) if name else ())
    assert isinstance(trend, Trend) and trend.count > 0
    return trend


def test_a_recorded_run_recomputes_the_same_percentiles_from_its_intervals(
    server: FixtureServer, tmp_path: Path
) -> None:
    config_path = _config(tmp_path, server.url, MIXED)
    with open_history(tmp_path / "state") as store:  # type: ignore[union-attr]
        recorder, result, updates = _run(config_path, ["mixed"], store, time_scale=0.5)
        run_id = recorder.run_id
        assert run_id == "r1" and recorder.error is None
        assert store.interval_count(run_id) == len(updates) >= 4

        merged = MetricSet()
        for snapshot in store.iter_intervals(run_id):
            merged.accumulate(snapshot.metrics)
        for name in (None, "login", "slow", "broken"):
            got, want = _trend(merged, name), _trend(result.totals, name)
            assert got.percentiles(PERCENTILES) == want.percentiles(PERCENTILES), name
            assert (got.count, got.min, got.max) == (want.count, want.min, want.max)
        kept = _trend(store.totals(run_id))
        assert kept.percentile(99.0) == _trend(result.totals).percentile(99.0)

        run = store.run(run_id)
        assert run is not None
        assert (run.status, run.engine, run.time_scale) == ("finished", "built-in", 0.5)
        assert (run.names, run.scenarios) == (("mixed",), ("mixed",))
        assert run.started_at == result.started_at
        assert run.ended_at == result.started_at + result.duration
        assert run.thresholds is not None
        assert [(t.key, t.expression, t.ok) for t in run.thresholds] == [
            (r.spec.key, r.spec.expr.source, r.ok) for r in result.thresholds
        ]
        assert run.config_hash == hashlib.sha256(config_path.read_bytes()).hexdigest()
        assert run.git_commit is None  # the temp folder is no git checkout
        assert run.pid == os.getpid()

        # The config as resolved, secrets masked: it is shown to anyone by `history show`.
        (scenario,) = run.config["scenarios"]
        login = scenario["requests"][0]
        assert scenario["name"] == "mixed" and login["path"] == "/echo"
        assert login["body"]["value"]["email"] == "load@example.com"
        text = str(run.config)
        for secret in ("correct-horse-battery", "sk_live_abcdefgh12345678", "hunter2hunter2"):
            assert secret not in text

        # Played back, the stored intervals judge the run as the engine did.
        played = list(replay(store, run_id, result.config.scenarios["mixed"].thresholds))
        assert [u.snapshot.index for u in played] == [u.snapshot.index for u in updates]
        last = played[-1]
        assert last.elapsed == updates[-1].elapsed
        assert [r.ok for r in last.thresholds] == [r.ok for r in result.thresholds]
        assert [r.observed for r in last.thresholds] == [r.observed for r in result.thresholds]

    # The checklist and the verdict read the same run as the record they always got.
    record = latest_run(tmp_path / "state", "mixed")
    assert record == record_from_result(result, ["mixed"], run_id="r1", time_scale=0.5)


def test_an_aborted_run_is_annotated_with_the_threshold_that_stopped_it(
    server: FixtureServer, tmp_path: Path
) -> None:
    config_path = _config(
        tmp_path,
        server.url,
        """
[scenarios.failing]
executor = "constant-vus"
vus = 2
duration = "30s"
[scenarios.failing.thresholds]
http_req_failed = [{ threshold = "rate<0.1", abortOnFail = true }]
[[scenarios.failing.requests]]
path = "/status/500"
""",
    )
    with HistoryStore(history_path(tmp_path)) as store:
        recorder, result, _ = _run(config_path, ["failing"], store)
        assert result.stopped == "aborted" and result.duration < 20
        run = store.run(recorder.run_id)
        assert run is not None and run.status == "aborted" and run.stopped == "aborted"
        (note,) = store.annotations(recorder.run_id)
        assert note.kind == "abort"
        assert "http_req_failed{scenario:failing} rate<0.1" in note.text
        assert run.thresholds is not None and run.thresholds[0].abort_on_fail is True


def test_a_history_that_fails_mid_run_never_stops_the_run(
    server: FixtureServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config_path = _config(
        tmp_path,
        server.url,
        """
[scenarios.steady]
executor = "constant-vus"
vus = 1
duration = "1.2s"
[[scenarios.steady.requests]]
path = "/ok"
""",
    )
    config = load_config(config_path)
    plan = resolve_plan(config, ["steady"])
    store = HistoryStore(history_path(tmp_path))
    recorder = HistoryRecorder(store, config, plan, ["steady"])
    seen: list[RunUpdate] = []

    def break_the_history(update: RunUpdate) -> None:
        seen.append(update)
        if len(seen) == 1:
            store.close()  # every later write fails

    run = LoadRun(config, plan, workers=1, observers=[recorder, break_the_history])
    with caplog.at_level(logging.WARNING, logger="ccplate_tui.history.recorder"):
        result = run.run()
        assert recorder.finish(result) is False
    assert result.stopped is None and len(seen) >= 4  # the run went to its end
    assert recorder.error is not None and str(history_path(tmp_path)) in recorder.error
    assert sum("could not record run r1" in r.getMessage() for r in caplog.records) == 1
    with HistoryStore(history_path(tmp_path)) as again:
        assert again.interval_count("r1") == 1  # what was committed before the failure stays


def test_the_git_commit_of_the_configs_checkout_is_recorded(tmp_path: Path) -> None:
    # A checkout with a detached HEAD, made by hand: `git rev-parse HEAD` only reads it.
    commit = "0123456789abcdef0123456789abcdef01234567"
    git = tmp_path / "project" / ".git"
    for sub in ("objects", "refs/heads"):
        (git / sub).mkdir(parents=True)
    (git / "HEAD").write_text(commit + "\n")
    (git / "config").write_text("[core]\n\trepositoryformatversion = 0\n\tbare = false\n")
    nested = tmp_path / "project" / "load"
    nested.mkdir()
    assert git_commit(nested) == commit
    assert git_commit(tmp_path) is None


# --- the headless `run` command -----------------------------------------------------------------

LONG = """
[scenarios.long]
executor = "constant-vus"
vus = 2
duration = "60s"
thresholds = { http_req_failed = ["rate<0.5"] }
[[scenarios.long.requests]]
path = "/sleep/20"
"""


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "ccplate_tui", "run", "--workers", "1", *args]


@pytest.mark.slow
def test_run_records_its_intervals_and_outcome(server: FixtureServer, tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        server.url,
        """
[scenarios.quick]
executor = "per-vu-iterations"
vus = 2
iterations = 20
thresholds = { http_req_failed = ["rate<0.01"] }
[[scenarios.quick.requests]]
path = "/sleep/30"
""",
    )
    state = tmp_path / "state"
    for expected in ("r1", "r2"):
        done = subprocess.run(
            _cli("quick", "-q", "--config", str(config), "--state", str(state)),
            capture_output=True,
            text=True,
            timeout=90,
        )
        assert done.returncode == 0, done.stderr
        assert f"run recorded: {expected} in {history_path(state)}" in done.stderr
    with HistoryStore(history_path(state)) as store:
        run = store.run("r2")
        assert run is not None and run.status == "finished" and run.interval_count >= 2
        assert run.config_hash == hashlib.sha256(config.read_bytes()).hexdigest()
        assert run.summary is not None and run.summary["requests"] == 40
        assert store.annotations("r2") == []


def test_kill_9_mid_run_keeps_every_committed_interval_and_marks_it_interrupted(
    server: FixtureServer, tmp_path: Path
) -> None:
    config = _config(tmp_path, server.url, LONG)
    state = tmp_path / "state"
    proc = subprocess.Popen(
        _cli("long", "-q", "--config", str(config), "--state", str(state)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the workers die with it
    )
    path = history_path(state)
    try:
        deadline = time.monotonic() + 60
        seen = 0
        while time.monotonic() < deadline and seen < 4:
            time.sleep(0.2)
            if path.exists():
                # A reader beside the recording run: never blocked, never sees half a row.
                with HistoryStore(path) as reader:
                    run = reader.run("r1")
                    seen = reader.interval_count("r1") if run else 0
                    assert run is None or run.status == "running"
        assert seen >= 4, "the run did not record its intervals in time"
        family = [proc.pid, *(c.pid for c in psutil.Process(proc.pid).children(recursive=True))]
        os.killpg(proc.pid, signal.SIGSTOP)  # freeze it, count, then kill: nothing in between
        with HistoryStore(path) as reader:
            kept = reader.interval_count("r1")
            assert reader.run("r1").status == "running"  # type: ignore[union-attr]
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    gone = psutil.wait_procs([p for p in map(_process, family) if p], timeout=10)[1]
    assert not gone, f"processes outlived the kill: {gone}"

    with HistoryStore(path) as store:  # the next open notices the dead process
        run = store.run("r1")
        assert run is not None and run.status == "interrupted"
        intervals = store.intervals("r1")
        assert [s.index for s in intervals] == list(range(kept))
        assert run.ended_at == intervals[-1].wall_time
        total = MetricSet()
        for snapshot in intervals:
            total.accumulate(snapshot.metrics)
        assert run.summary is not None
        assert run.summary["requests"] == int(total.select("http_reqs").value) > 0  # type: ignore[union-attr]
        assert "ended without finishing" in store.annotations("r1")[0].text
    record = latest_run(state, "long")
    assert record is not None and record.stopped == "interrupted" and not record.passed


def _process(pid: int) -> psutil.Process | None:
    try:
        return psutil.Process(pid)
    except psutil.NoSuchProcess:
        return None


@pytest.mark.parametrize(
    ("sig", "name", "cause"),
    [
        (signal.SIGINT, "Ctrl+C", "interrupted (Ctrl-C)"),
        (signal.SIGTERM, "SIGTERM", "terminated (SIGTERM)"),
    ],
)
def test_a_signal_stop_is_annotated_and_summarised_as_that_signal(
    server: FixtureServer, tmp_path: Path, sig: signal.Signals, name: str, cause: str
) -> None:
    config = _config(tmp_path, server.url, LONG)
    state = tmp_path / "state"
    proc = subprocess.Popen(
        _cli("long", "--config", str(config), "--state", str(state)),
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
        before = time.time()
        os.kill(proc.pid, sig)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, err
    assert "run recorded: r1" in err
    assert f"stopping ({name})" in err
    last = out.strip().splitlines()[-1]
    assert f": {cause}; results cover only what ran" in last, out
    with HistoryStore(history_path(state)) as store:
        run = store.run("r1")
        assert run is not None and run.status == "interrupted" and run.interval_count >= 1
        (stop,) = store.annotations("r1")
        assert stop.kind == "stop" and stop.text == f"{name}: running iterations interrupted"
        assert before - 1 <= stop.at <= run.ended_at + 1  # when it was pressed, not recorded


def test_a_damaged_history_is_a_warning_and_the_run_goes_on(
    server: FixtureServer, tmp_path: Path
) -> None:
    config = _config(
        tmp_path,
        server.url,
        """
[scenarios.quick]
executor = "per-vu-iterations"
vus = 1
iterations = 3
thresholds = { http_req_failed = ["rate<0.01"] }
[[scenarios.quick.requests]]
path = "/ok"
""",
    )
    state = tmp_path / "state"
    state.mkdir()
    damaged = history_path(state)
    damaged.write_bytes(b"PK\x03\x04 a zip file, not a history" * 40)
    before = damaged.read_bytes()
    done = subprocess.run(
        _cli("quick", "-q", "--config", str(config), "--state", str(state)),
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stderr
    assert "TOTAL RESULTS" in done.stdout and "Traceback" not in done.stderr
    warnings = [line for line in done.stderr.splitlines() if line.startswith("WARN")]
    assert len(warnings) == 1
    assert f"could not record the run in {state}" in warnings[0]
    assert "not a SQLite database" in warnings[0] and str(damaged) in warnings[0]
    assert damaged.read_bytes() == before  # not SQLite at all: refused, not moved aside
    assert sorted(p.name for p in state.iterdir() if p.name.startswith("history")) == [
        "history.sqlite3"
    ]
    assert list_runs(state) == ()
