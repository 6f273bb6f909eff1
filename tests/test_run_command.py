"""`ccplate-tui run` end to end, as a user or a CI pipeline calls it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.http_fixtures import fixture_server


@pytest.fixture(scope="module")
def server():
    with fixture_server() as srv:
        yield srv


def _config(tmp_path: Path, url: str, body: str) -> Path:
    path = tmp_path / "scenarios.toml"
    path.write_text(f'[target]\nbase_url = "{url}"\n' + body)
    return path


def _run(*args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ccplate_tui", "run", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


PASSING = """
[scenarios.quick]
executor = "per-vu-iterations"
vus = 2
iterations = 5
thresholds = { http_req_duration = ["p(95)<5000"], http_req_failed = ["rate<0.01"] }
[[scenarios.quick.requests]]
name = "ok"
path = "/ok"
checks = { "is 200" = "status == 200" }
"""


def test_a_passing_run_exits_0_with_summary_export_and_ndjson(server, tmp_path: Path) -> None:
    config = _config(tmp_path, server.url, PASSING)
    export = tmp_path / "out.json"
    points = tmp_path / "points.jsonl"
    done = _run(
        "quick",
        "--config",
        str(config),
        "--summary-export",
        str(export),
        "--out",
        f"jsonl={points}",
        "--workers",
        "1",
    )
    assert done.returncode == 0, done.stderr
    assert "THRESHOLDS" in done.stdout and "http_reqs" in done.stdout
    assert "\x1b[" not in done.stderr  # no cursor tricks when stderr is not a terminal
    assert "scenarios:" in done.stderr
    data = json.loads(export.read_text())
    assert data["metrics"]["http_reqs"]["count"] == 10
    assert data["metrics"]["http_req_failed{scenario:quick}"]["thresholds"] == {"rate<0.01": False}
    lines = [json.loads(line) for line in points.read_text().splitlines()]
    assert lines and {line["type"] for line in lines} == {"Metric", "Point"}


def test_a_target_that_refuses_gets_a_hint_and_counted_errors(tmp_path: Path) -> None:
    from tests.http_fixtures import free_port

    config = _config(tmp_path, f"http://127.0.0.1:{free_port()}", PASSING)
    done = _run("quick", "--config", str(config), "--workers", "1")
    assert done.returncode == 99
    assert "WARN nothing answers at" in done.stderr and "--start-target" in done.stderr
    assert "dial: connection refused" in done.stdout


def test_a_crossed_threshold_exits_99(server, tmp_path: Path) -> None:
    config = _config(tmp_path, server.url, PASSING.replace("/ok", "/status/500"))
    done = _run("quick", "--config", str(config), "--workers", "1")
    assert done.returncode == 99, done.stderr
    assert "thresholds on metrics 'http_req_failed' have been crossed" in done.stderr


def test_abort_on_fail_stops_the_run_early(server, tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        server.url,
        """
[options]
interval = "250ms"
[scenarios.doomed]
executor = "constant-vus"
vus = 2
duration = "20s"
thresholds = { http_req_failed = [{ threshold = "rate<0.5", abortOnFail = true }] }
[[scenarios.doomed.requests]]
path = "/status/500"
""",
    )
    started = time.monotonic()
    done = _run("doomed", "--config", str(config), "--workers", "1")
    assert done.returncode == 99
    assert "abortOnFail" in done.stderr
    assert time.monotonic() - started < 15  # far less than the planned 20 s


@pytest.mark.parametrize(
    ("body", "args", "message"),
    [
        ("[scenarios.x\n", [], "test-config.toml:"),
        (PASSING, ["nope"], "no scenario or suite named 'nope'"),
        (PASSING, ["--time-scale", "0"], "--time-scale must be greater than 0"),
        (PASSING, ["--out", "csv=x"], "--out expects jsonl=FILE"),
        (PASSING, ["--interval", "100ms"], "at least 250ms"),
    ],
)
def test_bad_usage_exits_2_with_a_clear_message(
    server, tmp_path: Path, body: str, args: list[str], message: str
) -> None:
    config = tmp_path / "test-config.toml"
    config.write_text(f'[target]\nbase_url = "{server.url}"\n' + body)
    done = _run(*args, "--config", str(config))
    assert done.returncode == 2
    assert message in done.stderr


def test_a_remote_target_exits_2_without_connecting(tmp_path: Path) -> None:
    config = _config(tmp_path, "http://10.255.255.1:8787", PASSING)
    done = _run("--config", str(config))
    assert done.returncode == 2
    assert "not a loopback address" in done.stderr
    assert "running (" not in done.stderr


def test_ctrl_c_stops_quickly_prints_a_partial_summary_and_leaves_no_worker(
    server, tmp_path: Path
) -> None:
    config = _config(
        tmp_path,
        server.url,
        """
[scenarios.long]
executor = "constant-vus"
vus = 4
duration = "60s"
[[scenarios.long.requests]]
path = "/sleep/5"
""",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "ccplate_tui", "run", "--config", str(config), "--workers", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            if line.startswith("running ("):
                break
        workers = psutil.Process(proc.pid).children(recursive=True)
        assert len(workers) >= 2
        interrupted_at = time.monotonic()
        os.kill(proc.pid, signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
        took = time.monotonic() - interrupted_at
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1
    assert "TOTAL RESULTS" in out
    assert took < 10
    # The workers are reaped before the command exits; multiprocessing's resource tracker ends
    # only once it sees the command gone, as soon as the machine gets round to it.
    deadline = time.monotonic() + 30
    while (left := _running(workers)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert left == [], f"processes outlived the run: {[w.pid for w in left]}"


def _running(processes: list[psutil.Process]) -> list[psutil.Process]:
    """Those of `processes` still running (a zombie has ended: it only waits to be reaped)."""
    running = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                running.append(process)
        except psutil.NoSuchProcess:
            pass
    return running
